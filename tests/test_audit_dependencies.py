"""`.ci/audit_dependencies.py`: what pip-audit's report on requirements.lock means, said
plainly; above all, an audit that could not reach the advisory data is never "clean"
(pip-audit itself then says "No known vulnerabilities found" and exits 0)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "audit_dependencies", ROOT / ".ci" / "audit_dependencies.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


audit = _script()
NOT_FOUND = "Dependency not found on PyPI and could not be audited: {} ({})"


def report(*dependencies: dict[str, object]) -> str:
    """A report as `pip-audit -f json` prints it."""
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


def audited(name: str, version: str, *vulns: dict[str, object]) -> dict[str, object]:
    return {"name": name, "version": version, "vulns": list(vulns)}


def skipped(name: str, version: str) -> dict[str, object]:
    return {"name": name, "skip_reason": NOT_FOUND.format(name, version)}


def test_a_clean_audit_counts_the_packages_it_checked() -> None:
    found = audit.verdict(0, report(audited("starlette", "1.10.0"), audited("h11", "0.16.0")), "")

    assert (found.status, found.lines) == (0, ["no known vulnerability in the 2 locked packages"])


def test_an_unreachable_database_is_a_warning_not_a_clean_audit() -> None:
    """What this machine's pip-audit printed: every package skipped, exit status 0."""
    found = audit.verdict(0, report(skipped("starlette", "1.10.0"), skipped("h11", "0.16.0")), "")

    assert found.status == audit.UNREACHABLE
    assert found.lines == [
        "WARNING: the advisory database could not be reached: 2 of 2 locked packages could "
        f"not be looked up (pip-audit: {NOT_FOUND.format('starlette', '1.10.0')}); "
        "this is NOT a clean audit, nothing was checked"
    ]


def test_some_packages_not_looked_up_is_not_clean_either() -> None:
    found = audit.verdict(0, report(audited("starlette", "1.10.0"), skipped("h11", "0.16.0")), "")

    assert found.status == audit.UNREACHABLE
    assert "1 of 2 locked packages" in found.lines[0]
    assert found.lines[0].endswith("this is NOT a clean audit")


def test_a_known_vulnerability_fails_and_names_the_fix() -> None:
    vulnerable = audited(
        "starlette",
        "0.49.0",
        {"id": "PYSEC-2026-161", "fix_versions": ["1.0.1"], "aliases": ["CVE-2026-48710"]},
    )
    found = audit.verdict(1, report(vulnerable, skipped("h11", "0.16.0")), "")

    assert found.status == audit.VULNERABLE
    assert found.lines[0] == (
        "VULNERABLE: starlette 0.49.0: PYSEC-2026-161 (CVE-2026-48710), fixed in 1.0.1"
    )
    assert found.lines[1].startswith("WARNING: the advisory database could not be reached")


def test_pip_audit_stopping_without_a_report_is_said() -> None:
    stderr = (
        "Traceback (most recent call last):\n  ...\nrequests.exceptions.ConnectionError: no route\n"
    )
    found = audit.verdict(1, "", stderr)

    assert found.status == audit.UNREACHABLE
    assert found.lines == [
        "WARNING: the advisory database could not be reached: pip-audit exited 1 without a "
        "report (requests.exceptions.ConnectionError: no route); this is NOT a clean audit, "
        "nothing was checked"
    ]


def test_the_lock_pins_every_package_with_hashes() -> None:
    """What `pip install --require-hashes -r requirements.lock` needs: an exact version and
    at least one hash for every requirement, the gateway's floors respected."""
    text = (ROOT / "requirements.lock").read_text()
    requirements = [block for block in text.split("\n") if block and block[0].isalpha()]
    pins = dict(line.split(" ")[0].split("==") for line in requirements)

    assert all("==" in line and line.endswith("\\") for line in requirements)
    assert text.count("--hash=sha256:") >= len(requirements)
    assert {"starlette", "python-multipart", "jinja2", "h11", "uvicorn"} <= set(pins)
    assert tuple(int(part) for part in pins["starlette"].split(".")[:2]) >= (1, 0)


def test_the_lock_holds_every_dependency_the_project_declares() -> None:
    """A dependency added to pyproject.toml but not locked would make the deploy's
    `pip install --no-deps .` leave it out: the lock is made again when one is added."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dci"]
    text = (ROOT / "requirements.lock").read_text()
    locked = {
        line.split("==")[0].lower().replace("_", "-")
        for line in text.splitlines()
        if line and line[0].isalpha()
    }
    names = {re.split(r"[\[<>=;! ]", spec, maxsplit=1)[0] for spec in declared}
    wanted = {name.lower().replace("_", "-") for name in names}

    assert wanted - locked == set()
