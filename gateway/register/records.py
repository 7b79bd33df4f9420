"""A register event as the adapters take it, built from the household's state now."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.register import (
    BirthDate,
    CoverageRecord,
    EventKind,
    HouseholdRecord,
    MemberRecord,
    PaymentRecord,
    RegisterEvent,
    Sex,
)
from adapters.register.events import LeftMember
from db import models
from db.engine import as_aware
from db.values import LeftReason, PaymentStatus
from gateway.enrolment import coverage
from gateway.enrolment.entitlements import current_period, members_of, terms_of
from menus.values import Relationship

SEXES = {"M": Sex.MALE, "F": Sex.FEMALE}
NEEDS_PERIOD = frozenset(
    {EventKind.COVERAGE_ACTIVATED, EventKind.COVERAGE_LAPSED, EventKind.PAYMENT_RECORDED}
)


def household_reference(household_id: int) -> str:
    return f"HH-{household_id:09d}"


async def build_event(
    session: AsyncSession, row: models.RegisterEvent, known_ids: dict[str, str], now: datetime
) -> RegisterEvent:
    """The event as it stands at `now` (aware, in the scheme's zone)."""
    household = await session.get(models.Household, row.household_id)
    if household is None:
        raise LookupError(f"household {row.household_id} is gone")
    mutual = await session.get(models.SchemeUnit, household.mutual_id)
    members = await members_of(session, household.id)
    kind = EventKind(row.kind)
    period = None
    if kind in NEEDS_PERIOD and row.period_id is not None:
        period = await _coverage(session, row.period_id, now)
    elif kind not in NEEDS_PERIOD:
        # A household event carries the cover as it stands too: an enrolment pushed (or
        # sent again) after the cover opened must not tell a registry that keeps an
        # enrolment status (DCI) that the members are still waiting to pay.
        current = await current_period(session, household.id, now.date())
        if current is not None:
            period = await _coverage(session, current.id, now)
    left: tuple[LeftMember, ...] = ()
    if kind is EventKind.HOUSEHOLD_UPDATED:
        left = tuple(await _left(session, household.id))
    return RegisterEvent(
        event_id=row.event_id,
        kind=kind,
        household=HouseholdRecord(
            reference=household_reference(household.id),
            mutual_code=mutual.code if mutual else "",
            # Who is in the household now: those who left at a renewal are not.
            members=tuple(_member(m) for m in members if m.left_on is None),
            phone=household.phone,
            commune=household.commune,
            village=household.village,
            left=left,
        ),
        occurred_at=_local(row.occurred_at, now),
        coverage=period,
        member_no=row.member_no,
        payment_reference=row.payment_reference,
        known_ids=known_ids,
    )


def birth_date_of(member: models.Member) -> BirthDate:
    """At the precision the member gave it: many know only their year."""
    born = member.birth_date
    if member.birth_year_only:
        return BirthDate(born.year)
    return BirthDate(born.year, born.month, born.day)


def _member(member: models.Member) -> MemberRecord:
    return MemberRecord(
        member_no=member.member_no or "",
        family_name=member.last_name,
        given_names=member.first_names,
        sex=SEXES.get(member.sex, Sex.OTHER),
        birth_date=birth_date_of(member),
        relationship=Relationship(member.relationship_to_head)
        if member.relationship_to_head in Relationship.__members__.values()
        else Relationship.OTHER,
        national_id=member.national_id,
        phone=member.phone,
    )


async def _left(session: AsyncSession, household_id: int) -> list[LeftMember]:
    """The members dropped from the household, for registers that keep a status per person."""
    rows = await session.scalars(
        select(models.Member)
        .where(models.Member.household_id == household_id, models.Member.left_on.is_not(None))
        .order_by(models.Member.id)
    )
    return [
        LeftMember(_member(m), m.left_on, died=m.left_reason == LeftReason.DIED)
        for m in rows
        if m.left_on is not None
    ]


def _local(moment: datetime, now: datetime) -> datetime:
    """A stored time in the scheme's zone, so that its date is the scheme's day: PostgreSQL
    hands it back in the connection's zone (often UTC, an hour behind Benin), SQLite naive
    in the zone it was written in."""
    return as_aware(moment, now).astimezone(now.tzinfo)


async def _coverage(session: AsyncSession, period_id: int, now: datetime) -> CoverageRecord:
    today = now.date()
    period = await session.get(models.CoveragePeriod, period_id)
    if period is None:
        raise LookupError(f"coverage period {period_id} is gone")
    product = await session.get(models.Product, period.product_id)
    payments = (
        await session.scalars(
            select(models.Payment)
            .where(
                models.Payment.period_id == period.id,
                models.Payment.status == PaymentStatus.SUCCEEDED,
            )
            .order_by(models.Payment.settled_at, models.Payment.created_at)
        )
    ).all()
    terms = terms_of(period)
    # Before the premium is paid the register is told when cover would start if paid today.
    start = terms.covered_from or today + timedelta(days=period.waiting_days)
    end = terms.covered_until or coverage.add_months(start, period.cover_months) - timedelta(days=1)
    return CoverageRecord(
        reference=f"CP-{period.id}",
        product_code=product.code if product else "",
        status=coverage.status_on(terms, today),
        enrolled_on=period.starts_on,
        start=start,
        end=end,
        premium_due=period.premium_due,
        # A new cover year of a household already covered (`gateway.enrolment.renewal`).
        renewal=period.renewal_of_id is not None,
        payments=tuple(
            PaymentRecord(
                reference=p.reference,
                amount=p.amount - p.refund_due,  # what the period was credited
                paid_on=_local(p.settled_at or p.created_at, now).date(),
                provider=p.provider,
                currency=p.currency,
                provider_transaction_id=p.provider_transaction_id,
                payer_phone=p.payer_phone,
            )
            for p in payments
        ),
    )
