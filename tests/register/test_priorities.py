"""Register events by priority: a backlog of backfill events (everything sent again once
a real register is configured, an imported file) never holds up the day's enrolments and
payments, and still reaches the register, in order per household."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from adapters.register import EventKind
from db.engine import (
    create_engine_async,
    create_engine_sync,
    session_factory,
    sync_session_factory,
    writing,
)
from db.values import EventPriority
from gateway.enrolment.service import EnrolmentService
from gateway.payments.ledger import Billing
from gateway.register.local import LocalRegister
from gateway.register.outgoing import register_event
from gateway.register.sync import RegisterQueue, RegisterSync
from gateway.settings import Settings
from tests.support.clock import Now
from tests.support.households import enrol_household
from tests.support.register_outbox import Recording

PREMIUM = 4725  # FAMILLE, three persons


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


def pending(db: Session) -> list[tuple[int, str, int]]:
    """(household, kind, priority) of the events still to push, in the order they happened."""
    db.expire_all()
    rows = db.execute(
        text(
            "SELECT household_id, kind, priority FROM register_events"
            " WHERE status = 'pending' ORDER BY id"
        )
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def household_of(db: Session, member_no: str) -> int:
    return int(
        db.execute(
            text("SELECT household_id FROM members WHERE member_no = :m"), {"m": member_no}
        ).scalar_one()
    )


async def test_a_new_enrolment_and_its_payment_go_ahead_of_a_backfill(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    # Twelve households known while the gateway was its own register: their events were
    # skipped, and are all sent again once a real register is configured: a backfill.
    # An imported file adds more of them.
    old = [await enrol_household(enrolment, f"+22901970{i:05d}") for i in range(12)]
    local = LocalRegister(sessions)
    sync = RegisterSync(sessions, local, now, max_attempts=5, concurrency=1)
    while await sync.work():
        pass
    assert await RegisterQueue(sessions, now).retry(statuses=("skipped",)) == 12
    async with writing(sessions) as session:
        for head in old[:3]:
            session.add(
                register_event(
                    EventKind.HOUSEHOLD_UPDATED, household_of(db, head), now(), backfill=True
                )
            )
    backlog = pending(db)
    assert len(backlog) == 15
    assert {priority for _, _, priority in backlog} == {EventPriority.BACKFILL}

    # A family enrols and pays at the desk today, after the backlog was queued.
    head = await enrol_household(enrolment, "+2290197099999")
    await Billing(sessions, "Africa/Porto-Novo", now).record_cash(head, PREMIUM, "Rose Assogba")
    new = household_of(db, head)
    assert [(h, k) for h, k, _ in pending(db) if h == new] == [
        (new, "household_enrolled"),
        (new, "payment_recorded"),
    ]

    # One event a round: the new family's two go first, in their own order.
    recording = Recording(local)
    sync = RegisterSync(sessions, recording, now, max_attempts=5, concurrency=1)
    for _ in range(2):
        assert await sync.work() == 1
    assert [(p.household, p.kind) for p in recording.pushes] == [
        (recording.pushes[0].household, kind) for kind in ("household_enrolled", "payment_recorded")
    ]
    assert [h for h, _, _ in pending(db)] == [h for h, _, _ in backlog]

    # Then the backlog, each household's events in the order they happened.
    while await sync.work():
        pass
    assert pending(db) == []
    sent = [p.kind for p in recording.pushes[2:]]
    assert sorted(sent) == sorted(kind for _, kind, _ in backlog)
    for household in {h for h, _, _ in backlog}:
        own = [k for h, k, _ in backlog if h == household]
        assert own == ["household_enrolled", "household_updated"][: len(own)]
