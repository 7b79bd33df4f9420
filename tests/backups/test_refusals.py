"""What `alafia restore` and `alafia backup` refuse, each with its reason and exit status 2,
leaving the database as it was: a file that is not an Alafia backup, one of the other kind
of database or of a schema this code does not know, a damaged one, a database that is not
empty (unless --force), PostgreSQL tools that are missing or too old."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import zipfile
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from db import models
from db.engine import create_engine_sync, is_sqlite, sync_session_factory
from gateway.backups import archive
from gateway.backups.postgres_dump import PgToolError, tool_of
from gateway.backups.service import tables_in
from gateway.enrolment.service import EnrolmentService
from tests.backups.databases import contents, run
from tests.support.households import enrol_household

OLD_DUMP = "/usr/lib/postgresql/13/bin/pg_dump"


@pytest.fixture
async def backup_file(
    clean: None,
    enrolment: EnrolmentService,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Path:
    await enrol_household(enrolment, "+2290197000701")
    file = tmp_path / "alafia.backup"
    assert run(monkeypatch, database_url, "backup", str(file)) == 0
    capsys.readouterr()
    return file


def tables_of(url: str) -> int:
    return len(tables_in(url))


def refused(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    *argv: str,
) -> str:
    """The reason `alafia ...` gave for refusing."""
    assert run(monkeypatch, url, *argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    return err


def _rewritten(file: Path, manifest_change: Callable[[dict[str, Any]], None]) -> Path:
    with zipfile.ZipFile(file) as original:
        manifest = json.loads(original.read(archive.MANIFEST))
        payload = original.read(manifest["payload"])
    manifest_change(manifest)
    changed = file.with_name("changed.backup")
    with zipfile.ZipFile(changed, "w") as rewritten:
        rewritten.writestr(archive.MANIFEST, json.dumps(manifest))
        rewritten.writestr(manifest["payload"], payload)
    return changed


def test_files_that_are_not_alafia_backups_are_refused(
    backup_file: Path,
    target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("household list\n")
    bare = tmp_path / "alafia.sqlite3"
    with closing(sqlite3.connect(bare)) as connection:
        connection.execute("CREATE TABLE households (id INTEGER PRIMARY KEY)")
    dump = tmp_path / "prod.pgdump"
    dump.write_bytes(b"PGDMP\x01\x0e\x00" + bytes(64))  # how every custom-format dump begins
    other_zip = tmp_path / "photos.zip"
    with zipfile.ZipFile(other_zip, "w") as photos:
        photos.writestr("photo.jpg", b"\xff\xd8")
    expected = {
        text_file: "is not an Alafia backup (made by `alafia backup`)",
        bare: "is a bare SQLite database file, not an Alafia backup",
        dump: "is a pg_dump archive made outside Alafia (restore it with pg_restore)",
        other_zip: "is not an Alafia backup (made by `alafia backup`)",
        tmp_path / "missing.backup": "cannot be read",
    }
    for file, reason in expected.items():
        said = refused(monkeypatch, capsys, target, "restore", str(file))
        assert said.startswith(f"not restored: {file} ") and reason in said, said
    assert tables_of(target) == 0


def test_a_backup_of_the_other_kind_of_database_is_refused(
    backup_file: Path,
    target: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sqlite = is_sqlite(target)
    other, other_name = ("postgresql", "PostgreSQL") if sqlite else ("sqlite", "SQLite")
    own_name = "SQLite" if sqlite else "PostgreSQL"

    def other_kind(manifest: dict[str, Any]) -> None:
        manifest["database"] = other

    changed = _rewritten(backup_file, other_kind)
    said = refused(monkeypatch, capsys, target, "restore", str(changed))
    assert (
        f"is a backup of a {other_name} database, and DATABASE_URL names a {own_name} one" in said
    )
    assert tables_of(target) == 0


def test_a_backup_of_a_schema_this_code_does_not_know_is_refused(
    backup_file: Path,
    target: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def newer(manifest: dict[str, Any]) -> None:
        manifest["schema_revision"] = "9999"

    said = refused(monkeypatch, capsys, target, "restore", str(_rewritten(backup_file, newer)))
    assert "holds schema revision 9999, which this Alafia does not know" in said
    assert "restore it with the Alafia version that made it, or a newer one" in said
    assert tables_of(target) == 0


def test_a_damaged_backup_is_refused_before_the_database_is_touched(
    backup_file: Path,
    target: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def wrong_checksum(manifest: dict[str, Any]) -> None:
        manifest["sha256"] = "0" * 64

    damaged = _rewritten(backup_file, wrong_checksum)
    said = refused(monkeypatch, capsys, target, "restore", str(damaged))
    assert "is damaged: its database does not match the checksum it was written with" in said

    cut = backup_file.with_name("cut.backup")
    cut.write_bytes(backup_file.read_bytes()[: backup_file.stat().st_size // 2])
    said = refused(monkeypatch, capsys, target, "restore", str(cut))
    assert "is not an Alafia backup" in said
    assert tables_of(target) == 0


async def test_a_database_that_is_not_empty_is_replaced_only_with_force(
    backup_file: Path,
    database_url: str,
    target: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(monkeypatch, target, "restore", str(backup_file)) == 0
    capsys.readouterr()
    # Life goes on in the restored database: a second household.
    engine = create_engine_sync(target)
    try:
        await enrol_household(EnrolmentService(sync_session_factory(engine)), "+2290197000702")
        said = refused(monkeypatch, capsys, target, "restore", str(backup_file))
        assert "the database DATABASE_URL names is not empty (" in said
        assert "2 households, 0 payments): a restore replaces all of it" in said
        assert "say --force to replace this one" in said
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(models.Household)) == 2

        assert run(monkeypatch, target, "restore", "--force", str(backup_file)) == 0
        assert "1 households" in capsys.readouterr().out
    finally:
        engine.dispose()
    assert contents(target) == contents(database_url)


def test_backup_refuses_to_overwrite_a_file_or_to_copy_no_schema(
    backup_file: Path,
    database_url: str,
    target: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    written = backup_file.read_bytes()
    said = refused(monkeypatch, capsys, database_url, "backup", str(backup_file))
    assert f"not backed up: {backup_file} exists already" in said and "--force" in said
    assert backup_file.read_bytes() == written

    if is_sqlite(target):
        # An empty file of SQLite's: the path of a database never created.
        with closing(sqlite3.connect(target.removeprefix("sqlite:///"))):
            pass
    said = refused(monkeypatch, capsys, target, "backup", str(backup_file.with_name("none")))
    assert "the database has no Alafia schema (no alembic_version): nothing to back up" in said
    assert not backup_file.with_name("none").exists()
    assert not [p for p in backup_file.parent.iterdir() if p.name.startswith(".alafia-backup")]


def test_missing_postgresql_tools_are_named(
    backup_file: Path,
    database_url: str,
    target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if is_sqlite(database_url):
        pytest.skip("SQLite needs no outside tool")
    nowhere = tmp_path / "no-tools"
    nowhere.mkdir()
    file = tmp_path / "other.backup"
    said = refused(monkeypatch, capsys, database_url, "backup", str(file), "--pg-bin", str(nowhere))
    assert f"pg_dump not found in {nowhere}: install PostgreSQL's client tools of version" in said
    assert not file.exists()
    said = refused(
        monkeypatch, capsys, target, "restore", str(backup_file), "--pg-bin", str(nowhere)
    )
    assert f"pg_restore not found in {nowhere}" in said
    assert tables_of(target) == 0


def test_a_postgresql_tool_older_than_the_server_is_refused() -> None:
    """What `pg_dump --version` prints, read against a server's major version: the real
    binary's answer when it is installed, and an older release's."""
    installed = shutil.which("pg_dump")
    if installed:
        answer = subprocess.run([installed, "--version"], capture_output=True, text=True).stdout
        tool = tool_of("pg_dump", Path(installed), answer, 10)
        assert (
            tool.major >= 10 and answer.strip().endswith(tool.version)
        ) or tool.version in answer
        with pytest.raises(PgToolError) as older:
            tool_of("pg_dump", Path(installed), answer, tool.major + 1)
        assert f"is older than the PostgreSQL server (major version {tool.major + 1})" in str(
            older.value
        )
    with pytest.raises(PgToolError) as refused_tool:
        tool_of(
            "pg_dump", Path("/usr/lib/postgresql/13/bin/pg_dump"), "pg_dump (PostgreSQL) 13.16", 16
        )
    assert str(refused_tool.value) == (
        f"pg_dump 13.16 ({OLD_DUMP}) is older than the PostgreSQL server "
        "(major version 16): install PostgreSQL's client tools of version 16 or newer "
        "(Debian: apt install postgresql-client-16), or give --pg-bin DIR"
    )
    assert tool_of("pg_dump", Path("pg_dump"), "pg_dump (PostgreSQL) 17.2", 16).major == 17
    with pytest.raises(PgToolError, match="does not look like PostgreSQL's pg_dump"):
        tool_of("pg_dump", Path("pg_dump"), "something else 1.0", 16)


def test_a_database_that_cannot_be_read_is_named(
    backup_file: Path,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    url = f"sqlite:///{garbage}"
    if is_sqlite(database_url):  # a PostgreSQL backup is refused for SQLite before this
        said = refused(monkeypatch, capsys, url, "restore", str(backup_file))
        assert said.startswith("not restored: the database DATABASE_URL names cannot be read:")
    said = refused(monkeypatch, capsys, url, "backup", str(tmp_path / "garbage.backup"))
    assert said.startswith("not backed up: ") and "not a database" in said
    assert garbage.read_bytes() == b"not a database at all" * 100
