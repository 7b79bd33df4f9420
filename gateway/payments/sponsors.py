"""Sponsors' shares of premiums, and the settlement of what they owe.

Each person's share is priced by `gateway.enrolment.pricing` (a subsidy, or free care
paid 100 % by the product's free-care sponsor); each sponsor's share of a cover year is a
`period_shares` row, and the period's `sponsor_share`/`sponsor_paid` are their sums. The
household's share is what USSD asks for; a sponsor's is a receivable, settled in bulk and
spread over its own shares, oldest year first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.register import EventKind
from db import models
from db.engine import writing
from gateway.enrolment import coverage
from gateway.enrolment.entitlements import terms_of
from gateway.register.outgoing import register_event
from menus.values import CoverageStatus


def rights_open(period: models.CoveragePeriod) -> bool:
    """The household has paid the share of its premium that opens rights (the product's
    threshold, what it carried in counted), and the sponsors theirs when cover waits."""
    own = terms_of(period).threshold_reached
    sponsor = not period.waits_for_sponsor or period.sponsor_paid >= period.sponsor_share
    return own and sponsor


def open_rights_if_paid(
    period: models.CoveragePeriod, day: date, today: date, late_waiting_days: int = 0
) -> None:
    """Open rights once paid. The waiting period of a renewal is decided here, when its
    rights open, not when it was opened: a renewal opened on time but paid after the
    previous year's grace gets the product's waiting days (`late_waiting_days`), as a
    household that lapsed would. Callers that open rights at the renewal itself (on time
    by construction) leave it at 0."""
    if period.paid_in_full_on is None and rights_open(period):
        period.paid_in_full_on = day
        if (
            period.renewal_of_id is not None
            and not period.waiting_days
            and period.cover_starts_on is not None
            and day > coverage.renewal_on_time_until(period.cover_starts_on, period.grace_days)
        ):
            period.waiting_days = late_waiting_days
    terms = terms_of(period)
    period.covered_from = terms.covered_from
    period.covered_until = terms.covered_until
    period.grace_until = terms.grace_until
    period.status = coverage.status_on(terms, today)


@dataclass(frozen=True)
class Receivable:
    sponsor: str
    name: str
    owed: int
    periods: int


def allocate(
    period: models.CoveragePeriod,
    share: models.PeriodShare,
    amount: int,
    day: date,
    today: date,
    late_waiting_days: int = 0,
) -> None:
    """Credit `amount` of a sponsor's money to its share of a year: the share and the
    period's total move together (`sponsor_paid` is the sum of the shares' `paid`)."""
    share.paid += amount
    period.sponsor_paid += amount
    open_rights_if_paid(period, day, today, late_waiting_days)


class Sponsors:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def receivables(self) -> list[Receivable]:
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(
                        models.PeriodShare.sponsor_id,
                        func.sum(models.PeriodShare.amount - models.PeriodShare.paid),
                        func.count(),
                    )
                    .where(models.PeriodShare.paid < models.PeriodShare.amount)
                    .group_by(models.PeriodShare.sponsor_id)
                )
            ).all()
            sponsors = (
                await session.scalars(select(models.Sponsor).order_by(models.Sponsor.code))
            ).all()
        owed = {sponsor_id: (int(amount), int(count)) for sponsor_id, amount, count in rows}
        return [Receivable(s.code, s.name, *owed.get(s.id, (0, 0))) for s in sponsors]

    async def settle(
        self, sponsor_code: str, amount: int, reference: str, received_on: date, now: datetime
    ) -> int:
        """Record a sponsor's transfer once (by its reference) and spread it over its own
        shares of cover years, oldest year first; returns the amount allocated (the rest
        is credit)."""
        if amount <= 0:
            raise ValueError("a settlement is a positive whole number of francs")
        async with writing(self.sessions, f"sponsor:{sponsor_code}") as session:
            sponsor = await session.scalar(
                select(models.Sponsor).where(models.Sponsor.code == sponsor_code)
            )
            if sponsor is None:
                raise LookupError(f"no sponsor {sponsor_code!r}")
            earlier = await session.scalar(
                select(models.SponsorSettlement).where(
                    models.SponsorSettlement.reference == reference
                )
            )
            if earlier is not None:
                return earlier.allocated  # the same transfer entered twice
            owed = (
                await session.execute(
                    select(models.PeriodShare, models.CoveragePeriod)
                    .join(
                        models.CoveragePeriod,
                        models.CoveragePeriod.id == models.PeriodShare.period_id,
                    )
                    .where(
                        models.PeriodShare.sponsor_id == sponsor.id,
                        models.PeriodShare.paid < models.PeriodShare.amount,
                    )
                    .order_by(models.CoveragePeriod.starts_on, models.CoveragePeriod.id)
                    .with_for_update()
                )
            ).all()
            left = amount
            for share, period in owed:
                if left == 0:
                    break
                part = min(left, share.amount - share.paid)
                left -= part
                was = period.status
                product = await session.get(models.Product, period.product_id)
                waiting = product.waiting_days if product is not None else 0
                allocate(period, share, part, received_on, now.date(), waiting)
                if period.status == CoverageStatus.ACTIVE != was:
                    # The sponsor's share opened cover at once: the register hears it now.
                    session.add(
                        register_event(
                            EventKind.COVERAGE_ACTIVATED,
                            period.household_id,
                            now,
                            period_id=period.id,
                        )
                    )
            session.add(
                models.SponsorSettlement(
                    sponsor_id=sponsor.id,
                    reference=reference,
                    amount=amount,
                    allocated=amount - left,
                    received_on=received_on,
                    created_at=now,
                )
            )
            return amount - left
