"""Audit the locked dependencies (requirements.lock) for known vulnerabilities, and say
plainly when that could not be done.

    python .ci/audit_dependencies.py [--lock requirements.lock] [--require-database]

pip-audit reports a package it could not look up as skipped and still ends with "No known
vulnerabilities found" and exit status 0: without a route to the advisory data every package
is skipped and the audit looks clean. This counts what was really audited.

Exit status: 0 when every package was audited and none is known to be vulnerable, and when
the advisory data could not be reached (a WARNING line says so: CI machines may have no
network); 1 when a package is known to be vulnerable; 3 for the unreachable case with
--require-database.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

CLEAN, VULNERABLE, UNREACHABLE = 0, 1, 3


@dataclass(frozen=True)
class Verdict:
    status: int  # CLEAN, VULNERABLE or UNREACHABLE
    lines: list[str]


def _unreachable(why: str, nothing_checked: bool = True) -> Verdict:
    return Verdict(
        UNREACHABLE,
        [
            f"WARNING: the advisory database could not be reached: {why}; "
            + ("this is NOT a clean audit, nothing was checked" if nothing_checked else "")
            + ("" if nothing_checked else "this is NOT a clean audit")
        ],
    )


def verdict(returncode: int, stdout: str, stderr: str) -> Verdict:
    """What pip-audit's JSON report (`-f json`) and exit status mean."""
    try:
        report: dict[str, Any] = json.loads(stdout)
        dependencies: list[dict[str, Any]] = report["dependencies"]
    except (ValueError, KeyError, TypeError):
        # No report: pip-audit stopped, typically on a network error (a traceback).
        last = next((line for line in reversed(stderr.splitlines()) if line.strip()), "")
        return _unreachable(f"pip-audit exited {returncode} without a report ({last.strip()})")
    skipped = [d for d in dependencies if "skip_reason" in d]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    lines = [
        f"VULNERABLE: {d['name']} {d['version']}: {vuln['id']}"
        + (f" ({', '.join(vuln['aliases'])})" if vuln.get("aliases") else "")
        + (
            f", fixed in {', '.join(vuln['fix_versions'])}"
            if vuln.get("fix_versions")
            else ", no fixed version yet"
        )
        for d in vulnerable
        for vuln in d["vulns"]
    ]
    if skipped:
        # Every locked package comes from PyPI: one it cannot find means no answer from it.
        unreachable = _unreachable(
            f"{len(skipped)} of {len(dependencies)} locked packages could not be looked up "
            f"(pip-audit: {skipped[0]['skip_reason']})",
            nothing_checked=len(skipped) == len(dependencies),
        )
        lines = [*lines, *unreachable.lines]
    if vulnerable:
        return Verdict(VULNERABLE, lines)
    if skipped:
        return Verdict(UNREACHABLE, lines)
    return Verdict(CLEAN, [f"no known vulnerability in the {len(dependencies)} locked packages"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lock", default="requirements.lock")
    parser.add_argument(
        "--require-database",
        action="store_true",
        help="fail (exit status 3) when the advisory database cannot be reached",
    )
    args = parser.parse_args(argv)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pip_audit", "-r", args.lock),
            *("--require-hashes", "--disable-pip", "--aliases", "on"),
            *("--format", "json", "--progress-spinner", "off"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    found = verdict(done.returncode, done.stdout, done.stderr)
    for line in found.lines:
        print(line)
    if found.status == UNREACHABLE and not args.require_database:
        return CLEAN
    return found.status


if __name__ == "__main__":
    sys.exit(main())
