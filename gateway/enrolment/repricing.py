"""A cover year priced again for the persons now in it: a member added, or moved from one
household to another.

The rule is the enrolment's (`gateway.enrolment.pricing`): each person's price, ground and
sponsor, for the share of the year the period was opened for; what the household has paid
is kept. Rights already open stay open (what a newcomer adds is owed); a smaller premium
now covered by what was paid opens them. `gateway.agents.desk` adds a member through it
too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from db import models
from db.values import LateJoiners
from gateway.enrolment import coverage, pricing
from gateway.enrolment.entitlements import current_period, renewal_expired, terms_of
from gateway.enrolment.exemptions import exemptions_on
from gateway.payments.sponsors import open_rights_if_paid
from gateway.scheme.calendar import CoverYear, months_to_run
from menus.values import CoverageStatus

# A cover year still to come or running: its premium follows who is in the household. One
# that is over (grace, lapsed) or cancelled keeps the premium of the year it covered.
OPEN = frozenset({CoverageStatus.PENDING_PAYMENT, CoverageStatus.WAITING, CoverageStatus.ACTIVE})


@dataclass(frozen=True)
class Price:
    """What a cover year asks for its persons."""

    persons: int
    premium_due: int  # the household's own share
    sponsor_share: int
    quote: pricing.Quote


def is_open(period: models.CoveragePeriod, today: date) -> bool:
    return coverage.status_on(terms_of(period), today) in OPEN


def year_of(period: models.CoveragePeriod, product: models.Product) -> CoverYear:
    """The cover year a period was opened for, as `pricing.quote` takes it: a pro-rata
    late joiner's share is the one of the day it was opened."""
    share = Fraction(1)
    start, end = period.cover_starts_on, period.cover_ends_on
    if (
        start is not None
        and end is not None
        and product.late_joiners == LateJoiners.PRORATA
        and period.starts_on > start
        and period.renewal_of_id is None
    ):
        share = Fraction(months_to_run(start, end, period.starts_on), period.cover_months)
    return CoverYear(start if end else None, end, period.waiting_days, share, lapsed=False)


async def period_to_change(
    session: AsyncSession, household_id: int, today: date
) -> models.CoveragePeriod | None:
    """The year a member added or moved now is priced into: a renewal opened and not
    begun yet (the current year is paid, or it could not have been renewed), else the
    current year. Priced into the old paid year, the newcomer would owe on a year
    nobody can pay any more and ride free in the next one."""
    upcoming = await session.scalar(
        select(models.CoveragePeriod)
        .where(
            models.CoveragePeriod.household_id == household_id,
            models.CoveragePeriod.starts_on > today,
            models.CoveragePeriod.renewal_of_id.is_not(None),
            models.CoveragePeriod.cancelled_on.is_(None),
        )
        .order_by(models.CoveragePeriod.starts_on.desc())
        .limit(1)
    )
    if upcoming is not None and not renewal_expired(upcoming, today):
        return upcoming
    return await current_period(session, household_id, today)


def person_of(member: models.Member) -> pricing.Person:
    return pricing.Person(member.id, member.birth_date, member.sex)


async def price_for(
    session: AsyncSession,
    household: models.Household,
    period: models.CoveragePeriod,
    persons: Sequence[pricing.Person],
) -> Price:
    """The period's price for `persons`, written nowhere (to show before a change)."""
    product = await session.get(models.Product, period.product_id)
    assert product is not None  # a foreign key
    year = year_of(period, product)

    def priced(sync: Session) -> pricing.Quote:
        ids = [p.member_id for p in persons if p.member_id is not None]
        exempt = exemptions_on(sync, ids, pricing.pricing_day(year, period.starts_on))
        return pricing.quote(
            sync,
            product,
            household.category,
            [
                pricing.Person(p.member_id, p.birth_date, p.sex, exempt.get(p.member_id or 0, ()))
                for p in persons
            ],
            year,
            period.starts_on,
        )

    quote = await session.run_sync(priced)
    return Price(len(persons), quote.household_share, sum(quote.sponsors.values()), quote)


def preview(period: models.CoveragePeriod, price: Price, today: date) -> models.CoveragePeriod:
    """The period as `price` would leave it: a copy outside any session, saved nowhere."""
    columns = models.CoveragePeriod.__table__.columns
    copy = models.CoveragePeriod(**{column.key: getattr(period, column.key) for column in columns})
    _set_totals(copy, price, today)
    return copy


def _set_totals(period: models.CoveragePeriod, price: Price, today: date) -> None:
    period.persons = price.persons
    period.sponsor_share = price.sponsor_share
    period.premium_due = price.premium_due
    sponsors = price.quote.sponsors
    period.sponsor_id = next(iter(sponsors)) if len(sponsors) == 1 else None
    open_rights_if_paid(period, today, today)


async def apply_price(
    session: AsyncSession, period: models.CoveragePeriod, price: Price, today: date
) -> None:
    """Reprice the period: its totals, its lines (one per person) and its sponsors'
    shares (what a sponsor has paid stays with its share)."""
    _set_totals(period, price, today)
    await session.execute(delete(models.CoverLine).where(models.CoverLine.period_id == period.id))
    session.add_all(
        models.CoverLine(
            period_id=period.id,
            member_id=line.member_id,
            category=line.category,
            ground=line.ground,
            price=line.price,
            sponsor_id=line.sponsor_id,
            sponsor_amount=line.sponsor_amount,
        )
        for line in price.quote.lines
    )
    shares = {
        share.sponsor_id: share
        for share in await session.scalars(
            select(models.PeriodShare).where(models.PeriodShare.period_id == period.id)
        )
    }
    for sponsor_id, amount in price.quote.sponsors.items():
        share = shares.pop(sponsor_id, None)
        if share is None:
            session.add(
                models.PeriodShare(
                    period_id=period.id, sponsor_id=sponsor_id, amount=amount, paid=0
                )
            )
        else:
            share.amount = amount
    for share in shares.values():
        if share.paid:
            share.amount = 0  # paid for someone no longer here: kept, for the ledger
        else:
            await session.delete(share)
    await session.flush()
