"""The second database the backup tests restore into, of the suite's kind: a SQLite file
of the test's own, or on PostgreSQL a database beside the suite's, named after it
(backup_test -> backup_restore_test; test -> restore_test), created when missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, select, text

from db import models
from db.engine import create_engine_sync, is_sqlite
from gateway import cli
from tests.support.book import NOW


def restore_target_url(suite_url: str, tmp_path: Path) -> str:
    if is_sqlite(suite_url):
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    suite = make_url(suite_url)
    name = suite.database or ""
    base = name.removesuffix("_test") if name != "test" else ""
    target = f"{base}_restore_test" if base else "restore_test"
    engine = create_engine_sync(suite_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{target}"'))
    finally:
        engine.dispose()
    return suite.set(database=target).render_as_string(hide_password=False)


def empty_database(url: str) -> None:
    """Nothing left in it: no file (SQLite), or an empty public schema (PostgreSQL)."""
    if is_sqlite(url):
        path = Path(make_url(url).database or "")
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        return
    engine = create_engine_sync(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def run(monkeypatch: pytest.MonkeyPatch, database_url: str, *argv: str) -> int:
    """`alafia ...` with DATABASE_URL naming `database_url`."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return cli.main(list(argv), now=lambda: NOW)


def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order, and the schema revision."""
    engine = create_engine_sync(url)
    try:
        with engine.connect() as connection:
            rows = {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in models.Base.metadata.sorted_tables
            }
            rows["alembic_version"] = [
                tuple(row) for row in connection.execute(text("SELECT * FROM alembic_version"))
            ]
    finally:
        engine.dispose()
    return rows
