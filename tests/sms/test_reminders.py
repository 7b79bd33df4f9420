"""Reminders and notices of changing cover: queued on the right day, once per
household, kind and period, whatever the number of sweeps, workers or restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from db.engine import create_engine_async, session_factory
from gateway.enrolment.service import EnrolmentService
from gateway.payments.ledger import Billing
from gateway.settings import Settings
from gateway.sms.outbox import Outbox
from gateway.sms.overview import household_schedule
from gateway.sms.reminders import Reminders
from gateway.sms.schedule import after_windows, before_windows
from menus.text import load_catalogues
from tests.conftest import TODAY
from tests.support.clock import Now
from tests.support.households import enrol_household

ZONE = ZoneInfo("Africa/Porto-Novo")
PHONE = "+2290197000701"


@pytest.fixture
async def sessions(
    settings: Settings, clean: None
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine_async(settings.database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def now() -> Now:
    return Now(hour=10)


def reminders_for(sessions: async_sessionmaker[AsyncSession], now: Now) -> Reminders:
    """A worker's reminder job as the runtime builds it; a new one is a restart."""
    return Reminders(
        sessions,
        Outbox.standard(),
        now,
        premium_due_days=(3, 14),
        cover_ending_days=(30, 7),
        every_seconds=300,
    )


def reminders(db: Session) -> list[tuple[str, str, str]]:
    db.expire_all()
    rows = db.execute(
        text(
            "SELECT template, dedupe_key, text FROM messages WHERE purpose = 'reminder' ORDER BY id"
        )
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def stored_status(db: Session) -> str:
    db.expire_all()
    return str(db.execute(text("SELECT status FROM coverage_periods")).scalar_one())


async def pay_in_full(sessions: async_sessionmaker[AsyncSession], now: Now, member_no: str) -> None:
    await Billing(sessions, "Africa/Porto-Novo", now).record_cash(member_no, 4725, "Rose Assogba")


def test_windows_hand_over_from_one_reminder_to_the_next() -> None:
    assert [(w.offset, w.first, w.last) for w in after_windows([14, 3])] == [
        (3, 3, 13),
        (14, 14, 21),
    ]
    assert [(w.offset, w.first, w.last) for w in before_windows([7, 30])] == [
        (30, -30, -8),
        (7, -7, 0),
    ]


async def test_premium_due_reminders_go_once_each_on_their_day(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    member_no = await enrol_household(enrolment)
    job = reminders_for(sessions, now)
    now.day(TODAY + timedelta(days=2))
    assert await job.sweep(now()) == 0
    now.day(TODAY + timedelta(days=3))
    assert await job.sweep(now()) == 1
    assert await job.sweep(now()) == 0  # the same day again
    assert await reminders_for(sessions, now).sweep(now()) == 0  # after a restart
    now.day(TODAY + timedelta(days=14))
    assert await job.sweep(now()) == 1
    now.day(TODAY + timedelta(days=40))
    assert await job.sweep(now()) == 0
    sent = reminders(db)
    assert [key for _, key, _ in sent] == [
        f"premium_due:3:{key_id(db)}",
        f"premium_due:14:{key_id(db)}",
    ]
    due = load_catalogues("gateway.sms", "templates")["fr"].money(4725)
    assert due in sent[0][2] and member_no in sent[0][2]


def key_id(db: Session) -> int:
    return int(db.execute(text("SELECT id FROM coverage_periods")).scalar_one())


async def test_a_sweep_that_runs_late_sends_only_the_reminder_still_due(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    await enrol_household(enrolment)
    now.day(TODAY + timedelta(days=15))  # the worker was down from day 2 to day 15
    assert await reminders_for(sessions, now).sweep(now()) == 1
    assert [key.split(":")[1] for _, key, _ in reminders(db)] == ["14"]


async def test_a_paid_household_gets_no_premium_reminder(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    member_no = await enrol_household(enrolment)
    await pay_in_full(sessions, now, member_no)
    now.day(TODAY + timedelta(days=3))
    assert await reminders_for(sessions, now).sweep(now()) == 0


async def test_the_life_of_a_cover_brings_each_notice_on_its_day(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    member_no = await enrol_household(enrolment)
    await pay_in_full(sessions, now, member_no)
    assert stored_status(db) == "waiting"
    job = reminders_for(sessions, now)
    covered_from = TODAY + timedelta(days=30)  # FAMILLE: 30 days of waiting
    covered_until = date(2027, 12, 22)  # twelve months
    grace_until = covered_until + timedelta(days=30)
    steps = [
        (covered_from - timedelta(days=1), "waiting", []),
        (covered_from, "active", ["cover_active"]),
        (covered_until - timedelta(days=31), "active", []),
        (covered_until - timedelta(days=30), "active", ["cover_ending"]),
        (covered_until - timedelta(days=7), "active", ["cover_ending"]),
        (covered_until, "active", []),
        (covered_until + timedelta(days=1), "grace", ["grace_started"]),
        (grace_until, "grace", []),
        (grace_until + timedelta(days=1), "lapsed", ["lapsed"]),
        (grace_until + timedelta(days=90), "lapsed", []),
    ]
    seen = 0
    for day, status, templates in steps:
        now.day(day)
        await job.sweep(now())
        new = reminders(db)[seen:]
        seen += len(new)
        assert (day, stored_status(db), [t for t, _, _ in new]) == (day, status, templates)
    texts = {t: words for t, _, words in reminders(db)}
    assert member_no in texts["cover_active"] and "22/12/2027" in texts["cover_active"]
    assert "21/01/2028" in texts["grace_started"]


async def test_a_cover_that_lapsed_while_nobody_swept_gets_one_notice(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    member_no = await enrol_household(enrolment)
    await pay_in_full(sessions, now, member_no)
    now.day(TODAY + timedelta(days=800))
    await reminders_for(sessions, now).sweep(now())
    assert stored_status(db) == "lapsed"
    assert [t for t, _, _ in reminders(db)] == ["lapsed"]


async def test_two_workers_sweeping_at_once_queue_each_reminder_once(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    for i in range(12):
        await enrol_household(enrolment, f"+22901970010{i:02d}")
    now.day(TODAY + timedelta(days=3))
    first, second = reminders_for(sessions, now), reminders_for(sessions, now)
    counts = await asyncio.gather(first.sweep(now()), second.sweep(now()))
    assert sum(counts) == 12
    keys = [key for _, key, _ in reminders(db)]
    assert len(keys) == len(set(keys)) == 12


async def test_numbers_that_said_stop_get_no_reminder_but_their_cover_moves_on(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    member_no = await enrol_household(enrolment)
    await pay_in_full(sessions, now, member_no)
    db.execute(
        text("INSERT INTO sms_opt_outs (phone, source, opted_out_at) VALUES (:p, 'keyword', :t)"),
        {"p": PHONE, "t": now()},
    )
    db.commit()
    now.day(TODAY + timedelta(days=30))
    await reminders_for(sessions, now).sweep(now())
    assert stored_status(db) == "active"
    assert reminders(db) == []


async def test_reminders_found_at_night_wait_for_the_morning(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    await enrol_household(enrolment)
    now.day(TODAY + timedelta(days=3), hour=23)
    await reminders_for(sessions, now).sweep(now())
    db.expire_all()
    not_before = db.execute(
        text("SELECT not_before FROM messages WHERE purpose = 'reminder'")
    ).scalar_one()
    if isinstance(not_before, str):  # raw SQL on SQLite
        not_before = datetime.fromisoformat(not_before)
    local = not_before.astimezone(ZONE) if not_before.tzinfo else not_before
    assert (local.date(), local.time()) == (TODAY + timedelta(days=4), time(7, 0))


async def test_a_household_that_renewed_is_not_told_its_cover_ends(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    member_no = await enrol_household(enrolment)
    await pay_in_full(sessions, now, member_no)
    db.execute(
        text(
            "INSERT INTO coverage_periods (household_id, product_id, starts_on, persons,"
            " premium_due, amount_paid, sponsor_share, sponsor_paid, waits_for_sponsor,"
            " waiting_days, cover_months, grace_days, status)"
            " SELECT household_id, product_id, :renewal, persons, premium_due, 0, 0, 0,"
            " waits_for_sponsor, waiting_days, cover_months, grace_days, 'pending_payment'"
            " FROM coverage_periods"
        ),
        {"renewal": date(2027, 11, 1)},
    )
    db.commit()
    now.day(date(2027, 11, 22))  # 30 days before the first period ends
    await reminders_for(sessions, now).sweep(now())
    assert "cover_ending" not in [t for t, _, _ in reminders(db)]


async def test_a_yearly_campaign_opening_is_announced_to_the_households_on_it(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    # SCOLAIRE: enrolment from 1 September to 31 December, in the Parakou zone.
    await enrol_household(enrolment, persons=1, product="SCOLAIRE")
    await enrol_household(enrolment, "+2290197000702", persons=1)  # FAMILLE: no campaign
    job = reminders_for(sessions, now)
    now.day(date(2027, 8, 31))
    assert await job.sweep(now()) == 0
    now.day(date(2027, 9, 2))
    assert await job.sweep(now()) == 1
    assert await job.sweep(now()) == 0
    (_, key, words), *_ = [r for r in reminders(db) if r[0] == "campaign_open"]
    assert key.split(":")[2] == "2027-09-01"
    assert "Scolaire" in words and "31/12/2027" in words


async def test_the_schedule_of_a_household_shows_what_went_and_what_is_planned(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    member_no = await enrol_household(enrolment)
    job = reminders_for(sessions, now)
    now.day(TODAY + timedelta(days=3))
    await job.sweep(now())
    plan = await household_schedule(sessions, job, member_no, now().date())
    assert plan == [
        {"day": "2026-11-26", "kind": "premium_due +3d", "state": "queued"},
        {"day": "2026-12-07", "kind": "premium_due +14d", "state": "planned"},
    ]
    assert await household_schedule(sessions, job, "100000000", now().date()) is None


async def test_a_page_of_numbers_that_said_stop_does_not_stop_the_sweep(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("gateway.sms.reminders.CHUNK", 2)  # pages of two periods
    phones = [f"+22901970020{i:02d}" for i in range(5)]
    for phone in phones:
        member_no = await enrol_household(enrolment, phone)
        await pay_in_full(sessions, now, member_no)
    for phone in phones[:4]:  # two whole pages of numbers that said STOP
        db.execute(
            text(
                "INSERT INTO sms_opt_outs (phone, source, opted_out_at) VALUES (:p, 'keyword', :t)"
            ),
            {"p": phone, "t": now()},
        )
    db.commit()
    now.day(TODAY + timedelta(days=30))

    queued = await asyncio.wait_for(reminders_for(sessions, now).sweep(now()), timeout=30)

    assert queued == 1  # the fifth household's notice; the sweep went past the others
    db.expire_all()
    statuses = db.execute(text("SELECT DISTINCT status FROM coverage_periods")).scalars().all()
    assert statuses == ["active"]


async def test_the_worker_sweeps_once_a_day(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    await enrol_household(enrolment)
    job = Reminders(
        sessions,
        Outbox.standard(),
        now,
        premium_due_days=(3, 14),
        cover_ending_days=(30, 7),
        every_seconds=0,
    )
    now.day(TODAY + timedelta(days=3))
    assert await job.work() == 1
    db.execute(text("DELETE FROM messages WHERE purpose = 'reminder'"))
    db.commit()
    assert await job.work() == 0  # swept today already: not again until tomorrow
    now.day(TODAY + timedelta(days=4))
    assert await job.work() == 1  # a new day: the reminder still due is found again
