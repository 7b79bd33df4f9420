"""A cover year's premium priced again for a new number of persons: a member added, or
moved from one household to another.

The rule is the enrolment's: the product's premium for that many persons, the sponsor's
share taken off again, what the household has paid kept. Rights already open stay open
(what a newcomer adds is owed); a smaller premium now covered by what was paid opens them.
`gateway.agents.desk` adds a member through it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gateway.enrolment import coverage
from gateway.enrolment.entitlements import terms_of
from gateway.payments.sponsors import open_rights_if_paid, sponsor_share
from gateway.scheme.cache import product_rule
from menus.values import CoverageStatus

# A cover year still to come or running: its premium follows who is in the household. One
# that is over (grace, lapsed) or cancelled keeps the premium of the year it covered.
OPEN = frozenset({CoverageStatus.PENDING_PAYMENT, CoverageStatus.WAITING, CoverageStatus.ACTIVE})


@dataclass(frozen=True)
class Price:
    """What a cover year asks for a number of persons."""

    persons: int
    premium_due: int  # the household's own share
    sponsor_share: int


def is_open(period: models.CoveragePeriod, today: date) -> bool:
    return coverage.status_on(terms_of(period), today) in OPEN


async def price_for(
    session: AsyncSession, household: models.Household, period: models.CoveragePeriod, persons: int
) -> Price:
    """The period's price for `persons`, written nowhere (to show before a change)."""
    product = await session.get(models.Product, period.product_id)
    assert product is not None  # a foreign key
    premium = product_rule(product).premium_for(persons)
    share = await session.run_sync(
        lambda sync: sponsor_share(sync, period.product_id, household.category, premium, persons)
    )
    sponsored = share.amount if share else 0
    return Price(persons, premium - sponsored, sponsored)


def preview(period: models.CoveragePeriod, price: Price, today: date) -> models.CoveragePeriod:
    """The period as `price` would leave it: a copy outside any session, saved nowhere."""
    columns = models.CoveragePeriod.__table__.columns
    copy = models.CoveragePeriod(**{column.key: getattr(period, column.key) for column in columns})
    apply_price(copy, price, today)
    return copy


def apply_price(period: models.CoveragePeriod, price: Price, today: date) -> None:
    period.persons = price.persons
    period.sponsor_share = price.sponsor_share
    period.premium_due = price.premium_due
    open_rights_if_paid(period, today, today)
