"""PostgreSQL through its own tools: `pg_dump -Fc` out, `pg_restore` in.

The tools are found in `--pg-bin DIR` when given, else on PATH, in `pg_config --bindir`
and in Debian's /usr/lib/postgresql/*/bin; the first of the server's major version or
newer is used (an older pg_dump refuses a newer server, or worse, misses what it does not
know). The password goes to them in the environment (PGPASSWORD), never on the command
line, where `ps` would show it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
DEBIAN_BINS = Path("/usr/lib/postgresql")


class PgToolError(RuntimeError):
    pass


@dataclass(frozen=True)
class PgTool:
    path: Path
    version: str  # "15.20"
    major: int


def tool_of(
    name: str, path: Path, version_text: str, needed: int, what: str = "the PostgreSQL server"
) -> PgTool:
    """The tool at `path`, from what its `--version` printed, if its major version is at
    least `needed` (that of `what`); PgToolError says why not."""
    found = VERSION.search(version_text)
    if found is None:
        raise PgToolError(f"{path} does not look like PostgreSQL's {name}: {version_text.strip()}")
    major = int(found.group(1))
    version = f"{major}.{found.group(2)}" if found.group(2) else str(major)
    if major < needed:
        raise PgToolError(
            f"{name} {version} ({path}) is older than {what} (major version {needed}): "
            f"install PostgreSQL's client tools of version {needed} or newer "
            f"(Debian: apt install postgresql-client-{needed}), or give --pg-bin DIR"
        )
    return PgTool(path, version, major)


def find_tool(
    name: str, needed: int, bin_dir: Path | None = None, what: str = "the PostgreSQL server"
) -> PgTool:
    problems: list[str] = []
    for path in _candidates(name, bin_dir):
        try:
            answer = subprocess.run(
                [str(path), "--version"], capture_output=True, text=True, timeout=30, check=True
            )
            return tool_of(name, path, answer.stdout, needed, what)
        except (OSError, subprocess.SubprocessError) as error:
            problems.append(f"{path}: {error}")
        except PgToolError as error:
            problems.append(str(error))
    where = (
        f"in {bin_dir}" if bin_dir else "on PATH, in `pg_config --bindir` or /usr/lib/postgresql"
    )
    if not problems:
        raise PgToolError(
            f"{name} not found {where}: install PostgreSQL's client tools of version "
            f"{needed} or newer (Debian: apt install postgresql-client-{needed}), "
            "or give --pg-bin DIR"
        )
    raise PgToolError("; ".join(problems))


def _candidates(name: str, bin_dir: Path | None) -> Iterator[Path]:
    if bin_dir is not None:
        if (bin_dir / name).is_file():
            yield bin_dir / name
        return
    seen: set[Path] = set()
    for path in _search(name):
        if path.is_file() and path.resolve() not in seen:
            seen.add(path.resolve())
            yield path


def _search(name: str) -> Iterator[Path]:
    on_path = shutil.which(name)
    if on_path:
        yield Path(on_path)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            answer = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=True
            )
            yield Path(answer.stdout.strip()) / name
        except (OSError, subprocess.SubprocessError):
            pass
    if DEBIAN_BINS.is_dir():
        versions = [p for p in DEBIAN_BINS.iterdir() if p.name.isdigit()]
        for version in sorted(versions, key=lambda p: int(p.name), reverse=True):
            yield version / "bin" / name


def connection_args(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for `--dbname` (no password) and the environment that
    carries the password."""
    parsed = make_url(url)
    keywords: dict[str, str] = {}
    if parsed.host:
        keywords["host"] = parsed.host
    if parsed.port:
        keywords["port"] = str(parsed.port)
    if parsed.username:
        keywords["user"] = parsed.username
    if parsed.database:
        keywords["dbname"] = parsed.database
    for key, value in parsed.query.items():  # sslmode, options, a socket's host...
        keywords[key] = value if isinstance(value, str) else value[-1]
    conninfo = " ".join(f"{key}={_quoted(value)}" for key, value in keywords.items())
    environment = dict(os.environ)
    if parsed.password is not None:
        environment["PGPASSWORD"] = str(parsed.password)
    return conninfo, environment


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def dump(url: str, target: Path, tool: PgTool, snapshot: str | None = None) -> None:
    """`pg_dump -Fc` of the whole database into `target`; within `snapshot` (exported by a
    transaction still open) so that it holds exactly what that transaction saw."""
    conninfo, environment = connection_args(url)
    command = [str(tool.path), "--format=custom", f"--file={target}", f"--dbname={conninfo}"]
    if snapshot:
        command.append(f"--snapshot={snapshot}")
    _run(command, environment, "pg_dump")


def restore(url: str, source: Path, tool: PgTool, clean: bool) -> None:
    """`pg_restore` of `source` in one transaction: a failure leaves the database as it
    was. `clean`: drop what the dump holds first (the operator's --force). Owners and
    grants are those of the user restoring: the roles of the old server may not exist."""
    conninfo, environment = connection_args(url)
    command = [
        str(tool.path),
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        f"--dbname={conninfo}",
    ]
    if clean:
        command += ["--clean", "--if-exists"]
    _run([*command, str(source)], environment, "pg_restore")


def _run(command: list[str], environment: dict[str, str], name: str) -> None:
    answer = subprocess.run(command, capture_output=True, text=True, env=environment)
    if answer.returncode != 0:
        said = answer.stderr.strip() or answer.stdout.strip() or f"exit status {answer.returncode}"
        raise PgToolError(f"{name} failed: {said}")
