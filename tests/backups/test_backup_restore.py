"""`alafia backup` and `alafia restore`, run as an operator would, on the suite's database
(SQLite by default, PostgreSQL with TEST_DATABASE_URL) and a second, empty one of the same
kind to restore into: what comes back is what was there, and the ledger is checked."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import zipfile
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from db import models
from db.engine import create_engine_sync, is_sqlite, sync_session_factory
from db.migrate import alembic_config, current, upgrade
from gateway.backups import archive
from gateway.enrolment.service import EnrolmentService
from gateway.payments.ledger import Billing
from menus.values import Channel
from tests.backups.databases import contents, empty_database, run
from tests.support.book import NOW, TIMEZONE, Book
from tests.support.households import enrol_household


async def test_a_restore_gives_back_every_row_and_checks_the_ledger(
    book: Book,
    database_url: str,
    target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    enrolment: EnrolmentService,
) -> None:
    file = tmp_path / "alafia.backup"
    assert run(monkeypatch, database_url, "backup", str(file)) == 0
    assert file.stat().st_mode & 0o777 == 0o600  # names, phones, national IDs: its owner's only
    said = capsys.readouterr().out
    assert "4 households, 12 persons, 6 payments" in said
    assert f"credited: 4 payments, {book.credited:,} FCFA" in said

    assert run(monkeypatch, target, "restore", str(file)) == 0
    said = capsys.readouterr().out
    assert "4 households, 12 persons, 6 payments" in said
    assert (
        f"ledger checked: 4 payments, {book.credited:,} FCFA credited = paid; "
        "sponsors 1,500 FCFA settled = recorded; agents hold 650 FCFA cash"
    ) in said
    before, after = contents(database_url), contents(target)
    assert after == before
    assert len(after["payments"]) == book.payments and len(after["messages"]) > 4

    # The restored database goes on: its id sequences follow the restored rows.
    engine = create_engine_sync(target)
    try:
        more = await enrol_household(
            EnrolmentService(sync_session_factory(engine)), "+2290197000705"
        )
    finally:
        engine.dispose()
    assert more not in {row[1] for row in before["members"]}


async def test_a_tampered_ledger_is_caught_after_the_restore(
    book: Book,
    database_url: str,
    target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    db: Session,
) -> None:
    # A payment's amount changed behind the ledger's back: its period no longer adds up.
    with db.begin():
        reference, period_id, household_id = db.execute(
            select(
                models.Payment.reference, models.Payment.period_id, models.Payment.household_id
            ).where(models.Payment.provider == "momo", models.Payment.status == "succeeded")
        ).one()
        db.execute(
            update(models.Payment).where(models.Payment.reference == reference).values(amount=4000)
        )
    file = tmp_path / "tampered.backup"
    assert run(monkeypatch, database_url, "backup", str(file)) == 0
    capsys.readouterr()

    assert run(monkeypatch, target, "restore", str(file)) == 3
    out, err = capsys.readouterr()
    assert "LEDGER DOES NOT ADD UP (1 problems)" in out
    assert (
        f"cover period {period_id} (household {household_id}) records 4,725 FCFA paid; "
        "its 1 succeeded payments credit 4,000 FCFA"
    ) in out
    assert "ledger checked" not in out and "not sound" in err


@pytest.mark.parametrize(
    ("tamper", "found"),
    [
        (
            "UPDATE period_shares SET paid = paid + 500",
            "sponsor T-COMMUNE: its settlements allocated 1,500 FCFA; "
            "its shares of cover years record 2,000 FCFA paid",
        ),
        (
            "UPDATE coverage_periods SET sponsor_paid = sponsor_paid + 500"
            " WHERE id = (SELECT min(period_id) FROM period_shares)",
            "1 cover years whose sponsor share or paid is not the sum of their shares",
        ),
        (
            "UPDATE cash_handovers SET amount = 5000",
            "handed over 1,850 FCFA more cash than they collected",
        ),
        (
            "UPDATE payments SET receipt_no = NULL WHERE provider = 'momo'",
            "1 succeeded payments have no receipt number",
        ),
        (
            "UPDATE payments SET status = 'failed' WHERE provider = 'momo'",
            "records 4,725 FCFA paid; its 0 succeeded payments credit 0 FCFA",
        ),
    ],
)
async def test_each_part_of_the_ledger_is_checked(
    book: Book,
    database_url: str,
    target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    db: Session,
    tamper: str,
    found: str,
) -> None:
    with db.begin():
        db.execute(text(tamper))
    file = tmp_path / "tampered.backup"
    assert run(monkeypatch, database_url, "backup", str(file)) == 0
    assert run(monkeypatch, target, "restore", str(file)) == 3
    assert found in capsys.readouterr().out


def _rewrite(file: Path, change_manifest: Any = None, change_payload: Any = None) -> None:
    """The backup file written again with its manifest or database changed, as a damaged
    or doctored file would be."""
    with zipfile.ZipFile(file) as original:
        manifest = json.loads(original.read(archive.MANIFEST))
        payload = original.read(manifest["payload"])
    if change_payload is not None:
        payload = change_payload(payload)
    if change_manifest is not None:
        change_manifest(manifest)
    with zipfile.ZipFile(file, "w") as rewritten:
        rewritten.writestr(archive.MANIFEST, json.dumps(manifest))
        rewritten.writestr(manifest["payload"], payload)


async def test_a_backup_whose_database_was_doctored_differs_from_its_own_figures(
    book: Book,
    database_url: str,
    target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The figures the backup recorded of itself catch a database changed after it was
    taken, checksum and all: a payment and its credit removed together still add up."""
    if not is_sqlite(database_url):
        pytest.skip("the doctoring is done with sqlite3 on the SQLite payload")
    file = tmp_path / "alafia.backup"
    assert run(monkeypatch, database_url, "backup", str(file)) == 0

    def doctored(payload: bytes) -> bytes:
        copy = tmp_path / "doctored.sqlite3"
        copy.write_bytes(payload)
        with closing(sqlite3.connect(copy)) as connection:  # closed: the WAL is written back
            connection.execute("DELETE FROM payments WHERE status = 'pending'")
            connection.commit()
        return copy.read_bytes()

    def new_checksum(manifest: dict[str, Any]) -> None:
        manifest["sha256"] = archive.sha256_of(tmp_path / "doctored.sqlite3")

    _rewrite(file, new_checksum, doctored)
    capsys.readouterr()
    assert run(monkeypatch, target, "restore", str(file)) == 3
    out = capsys.readouterr().out
    assert "payments: the backup recorded 6, the restored database holds 5" in out


async def test_figures_that_differ_from_the_backups_record_are_reported(
    book: Book,
    database_url: str,
    target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """On either kind of database: the restored counts are compared with those recorded
    in the manifest, and any difference is named (exit status 3)."""
    file = tmp_path / "alafia.backup"
    assert run(monkeypatch, database_url, "backup", str(file)) == 0

    def recorded_more(manifest: dict[str, Any]) -> None:
        manifest["figures"]["households"] += 1
        manifest["figures"]["credited"] += 100

    _rewrite(file, recorded_more)
    capsys.readouterr()
    assert run(monkeypatch, target, "restore", str(file)) == 3
    out = capsys.readouterr().out
    assert "ledger checked" in out  # the ledger itself adds up: the figures do not
    assert "households: the backup recorded 5, the restored database holds 4" in out
    assert f"credited: the backup recorded {book.credited + 100:,}" in out


async def least_part(sessions: async_sessionmaker[AsyncSession], francs: int) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(models.Product).values(min_part_payment=francs))


async def test_writes_going_on_during_a_backup_leave_it_consistent(
    sponsored_scheme: None,
    sessions: async_sessionmaker[AsyncSession],
    enrolment: EnrolmentService,
    database_url: str,
    target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Cash keeps being recorded (each a payment and its period's credit, in one
    transaction) before, while and after the backup runs: the backup holds whole
    transactions only, as many as it says, and its ledger adds up."""
    households = [
        await enrol_household(enrolment, f"+22901970008{i:02d}", persons=4) for i in range(8)
    ]
    # Many small payments (50 F, below the family product's least part), so that however
    # long the backup runs no household is ever paid up.
    await least_part(sessions, 50)
    billing = Billing(sessions, TIMEZONE, lambda: NOW)
    recorded = 0
    backup_done = asyncio.Event()
    some_written = asyncio.Event()

    async def keep_paying() -> None:
        nonlocal recorded
        while not backup_done.is_set() or recorded < 60:
            member_no = households[recorded % len(households)]
            await billing.record_cash(member_no, 50, "Payeur", Channel.AGENT)
            recorded += 1
            if recorded == 20:
                some_written.set()

    file = tmp_path / "live.backup"

    async def back_up() -> int:
        await some_written.wait()
        try:
            return await asyncio.to_thread(run, monkeypatch, database_url, "backup", str(file))
        finally:
            backup_done.set()

    try:
        _, status = await asyncio.gather(keep_paying(), back_up())
    finally:
        await least_part(sessions, 500)  # the scheme as the other tests know it
    assert status == 0
    manifest = archive.read_manifest(file)
    held = manifest.figures["credited_payments"]
    assert 20 <= held <= recorded and manifest.figures["credited"] == 50 * held

    capsys.readouterr()
    assert run(monkeypatch, target, "restore", str(file)) == 0
    said = capsys.readouterr().out
    assert f"ledger checked: {held:,} payments, {50 * held:,} FCFA credited = paid" in said


async def test_an_older_backup_is_restored_then_brought_to_the_latest_schema(
    database_url: str,
    target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = ScriptDirectory.from_config(alembic_config(database_url))
    head = script.get_current_head()
    assert head is not None
    older = script.get_revision(head).down_revision
    assert isinstance(older, str)
    # The empty target serves as the older database, then is emptied to restore into.
    upgrade(target, older)
    file = tmp_path / "old.backup"
    assert run(monkeypatch, target, "backup", str(file)) == 0
    empty_database(target)
    assert run(monkeypatch, target, "restore", str(file)) == 0
    said = capsys.readouterr().out
    assert f"at schema {older}" in said and f"schema upgraded from {older} to {head}" in said
    assert current(target) == head
