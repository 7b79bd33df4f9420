"""Indigence from the DCI social registry: `alafia register indigence` and the check on a new
household in the register sync, against the local DCI peer over real HTTP, on the test
database (SQLite, or PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from adapters.register.dci import DciRegister, DciSettings
from adapters.register.dci_records import IndigenceRule
from db.engine import create_engine_async, create_engine_sync, session_factory, sync_session_factory
from gateway import cli
from gateway.enrolment.service import EnrolmentService
from gateway.register.indigence import IndigenceCheck
from gateway.register.sync import RegisterSync
from gateway.settings import Settings
from tests.conftest import TODAY
from tests.peers.dci import DciPeer
from tests.support.clock import Now
from tests.support.households import enrol_household
from tests.support.http_server import serve

RULE = IndigenceRule(score_below=20.0, score_type="PMT")
POOR, COMFORTABLE = 12.0, 55.0


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
async def sessions(
    settings: Settings, clean: None
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine_async(settings.database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def enrolment(database_url: str, clean: None, now: Now) -> Iterator[EnrolmentService]:
    engine = create_engine_sync(database_url)
    yield EnrolmentService(sync_session_factory(engine), now=now)
    engine.dispose()


@pytest.fixture
def peer() -> DciPeer:
    return DciPeer()


@pytest.fixture
def url(peer: DciPeer) -> Iterator[str]:
    with serve(peer.app) as served:
        yield served


def dci_settings(url: str) -> DciSettings:
    return DciSettings(
        base_url=url,
        client_id="alafia",
        client_secret="s3cret",
        sender_id="alafia.gateway",
        receiver_id="social.registry",
        programme_id="AMU-BJ-MUTUELLES",
        indigence=RULE,
        # Roomy: a run asks several members at once, on a machine shared with other suites.
        timeout_seconds=10.0,
    )


@pytest.fixture
async def register(url: str) -> AsyncIterator[DciRegister]:
    async with DciRegister(dci_settings(url)) as adapter:
        yield adapter


def give_npis(db: Session, head_no: str, *npis: str) -> list[int]:
    """NPIs for a household's members in registration order; their member ids."""
    db.expire_all()
    household = db.execute(
        text("SELECT household_id FROM members WHERE member_no = :n"), {"n": head_no}
    ).scalar_one()
    ids = (
        db.execute(
            text("SELECT id FROM members WHERE household_id = :h ORDER BY id"), {"h": household}
        )
        .scalars()
        .all()
    )
    for member_id, npi in zip(ids, npis, strict=False):
        db.execute(
            text("UPDATE members SET national_id = :npi WHERE id = :id"),
            {"npi": npi, "id": member_id},
        )
    db.commit()
    return list(ids[: len(npis)])


def exemptions(db: Session) -> list[tuple[int, str, str, Any, Any]]:
    db.expire_all()
    rows = db.execute(
        text(
            "SELECT member_id, ground, source, starts_on, ends_on FROM member_exemptions"
            " ORDER BY member_id, starts_on"
        )
    ).all()
    return [(r[0], r[1], r[2], str(r[3]), None if r[4] is None else str(r[4])) for r in rows]


async def test_indigent_members_get_an_exemption_once(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    peer: DciPeer,
    register: DciRegister,
) -> None:
    poor = await enrol_household(enrolment, "+2290197000701")
    other = await enrol_household(enrolment, "+2290197000702")
    poor_ids = give_npis(db, poor, "1000000001", "1000000002")
    give_npis(db, other, "2000000001")
    peer.add_group(["1000000001", "1000000002"], poverty_score=POOR, score_type="PMT")
    peer.add_group(["2000000001"], poverty_score=COMFORTABLE, score_type="PMT")
    check = IndigenceCheck(sessions, register, now, recorded_by="cli:test")

    counts = await check.run()

    assert (counts.asked, counts.indigent, counts.recorded, counts.unknown) == (3, 2, 2, 0)
    day = str(TODAY)
    assert exemptions(db) == [(i, "indigent", "social_registry", day, None) for i in poor_ids]
    searches = peer.seen("/registry/sync/search")
    assert len(searches) == 3 and all(s.problems == [] for s in searches)

    again = await check.run()  # idempotent: nothing new at the registry, nothing new here

    assert (again.asked, again.indigent, again.recorded, again.already) == (3, 2, 0, 2)
    assert len(exemptions(db)) == 2


async def test_members_are_asked_a_page_at_a_time(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    peer: DciPeer,
    register: DciRegister,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gateway.register import indigence

    monkeypatch.setattr(indigence, "PAGE", 2)
    head = await enrol_household(enrolment, "+2290197000701", persons=3)
    ids = give_npis(db, head, "1000000001", "1000000002", "1000000003")
    peer.add_group(["1000000001", "1000000002", "1000000003"], poverty_score=POOR)

    counts = await IndigenceCheck(sessions, register, now, recorded_by="cli:test").run()

    assert (counts.asked, counts.recorded) == (3, 3)
    assert [e[0] for e in exemptions(db)] == ids


async def test_an_exemption_the_registry_no_longer_supports_is_ended(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    peer: DciPeer,
    register: DciRegister,
) -> None:
    head = await enrol_household(enrolment, "+2290197000701", persons=1)
    [member_id] = give_npis(db, head, "1000000001")
    peer.add_group(["1000000001"], poverty_score=POOR, score_type="PMT")
    check = IndigenceCheck(sessions, register, now, recorded_by="cli:test")
    await check.run()

    peer.groups[0]["poverty_score"] = COMFORTABLE  # a later survey: out of poverty
    now.later(days=40)
    counts = await check.run()

    assert counts.ended == 1
    ended_on = str(now().date() - dt.timedelta(days=1))
    assert exemptions(db) == [(member_id, "indigent", "social_registry", str(TODAY), ended_on)]


async def test_a_staff_exemption_is_left_to_staff(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    peer: DciPeer,
    register: DciRegister,
) -> None:
    head = await enrol_household(enrolment, "+2290197000701", persons=1)
    [member_id] = give_npis(db, head, "1000000001")
    db.execute(
        text(
            "INSERT INTO member_exemptions (member_id, ground, source, starts_on, recorded_by,"
            " created_at) VALUES (:m, 'indigent', 'staff', :d, 'staff:1', :d)"
        ),
        {"m": member_id, "d": TODAY},
    )
    db.commit()
    peer.add_group(["1000000001"], poverty_score=COMFORTABLE, score_type="PMT")

    counts = await IndigenceCheck(sessions, register, now, recorded_by="cli:t").run()

    assert (counts.indigent, counts.ended) == (0, 0)
    assert exemptions(db) == [(member_id, "indigent", "staff", str(TODAY), None)]


async def test_a_registry_that_fails_leaves_members_as_they_were(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    peer: DciPeer,
    register: DciRegister,
) -> None:
    head = await enrol_household(enrolment, "+2290197000701", persons=2)
    give_npis(db, head, "1000000001", "1000000002")
    peer.add_group(["1000000001", "1000000002"], poverty_score=POOR, score_type="PMT")
    peer.fail_next(503, path="/registry/sync/search")
    check = IndigenceCheck(sessions, register, now, recorded_by="cli:test")

    counts = await check.run()

    assert (counts.asked, counts.failed, counts.recorded) == (2, 1, 1)
    assert "1000000001" not in " ".join(counts.errors)  # no NPI in what is reported
    assert len(exemptions(db)) == 1
    assert (await check.run()).recorded == 1  # the next run finishes the work
    assert len(exemptions(db)) == 2


async def test_only_the_mutual_asked_for(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    peer: DciPeer,
    register: DciRegister,
) -> None:
    head = await enrol_household(enrolment, "+2290197000701", persons=1)
    give_npis(db, head, "1000000001")
    peer.add_group(["1000000001"], poverty_score=POOR, score_type="PMT")
    check = IndigenceCheck(sessions, register, now, recorded_by="cli:test")

    assert (await check.run("MS-NDALI")).asked == 0
    with pytest.raises(LookupError):
        await check.run("NO-SUCH-UNIT")
    assert (await check.run("MS-PARAKOU")).recorded == 1


# -- the check on a new household, in the register sync ----------------------------------


async def test_a_new_household_is_checked_when_its_enrolment_is_pushed(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    peer: DciPeer,
    register: DciRegister,
) -> None:
    head = await enrol_household(enrolment, "+2290197000701", persons=2)
    ids = give_npis(db, head, "1000000001", "1000000002")
    peer.add_group(["1000000001", "1000000002"], poverty_score=POOR, score_type="PMT")
    peer.fail_next(503, path="/registry/sync/search")  # the registry down at first
    check = IndigenceCheck(sessions, register, now, recorded_by="worker")
    sync = RegisterSync(sessions, register, now, max_attempts=5, indigence=check)

    assert await sync.work() == 1
    db.expire_all()
    status, attempts, error = db.execute(
        text("SELECT status, attempts, last_error FROM register_events")
    ).one()
    assert (status, attempts) == ("pending", 1) and "indigence not known" in error

    now.later(minutes=5)  # past the backoff
    assert await sync.work() == 1
    db.expire_all()
    status, error = db.execute(text("SELECT status, last_error FROM register_events")).one()
    # Not covered yet, so nothing for the beneficiary registry: skipped, and checked.
    assert status == "skipped" and "not a beneficiary yet" in error
    assert [e[0] for e in exemptions(db)] == ids


# -- the command -------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings, url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(settings.data_dir))
    for name, value in {
        "REGISTER_ADAPTER": "dci",
        "DCI_BASE_URL": url,
        "DCI_CLIENT_ID": "alafia",
        "DCI_CLIENT_SECRET": "s3cret",
        "DCI_SENDER_ID": "alafia.gateway",
        "DCI_RECEIVER_ID": "social.registry",
        "DCI_PROGRAMME_ID": "AMU-BJ-MUTUELLES",
        "DCI_INDIGENT_SCORE_BELOW": "20",
        "DCI_INDIGENT_SCORE_TYPE": "PMT",
    }.items():
        monkeypatch.setenv(name, value)


async def alafia(now: Now, *argv: str) -> int:
    return await asyncio.to_thread(lambda: cli.main(list(argv), now=now))


async def test_the_indigence_command(
    cli_env: None,
    enrolment: EnrolmentService,
    now: Now,
    db: Session,
    peer: DciPeer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    head = await enrol_household(enrolment, "+2290197000701", persons=2)
    give_npis(db, head, "1000000001", "1000000002")
    peer.add_group(["1000000001"], poverty_score=POOR, score_type="PMT")

    assert await alafia(now, "register", "indigence", "--mutual", "MS-PARAKOU") == 0
    out = capsys.readouterr().out
    assert "2 members with an NPI asked: 1 indigent (1 exemptions recorded" in out
    assert "1 unknown to the registry, 0 not answered" in out
    assert await alafia(now, "register", "indigence") == 0
    assert "0 exemptions recorded, 1 already recorded" in capsys.readouterr().out

    peer.fail_next(503, path="/registry/sync/search")
    assert await alafia(now, "register", "indigence") == 1  # a cron job sees it
    assert "1 not answered" in capsys.readouterr().out

    assert await alafia(now, "register", "indigence", "--mutual", "NOPE") == 2
    monkeypatch.delenv("DCI_INDIGENT_SCORE_BELOW")
    monkeypatch.delenv("DCI_INDIGENT_SCORE_TYPE")
    assert await alafia(now, "register", "indigence") == 2
    assert "set DCI_INDIGENT_SCORE_BELOW" in capsys.readouterr().err


def test_the_worker_checks_new_households_with_dci_and_a_rule_only(
    settings: Settings, url: str
) -> None:
    from gateway.process import Gateway
    from gateway.register.capability import Register

    dci = {
        "REGISTER_ADAPTER": "dci",
        "DCI_BASE_URL": url,
        "DCI_CLIENT_ID": "alafia",
        "DCI_CLIENT_SECRET": "s3cret",
        "DCI_SENDER_ID": "alafia.gateway",
        "DCI_RECEIVER_ID": "social.registry",
        "DCI_PROGRAMME_ID": "AMU-BJ-MUTUELLES",
    }
    for environ, checked in (
        ({**dci, "DCI_INDIGENT_SCORE_BELOW": "20"}, True),
        (dci, False),
        ({}, False),
    ):
        register = Settings.from_env(environ).register
        built = Gateway(dataclasses.replace(settings, register=register))
        assert (built.get(Register).sync.indigence is not None) is checked
