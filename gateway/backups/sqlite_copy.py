"""SQLite through its online backup API: a copy of one consistent moment, taken while the
gateway goes on writing (WAL: the copy reads a snapshot, writers do not wait for it)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

BUSY_MS = 5000


class SqliteError(RuntimeError):
    pass


def database_path(url: str) -> Path:
    name = make_url(url).database
    if not name or name == ":memory:":
        raise SqliteError("DATABASE_URL names an in-memory SQLite database: nothing to back up")
    return Path(name)


def copy_out(source: Path, target: Path) -> str:
    """`source` copied to the new file `target` in one step (one read snapshot); returns
    SQLite's library version. `mode=rw`: a wrong path fails instead of creating a file."""
    if not source.is_file():
        raise SqliteError(f"{source} does not exist: nothing to back up")
    with (
        closing(sqlite3.connect(f"file:{source}?mode=rw", uri=True)) as live,
        closing(sqlite3.connect(target)) as copy,
    ):
        live.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        live.backup(copy)  # pages=-1: every page in one step, so one snapshot
    return sqlite3.sqlite_version


def copy_in(source: Path, target: Path) -> None:
    """The backup's database written over `target` page by page, through the same API:
    SQLite replaces the content in one transaction and looks after the target's WAL."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as backup,
        closing(sqlite3.connect(target)) as live,
    ):
        live.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        backup.backup(live)


def tables(path: Path) -> list[str]:
    """The tables of the database at `path` (none when there is no file)."""
    if not path.is_file() or path.stat().st_size == 0:
        return []
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        rows = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
    return sorted(name for (name,) in rows)
