"""Renewal: the next cover year of a paid household, its members brought up to date,
once per request, under the household's lock, with what it overpaid carried in."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from adapters.register import EventKind
from db import models
from db.engine import create_engine_async, create_engine_sync, session_factory
from db.engine import sync_session_factory as sync_sessions
from gateway.agents.desk import AgentDesk
from gateway.enrolment.entitlements import RightsService
from gateway.enrolment.renewal import DUE_LISTED, RenewalService
from gateway.enrolment.service import EnrolmentService
from gateway.payments.ledger import Billing, PaymentRefused
from gateway.payments.sponsors import open_rights_if_paid
from gateway.register.capability import Register
from gateway.register.records import build_event
from gateway.settings import Settings
from gateway.sms.outbox import Outbox
from menus.effects import (
    MemberRemoval,
    PersonDraft,
    RenewalChanges,
    RenewalOffer,
    RenewHousehold,
)
from menus.values import Channel, CoverageStatus
from tests.conftest import TODAY
from tests.support.agents import add_agent
from tests.support.clock import ZONE
from tests.support.gateway import part
from tests.support.households import enrol_household


class Now:
    """The services' clock, moved a year on to renew."""

    def __init__(self) -> None:
        self.day = TODAY

    def __call__(self) -> datetime:
        return datetime.combine(self.day, time(10, 0), ZONE)


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
def renewal(database_url: str, clean: None, now: Now) -> Iterator[RenewalService]:
    engine = create_engine_sync(database_url)
    yield RenewalService(sync_sessions(engine), Outbox.standard(), now)
    engine.dispose()


@pytest.fixture
async def sessions(
    settings: Settings, clean: None
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine_async(settings.database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def billing(sessions: async_sessionmaker[AsyncSession], now: Now) -> Billing:
    return Billing(sessions, "Africa/Porto-Novo", now)


async def paid_household(
    enrolment: EnrolmentService, billing: Billing, db: Session, phone: str = "+2290197000701"
) -> tuple[str, models.CoveragePeriod]:
    """A household of three adults, its first year paid in cash today."""
    head = await enrol_household(enrolment, phone, persons=3)
    period = first_period(db, head)
    await billing.record_cash(head, period.premium_due - period.amount_paid, "Rose Assogba")
    db.expire_all()
    return head, first_period(db, head)


def first_period(db: Session, member_no: str) -> models.CoveragePeriod:
    household_id = db.scalar(
        select(models.Member.household_id).where(models.Member.member_no == member_no)
    )
    period = db.scalar(
        select(models.CoveragePeriod)
        .where(models.CoveragePeriod.household_id == household_id)
        .order_by(models.CoveragePeriod.starts_on)
        .limit(1)
    )
    assert period is not None
    return period


def in_window(period: models.CoveragePeriod) -> date:
    assert period.covered_until is not None
    return period.covered_until - timedelta(days=10)


def members(db: Session, member_no: str) -> list[models.Member]:
    household_id = db.scalar(
        select(models.Member.household_id).where(models.Member.member_no == member_no)
    )
    return list(
        db.scalars(
            select(models.Member)
            .where(models.Member.household_id == household_id)
            .order_by(models.Member.id)
        )
    )


def count(db: Session, query: str) -> int:
    return int(db.execute(text(query)).scalar_one())


def newborn(day: date) -> PersonDraft:
    born = (day - timedelta(days=20)).isoformat()
    return PersonDraft("ASSOGBA", "Bebe", "M", born, False, "child")


async def test_before_the_window_the_offer_says_when_it_opens(
    renewal: RenewalService, enrolment: EnrolmentService, billing: Billing, db: Session, now: Now
) -> None:
    head, period = await paid_household(enrolment, billing, db)
    offer = await renewal.offer(RenewalOffer(head), TODAY + timedelta(days=40))
    assert offer["outcome"] == "not_yet"
    assert offer["opens_on"] is not None
    assert date.fromisoformat(offer["opens_on"]) > TODAY + timedelta(days=40)
    assert period.covered_until is not None
    assert date.fromisoformat(offer["opens_on"]) < period.covered_until
    refused = await renewal.renew(RenewHousehold(head, RenewalChanges()), "k1", TODAY)
    assert refused["outcome"] == "not_yet"
    assert count(db, "SELECT COUNT(*) FROM coverage_periods") == 1


async def test_a_household_renews_dropping_one_member_and_adding_a_newborn(
    renewal: RenewalService, enrolment: EnrolmentService, billing: Billing, db: Session, now: Now
) -> None:
    head, period = await paid_household(enrolment, billing, db)
    day = now.day = in_window(period)
    leaving = members(db, head)[2].member_no
    assert leaving is not None
    changes = RenewalChanges(removed=(MemberRemoval(leaving, "left"),), added=(newborn(day),))

    offer = await renewal.offer(RenewalOffer(head, changes), day)
    assert offer["outcome"] == "open"
    assert offer["persons"] == 3
    assert [m["member_no"] for m in offer["members"]][-1] == ""  # the newborn, not yet a member
    assert offer["premium"] == offer["household_share"] + offer["sponsors"]
    assert count(db, "SELECT COUNT(*) FROM members WHERE left_on IS NOT NULL") == 0  # read only

    renewed = await renewal.renew(RenewHousehold(head, changes), "ussd:s1:renew", day)
    assert renewed == {
        "outcome": "renewed",
        "member_no": head,
        "amount_due": offer["amount_due"],
        "lapsed": False,
        "opens_on": None,
    }
    db.expire_all()
    left = [m for m in members(db, head) if m.left_on is not None]
    assert [(m.member_no, m.left_on, m.left_reason) for m in left] == [(leaving, day, "left")]
    assert len(members(db, head)) == 4  # the row of who left is kept
    year = db.scalar(
        select(models.CoveragePeriod).where(models.CoveragePeriod.renewal_of_id == period.id)
    )
    assert year is not None
    assert (year.request_key, year.channel, year.persons) == ("ussd:s1:renew", "ussd", 3)
    assert year.waiting_days == 0  # on time: no new waiting period
    lines = db.scalars(
        select(models.CoverLine.member_id).where(models.CoverLine.period_id == year.id)
    )
    assert len(list(lines)) == 3
    kinds = db.scalars(
        select(models.RegisterEvent.kind).where(models.RegisterEvent.occurred_at >= now())
    ).all()
    assert sorted(kinds) == [EventKind.HOUSEHOLD_UPDATED, EventKind.MEMBER_ADDED]


async def test_renewing_twice_opens_one_year_and_answers_the_same(
    renewal: RenewalService, enrolment: EnrolmentService, billing: Billing, db: Session, now: Now
) -> None:
    head, period = await paid_household(enrolment, billing, db)
    day = now.day = in_window(period)
    request = RenewHousehold(head, RenewalChanges(added=(newborn(day),)))
    first = await renewal.renew(request, "ussd:a:renew", day)
    again = await renewal.renew(request, "ussd:a:renew", day)  # the same hop, resent
    other = await renewal.renew(request, "ussd:b:renew", day)  # another session, same day
    assert first["outcome"] == "renewed"
    assert again == first
    assert other == first
    assert count(db, "SELECT COUNT(*) FROM coverage_periods") == 2
    assert count(db, "SELECT COUNT(*) FROM members") == 4  # one newborn, not three
    offer = await renewal.offer(RenewalOffer(head), day)
    assert offer["outcome"] == "renewed"


async def test_the_head_leaving_needs_a_new_head(
    renewal: RenewalService, enrolment: EnrolmentService, billing: Billing, db: Session, now: Now
) -> None:
    head, period = await paid_household(enrolment, billing, db)
    day = now.day = in_window(period)
    spouse = members(db, head)[1].member_no
    assert spouse is not None
    died = (MemberRemoval(head, "died"),)
    refused = await renewal.renew(RenewHousehold(head, RenewalChanges(removed=died)), "k1", day)
    assert refused["outcome"] == "head_needed"
    assert count(db, "SELECT COUNT(*) FROM coverage_periods") == 1
    assert count(db, "SELECT COUNT(*) FROM members WHERE left_on IS NOT NULL") == 0

    changes = RenewalChanges(removed=died, new_head=spouse)
    renewed = await renewal.renew(RenewHousehold(head, changes), "k2", day)
    assert renewed["outcome"] == "renewed"
    assert renewed["member_no"] == spouse  # payments go on the new head's number
    db.expire_all()
    by_no = {m.member_no: m for m in members(db, head)}
    assert (by_no[head].left_reason, by_no[head].relationship_to_head) == ("died", "other")
    assert by_no[spouse].relationship_to_head == "head"


async def test_after_a_lapse_a_renewal_has_a_new_waiting_period(
    renewal: RenewalService, enrolment: EnrolmentService, billing: Billing, db: Session, now: Now
) -> None:
    head, period = await paid_household(enrolment, billing, db)
    assert period.grace_until is not None
    day = now.day = period.grace_until + timedelta(days=40)
    offer = await renewal.offer(RenewalOffer(head), day)
    assert offer["outcome"] == "lapsed"
    renewed = await renewal.renew(RenewHousehold(head, RenewalChanges()), "k1", day)
    assert renewed["outcome"] == "renewed"
    assert renewed["lapsed"] is True
    db.expire_all()
    year = db.scalar(
        select(models.CoveragePeriod).where(models.CoveragePeriod.renewal_of_id == period.id)
    )
    assert year is not None and year.waiting_days > 0


async def test_an_agent_renews_only_in_their_mutual_and_is_audited(
    renewal: RenewalService,
    enrolment: EnrolmentService,
    billing: Billing,
    db: Session,
    now: Now,
    app: Starlette,
) -> None:
    head, period = await paid_household(enrolment, billing, db)
    day = now.day = in_window(period)
    stranger = await add_agent(app, "+2290197000811", "Bio Sika", "MS-KANDI")
    agent = await add_agent(app, "+2290197000812", "Bio Sika", "MS-PARAKOU")
    request = RenewHousehold(head, RenewalChanges(), Channel.AGENT, agent_id=stranger)
    assert (await renewal.renew(request, "k1", day))["outcome"] == "other_mutual"
    assert (await renewal.offer(RenewalOffer(head, agent_id=stranger), day))[
        "outcome"
    ] == "other_mutual"
    assert count(db, "SELECT COUNT(*) FROM coverage_periods") == 1

    by_phone = await renewal.offer(RenewalOffer("", agent_id=agent, phone="+2290197000701"), day)
    assert (by_phone["outcome"], by_phone["member_no"]) == ("open", head)
    request = RenewHousehold(head, RenewalChanges(), Channel.AGENT, agent_id=agent)
    assert (await renewal.renew(request, "k2", day))["outcome"] == "renewed"
    assert count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'household_renewed'") == 1
    assert count(db, "SELECT COUNT(*) FROM coverage_periods WHERE channel = 'agent'") == 1

    due = await renewal.households_due(agent, day)
    assert due == {"outcome": "listed", "households": []}  # renewed: no longer due


async def test_the_agents_list_holds_the_households_due(
    renewal: RenewalService,
    enrolment: EnrolmentService,
    billing: Billing,
    db: Session,
    now: Now,
    app: Starlette,
) -> None:
    head, period = await paid_household(enrolment, billing, db)
    await enrol_household(enrolment, "+2290197000702", persons=1)  # never paid: not due
    other = await enrol_household(enrolment, "+2290197000703", persons=1, mutual="MS-KANDI")
    kandi = first_period(db, other)
    await billing.record_cash(other, kandi.premium_due, "Awa")
    agent = await add_agent(app, "+2290197000812", "Bio Sika", "MS-PARAKOU")
    assert (await renewal.households_due(agent, TODAY))["households"] == []
    due = await renewal.households_due(agent, in_window(period))
    assert period.covered_until is not None
    assert due["households"] == [
        {
            "member_no": head,
            "name": "ASSOGBA R.",
            "phone": "+2290197000701",
            "ends_on": period.covered_until.isoformat(),
        }
    ]


async def test_the_agents_list_puts_open_windows_first_and_leaves_old_lapses_out(
    renewal: RenewalService,
    enrolment: EnrolmentService,
    billing: Billing,
    db: Session,
    app: Starlette,
) -> None:
    """Review 13 #7: ordered by the end alone and unbounded, households that lapsed in
    earlier years filled the 30 rows and those whose window had just opened never
    showed. Now: open windows first (nearest end first), then lapses of the last year
    (latest first); older lapses are not listed."""
    agent = await add_agent(app, "+2290197000812", "Bio Sika", "MS-PARAKOU")
    heads: list[str] = []
    for n in range(DUE_LISTED + 3):
        head = await enrol_household(enrolment, f"+22901970007{n:02d}", persons=1)
        await billing.record_cash(head, first_period(db, head).premium_due, "Awa")
        heads.append(head)
    day = TODAY + timedelta(days=500)

    def ends(head: str, covered_until: date) -> None:
        db.execute(
            update(models.CoveragePeriod)
            .where(models.CoveragePeriod.id == first_period(db, head).id)
            .values(covered_until=covered_until, grace_until=covered_until + timedelta(days=30))
        )

    soon, sooner, lapsed, *old = heads
    ends(soon, day + timedelta(days=20))  # window open
    ends(sooner, day - timedelta(days=5))  # in grace: window still open
    ends(lapsed, day - timedelta(days=100))  # lapsed 70 days ago
    for n, head in enumerate(old):  # lapsed more than a year ago, the oldest ends first
        ends(head, day - timedelta(days=400 + n))
    db.commit()

    listed = (await renewal.households_due(agent, day))["households"]

    assert [row["member_no"] for row in listed] == [sooner, soon, lapsed]


async def test_an_overpayment_is_carried_and_what_does_not_fit_stays_for_refund(
    renewal: RenewalService, enrolment: EnrolmentService, billing: Billing, db: Session, now: Now
) -> None:
    head, period = await paid_household(enrolment, billing, db)
    small, large = overpaid(db, period, 500), overpaid(db, period, 1_000_000)
    review = [item["reference"] for item in await billing.for_review() if item["refund_due"]]
    assert sorted(review) == sorted([small, large])
    day = now.day = in_window(period)
    offer = await renewal.offer(RenewalOffer(head), day)
    assert offer["carried"] == 500
    assert offer["amount_due"] == offer["household_share"] - 500
    renewed = await renewal.renew(RenewHousehold(head, RenewalChanges()), "k1", day)
    assert renewed["amount_due"] == offer["household_share"] - 500
    db.expire_all()
    year = db.scalar(
        select(models.CoveragePeriod).where(models.CoveragePeriod.renewal_of_id == period.id)
    )
    assert year is not None and year.carried_in == 500
    carried = db.get(models.Payment, small)
    assert carried is not None and carried.refund_note == f"carried to CP-{year.id}"
    review = [item["reference"] for item in await billing.for_review() if item["refund_due"]]
    assert review == [large]  # more than next year's share: still to give back


def overpaid(db: Session, period: models.CoveragePeriod, refund: int) -> str:
    """A payment of the first year that brought `refund` more than it needed."""
    reference = str(uuid.uuid4())
    db.add(
        models.Payment(
            reference=reference,
            household_id=period.household_id,
            period_id=period.id,
            provider="momo",
            amount=refund,
            currency="XOF",
            status="needs_review",
            reason="overpaid",
            channel="ussd",
            refund_due=refund,
            created_at=datetime.combine(TODAY, time(11, 0), ZONE),
            settled_at=datetime.combine(TODAY, time(11, 0), ZONE),
        )
    )
    db.commit()
    return reference


async def test_the_register_is_told_of_a_renewal(
    renewal: RenewalService,
    enrolment: EnrolmentService,
    billing: Billing,
    db: Session,
    now: Now,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    head, period = await paid_household(enrolment, billing, db)
    day = now.day = in_window(period)
    await renewal.renew(RenewHousehold(head, RenewalChanges()), "k1", day)
    db.expire_all()
    year = db.scalar(
        select(models.CoveragePeriod).where(models.CoveragePeriod.renewal_of_id == period.id)
    )
    assert year is not None
    await billing.record_cash(head, year.premium_due - year.amount_paid, "Rose")
    db.expire_all()
    rows = db.scalars(
        select(models.RegisterEvent).where(models.RegisterEvent.kind == EventKind.PAYMENT_RECORDED)
    ).all()
    async with sessions() as session:
        told = [await build_event(session, row, {}, now()) for row in rows]
    renewals = {e.coverage.reference: e.coverage.renewal for e in told if e.coverage}
    assert renewals == {f"CP-{period.id}": False, f"CP-{year.id}": True}


@pytest.mark.parametrize("attempt", range(3))
async def test_two_renewals_at_once_open_one_year(
    attempt: int,
    enrolment: EnrolmentService,
    billing: Billing,
    db: Session,
    now: Now,
    database_url: str,
    clean: None,
) -> None:
    """Two processes (engines of their own), two sessions of one household, at once."""
    head, period = await paid_household(enrolment, billing, db)
    day = now.day = in_window(period)
    engines = [create_engine_sync(database_url) for _ in range(2)]
    try:
        services = [RenewalService(sync_sessions(e), Outbox.standard(), now) for e in engines]
        changes = RenewalChanges(added=(newborn(day),))
        answers = await asyncio.gather(
            *(
                service.renew(RenewHousehold(head, changes), f"ussd:{n}:renew", day)
                for n, service in enumerate(services)
            )
        )
    finally:
        for engine in engines:
            engine.dispose()
    assert [a["outcome"] for a in answers] == ["renewed", "renewed"]
    assert answers[0] == answers[1]
    assert count(db, "SELECT COUNT(*) FROM coverage_periods") == 2
    assert count(db, "SELECT COUNT(*) FROM members") == 4


async def test_the_year_in_force_stays_until_the_renewal_begins_and_the_receipt_gives_the_new_dates(
    renewal: RenewalService,
    enrolment: EnrolmentService,
    billing: Billing,
    db: Session,
    now: Now,
    sessions: async_sessionmaker[AsyncSession],
    app: Starlette,
) -> None:
    """Renewed on time, a household is covered by the year it paid until its end (the
    rights screen and a facility say so), pays next year before it begins, and its
    receipt gives next year's dates."""
    head, period = await paid_household(enrolment, billing, db)
    assert period.covered_until is not None
    day = now.day = in_window(period)
    await renewal.renew(RenewHousehold(head, RenewalChanges()), "k1", day)
    checked = await part(app, Register).eligibility.answer(head, day)
    assert (checked.outcome, checked.period_end) == ("covered", period.covered_until)
    rights = await RightsService(sessions).household_rights("+2290197000701", day)
    assert rights["coverage"] is not None
    assert (rights["coverage"]["status"], rights["coverage"]["end"]) == (
        "active",
        period.covered_until.isoformat(),
    )
    upcoming = rights.get("next")
    assert upcoming is not None and upcoming["status"] == "pending_payment"
    db.expire_all()
    year = db.scalar(
        select(models.CoveragePeriod).where(models.CoveragePeriod.renewal_of_id == period.id)
    )
    assert year is not None
    await billing.record_cash(head, year.premium_due, "Rose")
    db.expire_all()
    assert db.get(models.CoveragePeriod, year.id).amount_paid == year.premium_due  # type: ignore[union-attr]
    receipt = db.scalar(
        select(models.Message.params)
        .where(models.Message.template == "receipt_paid")
        .order_by(models.Message.id.desc())
        .limit(1)
    )
    starts = period.covered_until + timedelta(days=1)
    assert receipt is not None
    assert receipt["covered_from"] == starts.isoformat()
    assert date.fromisoformat(receipt["covered_until"]) > starts + timedelta(days=360)
    rights = await RightsService(sessions).household_rights("+2290197000701", day)
    upcoming = rights.get("next")
    assert upcoming is not None and upcoming["start"] == starts.isoformat()  # paid ahead
    rights = await RightsService(sessions).household_rights("+2290197000701", starts)
    assert rights["coverage"] is not None
    assert rights["coverage"]["status"] == "active"
    assert rights["coverage"]["start"] == starts.isoformat()


async def test_a_database_failing_mid_renewal_leaves_nothing_half_written(
    enrolment: EnrolmentService,
    billing: Billing,
    db: Session,
    now: Now,
    database_url: str,
    app: Starlette,
    clean: None,
) -> None:
    """The last write of a renewal (its audit entry) fails: the members who left, the
    newborn, the year, its lines and events are all undone; asked again, it is made."""
    head, period = await paid_household(enrolment, billing, db)
    day = now.day = in_window(period)
    agent = await add_agent(app, "+2290197000812", "Bio Sika", "MS-PARAKOU")
    leaving = members(db, head)[2].member_no
    assert leaving is not None
    changes = RenewalChanges(removed=(MemberRemoval(leaving, "died"),), added=(newborn(day),))
    request = RenewHousehold(head, changes, Channel.AGENT, agent_id=agent)
    engine = create_engine_sync(database_url)
    service = RenewalService(sync_sessions(engine), Outbox.standard(), now)

    def fail_the_audit(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("INSERT INTO audit_log"):
            raise OperationalError(statement, {}, Exception("disk I/O error"))

    before = {table: count(db, f"SELECT COUNT(*) FROM {table}") for table in WRITTEN}
    event.listen(engine, "before_cursor_execute", fail_the_audit)
    try:
        with pytest.raises(OperationalError):
            await service.renew(request, "k1", day)
    finally:
        event.remove(engine, "before_cursor_execute", fail_the_audit)
    assert {table: count(db, f"SELECT COUNT(*) FROM {table}") for table in WRITTEN} == before
    assert count(db, "SELECT COUNT(*) FROM members WHERE left_on IS NOT NULL") == 0
    assert (await service.renew(request, "k1", day))["outcome"] == "renewed"
    engine.dispose()
    assert count(db, "SELECT COUNT(*) FROM coverage_periods") == 2
    assert count(db, "SELECT COUNT(*) FROM members WHERE left_reason = 'died'") == 1


WRITTEN = ("coverage_periods", "cover_lines", "members", "register_events", "messages", "audit_log")


# -- review 13: a renewal left unpaid expires (#1); arrears first (#4) ---------------


def renewal_of(db: Session, period: models.CoveragePeriod) -> models.CoveragePeriod:
    db.expire_all()
    found = db.scalar(
        select(models.CoveragePeriod).where(
            models.CoveragePeriod.renewal_of_id == period.id,
            models.CoveragePeriod.cancelled_on.is_(None),
        )
    )
    assert found is not None
    return found


def test_a_renewal_whose_rights_open_after_the_old_grace_gets_the_waiting_period() -> None:
    starts = TODAY + timedelta(days=10)
    year = models.CoveragePeriod(
        renewal_of_id=1,
        premium_due=1000,
        amount_paid=1000,
        sponsor_share=0,
        sponsor_paid=0,
        waits_for_sponsor=False,
        waiting_days=0,
        cover_months=12,
        grace_days=30,
        cover_starts_on=starts,
        threshold_percent=100,
        carried_in=0,
    )
    late = starts + timedelta(days=30)  # the old grace ended the day before
    open_rights_if_paid(year, late, late, late_waiting_days=45)
    assert year.waiting_days == 45 and year.covered_from == late + timedelta(days=45)


def test_a_renewal_whose_rights_open_in_grace_has_no_waiting() -> None:
    starts = TODAY + timedelta(days=10)
    year = models.CoveragePeriod(
        renewal_of_id=1,
        premium_due=1000,
        amount_paid=1000,
        sponsor_share=0,
        sponsor_paid=0,
        waits_for_sponsor=False,
        waiting_days=0,
        cover_months=12,
        grace_days=30,
        cover_starts_on=starts,
        threshold_percent=100,
        carried_in=0,
    )
    in_grace = starts + timedelta(days=29)
    open_rights_if_paid(year, in_grace, in_grace, late_waiting_days=45)
    assert year.waiting_days == 0 and year.covered_from == in_grace


async def test_a_renewal_paid_in_time_has_no_waiting(
    renewal: RenewalService, enrolment: EnrolmentService, billing: Billing, db: Session, now: Now
) -> None:
    head, period = await paid_household(enrolment, billing, db)
    now.day = in_window(period)
    await renewal.renew(RenewHousehold(head, RenewalChanges()), "k1", now.day)
    year = renewal_of(db, period)
    assert period.grace_until is not None
    last = now.day = period.grace_until
    await billing.record_cash(head, year.premium_due, "Rose")
    db.expire_all()
    year = db.get(models.CoveragePeriod, year.id)
    assert year is not None
    assert year.waiting_days == 0 and year.covered_from == last


async def test_an_unpaid_rolling_renewal_expires_and_a_lapsed_one_replaces_it(
    renewal: RenewalService, enrolment: EnrolmentService, billing: Billing, db: Session, now: Now
) -> None:
    head, period = await paid_household(enrolment, billing, db)
    now.day = in_window(period)
    await renewal.renew(RenewHousehold(head, RenewalChanges()), "k1", now.day)
    stale = renewal_of(db, period)
    assert period.grace_until is not None
    late = now.day = period.grace_until + timedelta(days=300)
    with pytest.raises(PaymentRefused) as refused:
        await billing.record_cash(head, stale.premium_due, "Rose")
    assert refused.value.args[0] == "no_period"
    offer = await renewal.offer(RenewalOffer(head), late)
    assert offer["outcome"] == "lapsed"
    renewed = await renewal.renew(RenewHousehold(head, RenewalChanges()), "k2", late)
    assert renewed["outcome"] == "renewed" and renewed["lapsed"]
    db.expire_all()
    stale = db.get(models.CoveragePeriod, stale.id)
    assert stale is not None
    assert stale.cancelled_on == late and stale.status == CoverageStatus.CANCELLED
    fresh = renewal_of(db, period)
    assert fresh.id != stale.id and fresh.waiting_days > 0
    await billing.record_cash(head, fresh.premium_due, "Rose")
    db.expire_all()
    fresh = db.get(models.CoveragePeriod, fresh.id)
    assert fresh is not None and fresh.covered_from == late + timedelta(days=fresh.waiting_days)


async def test_no_payment_goes_to_a_scheme_year_that_is_over(
    renewal: RenewalService, enrolment: EnrolmentService, billing: Billing, db: Session, now: Now
) -> None:
    head = await enrol_household(enrolment, "+2290197000702", persons=1, product="SCOLAIRE")
    period = first_period(db, head)
    await billing.record_cash(head, period.premium_due, "Rose")
    db.expire_all()
    period = first_period(db, head)
    now.day = in_window(period)
    renewed = await renewal.renew(RenewHousehold(head, RenewalChanges()), "k1", now.day)
    assert renewed["outcome"] == "renewed"
    year = renewal_of(db, period)
    assert year.cover_ends_on is not None
    late = now.day = year.cover_ends_on + timedelta(days=40)
    with pytest.raises(PaymentRefused):
        await billing.record_cash(head, year.premium_due, "Rose")
    db.expire_all()
    year = db.get(models.CoveragePeriod, year.id)
    assert year is not None and year.amount_paid == 0
    offer = await renewal.offer(RenewalOffer(head), late)
    assert offer["outcome"] == "lapsed"


@pytest.fixture
def three_quarters(db: Session) -> Iterator[None]:
    family = update(models.Product).where(models.Product.code == "FAMILLE")
    db.execute(family.values(cover_threshold_percent=75))
    db.commit()
    yield
    db.rollback()
    db.execute(family.values(cover_threshold_percent=100))
    db.commit()


async def test_the_rest_of_the_current_year_is_collected_before_the_renewal(
    renewal: RenewalService,
    enrolment: EnrolmentService,
    billing: Billing,
    db: Session,
    now: Now,
    three_quarters: None,
) -> None:
    head = await enrol_household(enrolment, "+2290197000703", persons=3)
    period = first_period(db, head)
    opening = -(-period.premium_due * 75 // 100)
    await billing.record_cash(head, opening, "Rose")
    db.expire_all()
    period = first_period(db, head)
    rest = period.premium_due - period.amount_paid
    assert rest > 0 and period.covered_until is not None
    now.day = in_window(period)
    offer = await renewal.offer(RenewalOffer(head), now.day)
    renewed = await renewal.renew(RenewHousehold(head, RenewalChanges()), "k1", now.day)
    year = renewal_of(db, period)
    # The summary owes the rest of this year with the next one.
    assert offer["amount_due"] == year.premium_due + rest
    assert renewed["amount_due"] == year.premium_due + rest
    await billing.record_cash(head, rest, "Rose")
    db.expire_all()
    old = db.get(models.CoveragePeriod, period.id)
    year = db.get(models.CoveragePeriod, year.id)
    assert old is not None and year is not None
    assert old.amount_paid == old.premium_due and year.amount_paid == 0


async def test_a_member_added_after_the_renewal_is_priced_into_the_next_year(
    renewal: RenewalService,
    enrolment: EnrolmentService,
    billing: Billing,
    db: Session,
    now: Now,
    app: Starlette,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    head, period = await paid_household(enrolment, billing, db)
    day = now.day = in_window(period)
    await renewal.renew(RenewHousehold(head, RenewalChanges()), "k1", day)
    before = renewal_of(db, period)
    persons, premium = before.persons, before.premium_due
    agent = await add_agent(app, "+2290197000999", "Bio", "MS-PARAKOU", pin="4826")
    desk = AgentDesk(sessions, billing, Outbox.standard(), now)
    child = PersonDraft(
        "ASSOGBA", "Kid", "M", (day - timedelta(days=3650)).isoformat(), False, "child"
    )
    added = await desk.add_member(agent, head, child, day)
    assert added["outcome"] == "added"
    db.expire_all()
    old = db.get(models.CoveragePeriod, period.id)
    year = renewal_of(db, period)
    assert old is not None
    assert (old.premium_due, old.persons) == (period.premium_due, period.persons)
    assert year.persons == persons + 1 and year.premium_due > premium
    assert added["amount_due"] == year.premium_due
    kid = db.scalar(select(models.Member.id).where(models.Member.member_no == added["member_no"]))
    lines = db.scalars(select(models.CoverLine.period_id).where(models.CoverLine.member_id == kid))
    assert list(lines) == [year.id]
