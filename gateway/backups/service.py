"""Taking a backup of the database DATABASE_URL names, and restoring one into it.

Everything the gateway keeps lives in that database: households, payments, the SMS outbox
(`messages`) and the register's outbox (`register_events`) included. Redis holds only
what can be lost: USSD and dashboard sessions, cached statistics, rate-limit counters.
"""

from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from db.engine import create_engine_sync, is_sqlite
from gateway.backups import archive, postgres_dump, sqlite_copy
from gateway.backups.archive import POSTGRESQL, SQLITE, BackupFileError, Manifest
from gateway.backups.ledger_check import Figures, LedgerCheck, check_ledger, figures
from gateway.backups.postgres_dump import PgToolError
from gateway.backups.sqlite_copy import SqliteError


class BackupRefused(Exception):
    """Nothing was written: the message says why."""


@dataclass
class Restored:
    manifest: Manifest
    figures: Figures
    ledger: LedgerCheck
    upgraded_from: str | None = None
    head: str = ""
    # Where the restored database differs from what the backup recorded of itself.
    differences: list[str] = field(default_factory=list)

    @property
    def sound(self) -> bool:
        return self.ledger.adds_up and not self.differences


def kind_of(url: str) -> str:
    return SQLITE if is_sqlite(url) else POSTGRESQL


def take(
    url: str,
    file: Path,
    created_at: datetime,
    pg_bin: Path | None = None,
    overwrite: bool = False,
) -> Manifest:
    """Write a backup of the database to `file`."""
    if file.exists() and not overwrite:
        raise BackupRefused(f"{file} exists already: choose another name, or say --force")
    if not file.parent.is_dir():
        raise BackupRefused(f"{file.parent} is not a directory")
    try:
        # Next to the backup, not in /tmp: the same disk, and /tmp may be small.
        with tempfile.TemporaryDirectory(dir=file.parent, prefix=".alafia-backup-") as work:
            payload = Path(work) / archive.PAYLOAD_NAMES[kind_of(url)]
            if kind_of(url) == SQLITE:
                manifest = _take_sqlite(url, payload, created_at)
            else:
                manifest = _take_postgres(url, payload, created_at, pg_bin)
            archive.write(file, manifest, payload)
    except (SqliteError, PgToolError, OSError, sqlite3.DatabaseError) as error:
        raise BackupRefused(str(error)) from None
    except OperationalError as error:
        raise BackupRefused(f"the database cannot be read: {error.orig}") from None
    return manifest


def _take_sqlite(url: str, payload: Path, created_at: datetime) -> Manifest:
    version = sqlite_copy.copy_out(sqlite_copy.database_path(url), payload)
    # The revision and figures of the copy itself: exactly the moment it holds.
    engine = create_engine_sync(f"sqlite:///{payload}")
    try:
        with engine.connect() as connection:
            revision, held = _revision(connection), figures(connection)
    finally:
        engine.dispose()
    return _manifest(SQLITE, revision, created_at, held, payload, version)


def _take_postgres(url: str, payload: Path, created_at: datetime, pg_bin: Path | None) -> Manifest:
    engine = create_engine_sync(url)
    try:
        # One snapshot for the figures and the dump: pg_dump joins this transaction's
        # snapshot while it is open, so both see the same rows whatever is written meanwhile.
        with (
            engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection,
            connection.begin(),
        ):
            server = str(connection.scalar(text("SHOW server_version")))
            major = int(connection.scalar(text("SHOW server_version_num")) or 0) // 10000
            tool = postgres_dump.find_tool("pg_dump", major, pg_bin)
            snapshot = str(connection.scalar(text("SELECT pg_export_snapshot()")))
            revision, held = _revision(connection), figures(connection)
            postgres_dump.dump(url, payload, tool, snapshot)
    finally:
        engine.dispose()
    return _manifest(POSTGRESQL, revision, created_at, held, payload, server, tool.version)


def _revision(connection: Connection) -> str:
    from alembic.runtime.migration import MigrationContext

    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None:
        raise BackupRefused(
            "the database has no Alafia schema (no alembic_version): nothing to back up"
        )
    return revision


def _manifest(
    kind: str,
    revision: str,
    created_at: datetime,
    held: Figures,
    payload: Path,
    server_version: str,
    tool_version: str = "",
) -> Manifest:
    return Manifest(
        database=kind,
        schema_revision=revision,
        created_at=created_at.isoformat(timespec="seconds"),
        figures=held.as_dict(),
        payload=payload.name,
        sha256=archive.sha256_of(payload),
        size=payload.stat().st_size,
        server_version=server_version,
        tool_version=tool_version,
        alafia_version=_alafia_version(),
    )


def _alafia_version() -> str:
    try:
        return metadata.version("alafia")
    except metadata.PackageNotFoundError:
        return ""


def read(file: Path) -> Manifest:
    try:
        return archive.read_manifest(file)
    except BackupFileError as error:
        raise BackupRefused(str(error)) from None


def restore(url: str, file: Path, force: bool = False, pg_bin: Path | None = None) -> Restored:
    """Restore `file` into the database; BackupRefused (nothing changed) says why not."""
    manifest = read(file)
    kind = kind_of(url)
    if manifest.database != kind:
        raise BackupRefused(
            f"{file} is a backup of a {manifest.kind_name} database, and DATABASE_URL names "
            f"a {archive.KIND_NAMES[kind]} one: a backup is restored into the same kind of "
            "database it was taken from"
        )
    head = _check_revision(url, manifest, file)
    try:
        _check_empty(url, force)
    except sqlite3.DatabaseError as error:
        raise BackupRefused(f"the database DATABASE_URL names cannot be read: {error}") from None
    except OperationalError as error:
        raise BackupRefused(f"the database cannot be reached: {error.orig}") from None
    try:
        with tempfile.TemporaryDirectory(prefix="alafia-restore-") as work:
            payload = archive.extract(file, manifest, Path(work))
            if kind == SQLITE:
                sqlite_copy.copy_in(payload, sqlite_copy.database_path(url))
            else:
                _restore_postgres(url, payload, manifest, force, pg_bin)
    except (BackupFileError, SqliteError, PgToolError, OSError, sqlite3.Error) as error:
        # SQLite's copy and pg_restore each run in one transaction: a failure changed nothing.
        raise BackupRefused(str(error)) from None
    return _after_restore(url, manifest, head)


def _check_revision(url: str, manifest: Manifest, file: Path) -> str:
    """This code's latest revision, once it knows the backup's."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from db.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_current_head() or ""
    try:
        known = script.get_revision(manifest.schema_revision) is not None
    except CommandError:  # alembic's ResolutionError is one
        known = False
    if not known:
        raise BackupRefused(
            f"{file} holds schema revision {manifest.schema_revision}, which this Alafia does "
            f"not know (its latest is {head}): restore it with the Alafia version that made "
            "it, or a newer one"
        )
    return head


def _check_empty(url: str, force: bool) -> None:
    found = tables_in(url)
    if found and not force:
        raise BackupRefused(
            f"the database DATABASE_URL names is not empty ({len(found)} tables"
            f"{_held_by(url)}): a restore replaces all of it. Restore into an empty database, "
            "or say --force to replace this one"
        )


def tables_in(url: str) -> list[str]:
    """The tables the database holds, in any schema (PostgreSQL): none means empty."""
    if kind_of(url) == SQLITE:
        return sqlite_copy.tables(sqlite_copy.database_path(url))
    engine = create_engine_sync(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT table_schema || '.' || table_name FROM information_schema.tables"
                    " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                    " AND table_schema NOT LIKE 'pg_toast%'"
                )
            ).all()
    finally:
        engine.dispose()
    return sorted(name for (name,) in rows)


def _held_by(url: str) -> str:
    """What the database holds, to say what --force would replace; silent when it is not
    an Alafia database of this schema."""
    engine = create_engine_sync(url)
    try:
        with engine.connect() as connection:
            held = figures(connection)
    except SQLAlchemyError:  # any other schema: the table count says enough
        return ""
    finally:
        engine.dispose()
    return f", {held.households:,} households, {held.payments:,} payments"


def _restore_postgres(
    url: str, payload: Path, manifest: Manifest, force: bool, pg_bin: Path | None
) -> None:
    engine = create_engine_sync(url)
    try:
        with engine.connect() as connection:
            server = int(connection.scalar(text("SHOW server_version_num")) or 0) // 10000
    finally:
        engine.dispose()
    tool = postgres_dump.find_tool("pg_restore", server, pg_bin)
    written_by = postgres_dump.VERSION.search(f"(PostgreSQL) {manifest.tool_version}")
    if written_by is not None:
        # pg_restore reads the archives of its own version and older ones only.
        postgres_dump.tool_of(
            "pg_restore",
            tool.path,
            f"(PostgreSQL) {tool.version}",
            int(written_by.group(1)),
            "the pg_dump that wrote the backup",
        )
    postgres_dump.restore(url, payload, tool, clean=force)


def _after_restore(url: str, manifest: Manifest, head: str) -> Restored:
    from db.migrate import current, upgrade

    differences: list[str] = []
    restored_at = current(url)
    if restored_at != manifest.schema_revision:
        differences.append(
            f"the restored database is at schema revision {restored_at}; "
            f"the backup says {manifest.schema_revision}"
        )
    upgraded_from = None
    if restored_at is not None and restored_at != head:
        upgrade(url)  # an older backup: brought to this code's schema, as `db upgrade` would
        upgraded_from = restored_at
    engine = create_engine_sync(url)
    try:
        with engine.connect() as connection:
            held, ledger = figures(connection), check_ledger(connection)
    finally:
        engine.dispose()
    for name, value in held.as_dict().items():
        recorded = manifest.figures.get(name)
        if recorded is not None and recorded != value:
            differences.append(
                f"{name}: the backup recorded {recorded:,}, the restored database holds {value:,}"
            )
    return Restored(manifest, held, ledger, upgraded_from, head, differences)
