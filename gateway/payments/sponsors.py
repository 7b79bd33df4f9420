"""Sponsors' shares of premiums, and the settlement of what they owe.

A subsidy gives a sponsor a share of a product's premium (a percentage, or an amount per
person, never more than the premium), for every household on the product or for one
category of households. The member's share is what USSD asks for; the sponsor's share is
a receivable, settled in bulk and spread over the periods it owes, oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from adapters.register import EventKind
from db import models
from db.engine import writing
from gateway.enrolment import coverage
from gateway.enrolment.entitlements import terms_of
from gateway.register.outgoing import register_event
from menus.values import CoverageStatus


@dataclass(frozen=True)
class Share:
    sponsor: models.Sponsor
    amount: int


def sponsor_share(
    session: Session, product_id: int, category: str | None, premium: int, persons: int
) -> Share | None:
    """The subsidy that applies: one for the household's category before a product-wide one."""
    rows = (
        session.execute(
            select(models.Subsidy, models.Sponsor)
            .join(models.Sponsor, models.Sponsor.id == models.Subsidy.sponsor_id)
            .where(
                models.Subsidy.product_id == product_id,
                or_(models.Subsidy.category.is_(None), models.Subsidy.category == category),
            )
        )
    ).all()
    if not rows:
        return None
    chosen, sponsor = sorted(rows, key=lambda row: row[0].category is None)[0]
    if chosen.percent is not None:
        amount = premium * chosen.percent // 100
    else:
        amount = (chosen.amount_per_person or 0) * persons
    return Share(sponsor, min(amount, premium))


def rights_open(period: models.CoveragePeriod) -> bool:
    """The household has paid the share of its premium that opens rights (the product's
    threshold, what it carried in counted), and the sponsors theirs when cover waits."""
    own = terms_of(period).threshold_reached
    sponsor = not period.waits_for_sponsor or period.sponsor_paid >= period.sponsor_share
    return own and sponsor


def open_rights_if_paid(period: models.CoveragePeriod, day: date, today: date) -> None:
    if period.paid_in_full_on is None and rights_open(period):
        period.paid_in_full_on = day
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


class Sponsors:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def receivables(self) -> list[Receivable]:
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(models.Sponsor, models.CoveragePeriod)
                    .join(
                        models.CoveragePeriod, models.CoveragePeriod.sponsor_id == models.Sponsor.id
                    )
                    .where(models.CoveragePeriod.sponsor_paid < models.CoveragePeriod.sponsor_share)
                )
            ).all()
            sponsors = (
                await session.scalars(select(models.Sponsor).order_by(models.Sponsor.code))
            ).all()
        owed: dict[int, list[int]] = {}
        for sponsor, period in rows:
            owed.setdefault(sponsor.id, []).append(period.sponsor_share - period.sponsor_paid)
        return [
            Receivable(s.code, s.name, sum(owed.get(s.id, [])), len(owed.get(s.id, [])))
            for s in sponsors
        ]

    async def settle(
        self, sponsor_code: str, amount: int, reference: str, received_on: date, now: datetime
    ) -> int:
        """Record a sponsor's transfer once (by its reference) and spread it over the
        periods it owes, oldest first; returns the amount allocated (the rest is credit)."""
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
            periods = (
                await session.scalars(
                    select(models.CoveragePeriod)
                    .where(
                        models.CoveragePeriod.sponsor_id == sponsor.id,
                        models.CoveragePeriod.sponsor_paid < models.CoveragePeriod.sponsor_share,
                    )
                    .order_by(models.CoveragePeriod.starts_on, models.CoveragePeriod.id)
                    .with_for_update()
                )
            ).all()
            left = amount
            for period in periods:
                if left == 0:
                    break
                part = min(left, period.sponsor_share - period.sponsor_paid)
                period.sponsor_paid += part
                left -= part
                was = period.status
                open_rights_if_paid(period, received_on, now.date())
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
