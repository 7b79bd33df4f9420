"""What a renewal reminder asks a household to pay: the amount that keeps it covered
next year, so that the message says how much and how (`cover_ending`, `grace_started`,
`lapsed` and the `campaign_renew` campaign).

For a cover year nobody has renewed yet, it is next year's premium, the household's
share, as a renewal today would price it: the scheme's calendar (`next_year`: the next
scheme year, or rolling cover continued; a year after grace prices as a new one) and
each current member's price and free care (`gateway.enrolment.pricing`), less what the
household overpaid and a renewal would carry into that year (as `RenewalService` does:
payments with a refund due, not given back, as far as they fit in the share). For a year
whose renewal is already opened, it is what is still due on that renewal; once the
renewal has opened rights, there is nothing to remind (None).

Read in batches (a sweep's page, a campaign's chunk): a few queries per batch, never
per household; the pricing itself is the pure `pricing.price`.

    amounts = await session.run_sync(next_year_amounts, [period_id, ...], today)
    amounts[period_id]  # 4725, or None: renewed and paid
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from db import models
from db.values import ExemptionGround
from gateway.enrolment.carry import carried_amount
from gateway.enrolment.entitlements import terms_of
from gateway.enrolment.pricing import (
    Exemption,
    Person,
    PriceRules,
    price,
    pricing_day,
    rules_of,
)
from gateway.scheme.calendar import calendar_of, next_year
from menus.values import CoverageStatus, Relationship

log = logging.getLogger(__name__)

P = models.CoveragePeriod


def next_year_amounts(
    session: Session, period_ids: Sequence[int], today: date
) -> dict[int, int | None]:
    """For each cover year, what its household pays to renew it; None when its renewal
    already opened rights. A year whose product cannot be priced (its free-care sponsor
    is not loaded) is left out, and logged: its reminder waits for the scheme to be
    fixed rather than quote a wrong amount. A sync session (`run_sync` from async)."""
    if not period_ids:
        return {}
    periods = {p.id: p for p in session.scalars(select(P).where(P.id.in_(period_ids)))}
    amounts: dict[int, int | None] = {}
    for renewal in session.scalars(
        select(P).where(P.renewal_of_id.in_(period_ids), P.status != CoverageStatus.CANCELLED)
    ):
        assert renewal.renewal_of_id is not None
        amounts[renewal.renewal_of_id] = (
            None if renewal.paid_in_full_on is not None else terms_of(renewal).amount_due
        )
    to_price = [p for p in periods.values() if p.id not in amounts]
    households = {
        h.id: h
        for h in session.scalars(
            select(models.Household).where(
                models.Household.id.in_({p.household_id for p in to_price})
            )
        )
    }
    products = {
        p.id: p
        for p in session.scalars(
            select(models.Product).where(
                models.Product.id.in_({h.product_id for h in households.values()})
            )
        )
    }
    persons = _persons(session, list(households), today)
    held = _overpaid(session, list(households))
    rules: dict[tuple[int, str | None], PriceRules] = {}
    for period in to_price:
        household = households[period.household_id]
        product = products[household.product_id]  # the year is renewed on today's product
        key = (product.id, household.category)
        if key not in rules:
            try:
                rules[key] = rules_of(session, product, household.category)
            except LookupError as error:
                log.warning("renewal amount of product %s not priced: %s", product.code, error)
                continue
        year = next_year(calendar_of(product), period, today)
        quote = price(
            rules[key], persons.get(household.id, []), pricing_day(year, today), year.share
        )
        share = quote.household_share
        amounts[period.id] = share - carried_amount(held.get(household.id, []), share)
    return amounts


def _overpaid(session: Session, household_ids: list[int]) -> dict[int, list[int]]:
    """The overpayments nobody has given back, by household, in the order a renewal
    carries them (`gateway.enrolment.carry`)."""
    payment = models.Payment
    held: dict[int, list[int]] = defaultdict(list)
    for household_id, refund_due in session.execute(
        select(payment.household_id, payment.refund_due)
        .where(
            payment.household_id.in_(household_ids),
            payment.refund_due > 0,
            payment.refunded_at.is_(None),
        )
        .order_by(payment.household_id, payment.settled_at, payment.reference)
    ):
        held[household_id].append(refund_due)
    return held


def years_to_renew(session: Session, household_ids: Sequence[int], today: date) -> dict[int, int]:
    """The cover year a campaign to renew speaks of, by household: its latest year not
    cancelled, or, while that one is a renewal whose cover has not begun (opened, maybe
    paid), the year it renews, so that `next_year_amounts` says what is left to pay on
    the renewal, or None once it is paid."""
    rows = session.execute(
        select(P.household_id, P.id, P.renewal_of_id, P.covered_from)
        .where(P.household_id.in_(household_ids), P.status != CoverageStatus.CANCELLED)
        .order_by(P.household_id, P.starts_on, P.id)
    ).all()
    years: dict[int, int] = {}
    for household_id, period_id, renews, covered_from in rows:  # the latest comes last
        begun = covered_from is not None and covered_from <= today
        years[household_id] = renews if renews is not None and not begun else period_id
    return years


def _persons(session: Session, household_ids: list[int], today: date) -> dict[int, list[Person]]:
    """The current members (not left) of each household, the head first, with their
    exemptions still valid today or later: `pricing.persons_of` for many households."""
    member = models.Member
    members = session.scalars(
        select(member)
        .where(member.household_id.in_(household_ids), member.left_on.is_(None))
        .order_by(
            member.household_id,
            case((member.relationship_to_head == Relationship.HEAD, 0), else_=1),
            member.id,
        )
    ).all()
    exemptions: dict[int, list[Exemption]] = defaultdict(list)
    if members:
        exemption = models.MemberExemption
        for row in session.scalars(
            select(exemption).where(
                exemption.member_id.in_([m.id for m in members]),
                or_(exemption.ends_on.is_(None), exemption.ends_on >= today),
            )
        ):
            exemptions[row.member_id].append(
                Exemption(ExemptionGround(row.ground), row.starts_on, row.ends_on)
            )
    persons: dict[int, list[Person]] = defaultdict(list)
    for m in members:
        persons[m.household_id].append(
            Person(m.id, m.birth_date, m.sex, tuple(exemptions.get(m.id, ())))
        )
    return persons
