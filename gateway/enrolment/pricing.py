"""What a cover year costs, person by person, and who pays each share; and the one place
a cover year is written (`open_period`).

Each person pays their age band's price at the cover start (`products.person_prices`,
first match wins), else `premium_per_person` as an "adult"; a product with a household
lump sum (`household_premium`) keeps its flat price, spread over the persons. The
product's free-care sponsor pays 100 % for children under `free_care.under_age` (from
the birth date) and for pregnant women and indigents (`member_exemptions` valid on the
day). Anyone else may have a subsidy (`subsidies`: the household's category before a
product-wide one, a percentage or an amount per person, never more than the price). The
household pays the rest.

Whole francs, rounded down twice, on purpose: a late joiner's pro-rata price is rounded
down (never more than the months left), and a sponsor's percentage share is rounded down
(a sponsor never owes more than the percentage it signed for). The household's share is
what remains, so the sum of shares is always the price, to the franc.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import case, insert, or_, select
from sqlalchemy.orm import Session

from db import models
from db.bulk import copy_rows, insert_rows, reserve_ids, row_of
from db.values import CoverGround, ExemptionGround
from gateway.payments.sponsors import open_rights_if_paid
from gateway.scheme.calendar import Calendar, CoverYear, first_year
from menus.values import CoverageStatus, Relationship

ADULT = "adult"  # the category of whoever no price band matches
HOUSEHOLD = "household"  # a person's part of a household lump sum


@dataclass(frozen=True)
class Exemption:
    ground: ExemptionGround
    starts_on: date
    ends_on: date | None = None

    def valid_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


@dataclass(frozen=True)
class Person:
    member_id: int | None  # None for a person not yet registered (a quote before enrolment)
    birth_date: date
    sex: str
    exemptions: tuple[Exemption, ...] = ()


@dataclass(frozen=True)
class Line:
    member_id: int | None
    category: str
    ground: CoverGround
    price: int
    sponsor_id: int | None
    sponsor_amount: int

    @property
    def household_amount(self) -> int:
        return self.price - self.sponsor_amount


@dataclass(frozen=True)
class Quote:
    lines: tuple[Line, ...]
    total: int
    household_share: int
    sponsors: dict[int, int] = field(default_factory=dict)  # sponsor id -> its share


@dataclass(frozen=True)
class Band:
    category: str
    max_age: int
    premium: int


@dataclass(frozen=True)
class SubsidyRule:
    sponsor_id: int
    percent: int | None
    amount_per_person: int | None

    def share_of(self, price: int) -> int:
        if self.percent is not None:
            return price * self.percent // 100
        return min(self.amount_per_person or 0, price)


@dataclass(frozen=True)
class PriceRules:
    """A product's price rules as plain values, with its sponsors' ids resolved."""

    premium_per_person: int
    household_premium: int | None = None
    bands: tuple[Band, ...] = ()
    free_care_sponsor_id: int | None = None
    under_age: int | None = None
    pregnancy: bool = False
    indigent: bool = False
    subsidy: SubsidyRule | None = None


def age_on(birth_date: date, day: date) -> int:
    """Whole years completed on `day` (a 29 February birthday counts on 1 March)."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday


def bands_of(person_prices: Sequence[dict[str, Any]] | None) -> tuple[Band, ...]:
    return tuple(
        Band(str(b["category"]), int(b["max_age"]), int(b["premium"])) for b in person_prices or ()
    )


def _free_ground(rules: PriceRules, person: Person, day: date) -> CoverGround | None:
    """The free-care ground a person has on `day`, the lasting ones first."""
    if rules.free_care_sponsor_id is None:
        return None
    if rules.under_age is not None and age_on(person.birth_date, day) < rules.under_age:
        return CoverGround.UNDER_FIVE
    valid = {e.ground for e in person.exemptions if e.valid_on(day)}
    if rules.indigent and ExemptionGround.INDIGENT in valid:
        return CoverGround.INDIGENT
    if rules.pregnancy and ExemptionGround.PREGNANCY in valid:
        return CoverGround.PREGNANCY
    return None


def _list_prices(rules: PriceRules, persons: Sequence[Person], day: date) -> list[tuple[str, int]]:
    if rules.household_premium is not None:
        return [(HOUSEHOLD, rules.household_premium)] * len(persons)
    found = []
    for person in persons:
        age = age_on(person.birth_date, day)
        band = next((b for b in rules.bands if age <= b.max_age), None)
        found.append((band.category, band.premium) if band else (ADULT, rules.premium_per_person))
    return found


def _scaled(prices: list[tuple[str, int]], share: Fraction, flat: bool) -> list[tuple[str, int]]:
    """Prices times the share of the year paid for, rounded down; a lump sum is scaled
    once and spread evenly, the odd francs on the first persons (the head)."""
    if not flat:
        return [(category, math.floor(price * share)) for category, price in prices]
    if not prices:
        return []
    total = math.floor(prices[0][1] * share)
    each, odd = divmod(total, len(prices))
    return [(HOUSEHOLD, each + (1 if i < odd else 0)) for i in range(len(prices))]


def price(rules: PriceRules, persons: Sequence[Person], day: date, share: Fraction) -> Quote:
    """The quote for `persons` covered from `day` (ages and exemptions are read on it),
    paying `share` of the year. Pure: the menus' summary and the services agree on it."""
    flat = rules.household_premium is not None
    lines = []
    for person, (category, amount) in zip(
        persons, _scaled(_list_prices(rules, persons, day), share, flat), strict=True
    ):
        ground = None if flat else _free_ground(rules, person, day)
        if ground is not None:
            lines.append(
                Line(person.member_id, category, ground, amount, rules.free_care_sponsor_id, amount)
            )
            continue
        subsidy = rules.subsidy
        sponsored = subsidy.share_of(amount) if subsidy else 0
        lines.append(
            Line(
                person.member_id,
                category,
                CoverGround.MEMBER,
                amount,
                subsidy.sponsor_id if subsidy and sponsored else None,
                sponsored,
            )
        )
    return quote_of(lines)


def quote_of(lines: Iterable[Line]) -> Quote:
    lines = tuple(lines)
    sponsors: dict[int, int] = {}
    for line in lines:
        if line.sponsor_id is not None and line.sponsor_amount:
            sponsors[line.sponsor_id] = sponsors.get(line.sponsor_id, 0) + line.sponsor_amount
    return Quote(
        lines=lines,
        total=sum(line.price for line in lines),
        household_share=sum(line.household_amount for line in lines),
        sponsors=sponsors,
    )


def rules_from(
    product: models.Product, subsidy: models.Subsidy | None, sponsor_ids: dict[str, int]
) -> PriceRules:
    """The product's rules with the subsidy that applies; `sponsor_ids` maps the loaded
    sponsors' codes to their ids (the free-care sponsor is named by its code)."""
    free_care = product.free_care or {}
    sponsor_id = None
    if free_care.get("sponsor"):
        sponsor_id = sponsor_ids.get(free_care["sponsor"])
        if sponsor_id is None:
            raise LookupError(f"free-care sponsor {free_care['sponsor']!r} is not loaded")
    return PriceRules(
        premium_per_person=product.premium_per_person,
        household_premium=product.household_premium,
        bands=bands_of(product.person_prices),
        free_care_sponsor_id=sponsor_id,
        under_age=free_care.get("under_age"),
        pregnancy=bool(free_care.get("pregnancy")),
        indigent=bool(free_care.get("indigent")),
        subsidy=SubsidyRule(subsidy.sponsor_id, subsidy.percent, subsidy.amount_per_person)
        if subsidy
        else None,
    )


def rules_of(
    session: Session,
    product: models.Product,
    household_category: str | None,
    on: date | None = None,
) -> PriceRules:
    """The product's rules, with the subsidy that applies to this household: the one
    for its category before a product-wide one. A payer group's subsidy applies only to
    a cover year starting `on` a day inside one of its contracts on this product:
    without one the household is priced as an ordinary household."""
    query = select(models.Subsidy).where(
        models.Subsidy.product_id == product.id,
        or_(models.Subsidy.category.is_(None), models.Subsidy.category == household_category),
    )
    if on is not None:
        contract = models.GroupContract
        uncontracted = select(models.PayerGroup.sponsor_id).where(
            ~select(contract.id)
            .where(
                contract.group_id == models.PayerGroup.id,
                contract.product_id == product.id,
                contract.starts_on <= on,
                contract.ends_on >= on,
            )
            .exists()
        )
        query = query.where(models.Subsidy.sponsor_id.not_in(uncontracted))
    subsidies = session.execute(query).scalars()
    chosen = min(subsidies, key=lambda s: (s.category is None, s.id), default=None)
    code = (product.free_care or {}).get("sponsor")
    sponsor_ids = {}
    if code:
        found = session.scalar(select(models.Sponsor.id).where(models.Sponsor.code == code))
        sponsor_ids = {code: found} if found is not None else {}
    return rules_from(product, chosen, sponsor_ids)


def household_pricer(cal: Calendar, rules: PriceRules) -> Callable[[tuple[date, ...], date], int]:
    """What a household of persons born on these days pays to join today: the menus'
    summary (`menus.context.Product.premium_of`) asks it, so the screen shows the very
    amount the enrolment will ask for. Nobody has recorded exemptions yet: only age
    bands, free care by age and product-wide subsidies apply."""

    def household_price(births: tuple[date, ...], today: date) -> int:
        year = first_year(cal, today)
        persons = [Person(None, born, "") for born in births]
        return price(rules, persons, pricing_day(year, today), year.share).household_share

    return household_price


def pricing_day(year: CoverYear, today: date) -> date:
    """The day ages and exemptions are read: the cover start, never before today (a
    late joiner's year began before they joined)."""
    return max(year.starts_on or today, today)


def quote(
    session: Session,
    product: models.Product,
    household_category: str | None,
    persons: Sequence[Person],
    year: CoverYear,
    today: date,
) -> Quote:
    """What `persons` pay for `year` on `product`, line by line (sync session; async
    callers use `run_sync`)."""
    # The cover start decides the group contract, as in `alafia renew` (bulk_renewal).
    return quote_by(
        rules_for(session, product, household_category, year, today), persons, year, today
    )


def rules_for(
    session: Session,
    product: models.Product,
    household_category: str | None,
    year: CoverYear,
    today: date,
) -> PriceRules:
    """The rules `quote` prices `year` by: read once, they price a batch (the import)."""
    return rules_of(session, product, household_category, year.starts_on or today)


def quote_by(rules: PriceRules, persons: Sequence[Person], year: CoverYear, today: date) -> Quote:
    """`quote` with its rules already read."""
    return price(rules, persons, pricing_day(year, today), year.share)


def persons_of(session: Session, household_id: int, on: date) -> list[Person]:
    """A household's current members (not left), the head first, with their exemptions
    still valid on `on` or later."""
    members = session.scalars(
        select(models.Member)
        .where(models.Member.household_id == household_id, models.Member.left_on.is_(None))
        .order_by(
            case((models.Member.relationship_to_head == Relationship.HEAD, 0), else_=1),
            models.Member.id,
        )
    ).all()
    exemptions: dict[int, list[Exemption]] = {}
    if members:
        rows = session.scalars(
            select(models.MemberExemption).where(
                models.MemberExemption.member_id.in_([m.id for m in members]),
                or_(
                    models.MemberExemption.ends_on.is_(None),
                    models.MemberExemption.ends_on >= on,
                ),
            )
        )
        for row in rows:
            exemptions.setdefault(row.member_id, []).append(
                Exemption(ExemptionGround(row.ground), row.starts_on, row.ends_on)
            )
    return [Person(m.id, m.birth_date, m.sex, tuple(exemptions.get(m.id, ()))) for m in members]


def open_period(
    session: Session,
    household: models.Household,
    product: models.Product,
    quote: Quote,
    year: CoverYear,
    *,
    today: date,
    now: datetime,
    channel: str,
    request_key: str,
    renewal_of: models.CoveragePeriod | None = None,
    carried_in: int = 0,
) -> models.CoveragePeriod:
    """Write a cover year: the period, one line per person, one share per sponsor; rights
    open at once when nothing is left to pay (a household fully sponsored or exempt, or
    paid by what it carried in). The same `request_key` again finds the period it
    opened. `carried_in` (an overpayment of the year before) may not exceed the
    household's share: what cannot be carried is the caller's to hold for refund.
    Within the caller's transaction; register events and SMS are the caller's too."""
    earlier = session.scalar(
        select(models.CoveragePeriod).where(models.CoveragePeriod.request_key == request_key)
    )
    if earlier is not None:
        return earlier
    opening = Opening(
        household.id, product, quote, year, today, channel, request_key, renewal_of, carried_in
    )
    period = _new_period(opening, _waiting_sponsors(session, quote.sponsors))
    session.add(period)
    session.flush()
    session.add_all(models.CoverLine(**row) for row in _line_rows(quote, period.id))
    session.add_all(models.PeriodShare(**row) for row in _share_rows(quote, period.id))
    session.flush()
    return period


def open_new_period(session: Session, opening: Opening) -> models.CoveragePeriod:
    """`open_period` for a cover year whose request key the caller knows to be new (an
    enrolment: its household's key was new): the same rows in multi-row statements, no
    ORM flush. The period returned is not in the session: read it, do not change it."""
    period = _new_period(opening, _waiting_sponsors(session, opening.quote.sponsors))
    connection = session.connection()
    period.id = connection.execute(
        insert(models.CoveragePeriod).returning(models.CoveragePeriod.id), row_of(period)
    ).scalar_one()
    insert_rows(connection, models.CoverLine, _line_rows(opening.quote, period.id))
    insert_rows(connection, models.PeriodShare, _share_rows(opening.quote, period.id))
    return period


@dataclass(frozen=True)
class Opening:
    """One cover year to open: `open_period`'s arguments, for `open_periods`."""

    household_id: int
    product: models.Product
    quote: Quote
    year: CoverYear
    today: date
    channel: str
    request_key: str
    renewal_of: models.CoveragePeriod | None = None
    carried_in: int = 0


def open_periods(session: Session, openings: Sequence[Opening]) -> list[models.CoveragePeriod]:
    """`open_period` for a batch (the household import): the same rows by the same
    rules, written with one multi-row INSERT per table. Every request key must be new
    (the caller checked; a repeat breaks the unique index and rolls the batch back). The
    periods returned are not in the session: read them, do not change them."""
    if not openings:
        return []
    waiting = _waiting_sponsors(
        session, {sponsor: 0 for o in openings for sponsor in o.quote.sponsors}
    )
    periods = [_new_period(opening, waiting) for opening in openings]
    connection = session.connection()
    ids = reserve_ids(connection, models.CoveragePeriod, len(periods))
    lines: list[dict[str, Any]] = []
    shares: list[dict[str, Any]] = []
    for opening, period, period_id in zip(openings, periods, ids, strict=True):
        period.id = period_id
        lines += _line_rows(opening.quote, period_id)
        shares += _share_rows(opening.quote, period_id)
    copy_rows(connection, models.CoveragePeriod, [row_of(period) for period in periods])
    copy_rows(connection, models.CoverLine, lines)
    copy_rows(connection, models.PeriodShare, shares)
    return periods


def _waiting_sponsors(session: Session, sponsors: Mapping[int, int]) -> frozenset[int]:
    if not sponsors:
        return frozenset()
    return frozenset(
        session.scalars(
            select(models.Sponsor.id).where(
                models.Sponsor.id.in_(list(sponsors)), models.Sponsor.waits_for_payment
            )
        )
    )


def _new_period(opening: Opening, waiting: frozenset[int]) -> models.CoveragePeriod:
    """The period row of a cover year, its rights decided (not added to a session)."""
    quote, year, product, today = opening.quote, opening.year, opening.product, opening.today
    renewal_of = opening.renewal_of
    if not 0 <= opening.carried_in <= quote.household_share:
        raise ValueError(
            f"cannot carry {opening.carried_in} XOF into a share of {quote.household_share}"
        )
    if any(line.member_id is None for line in quote.lines):
        raise ValueError("every person of a cover year must be a registered member")
    period = models.CoveragePeriod(
        household_id=opening.household_id,
        product_id=product.id,
        # A renewal opened today for later starts then: the year in force stays the
        # current period (what facilities and the rights screen read: `current_period`)
        # until this one begins; payments find it all the same (`period_to_pay`).
        starts_on=max(today, year.starts_on or today) if renewal_of is not None else today,
        persons=len(quote.lines),
        premium_due=quote.household_share,
        amount_paid=0,
        sponsor_id=next(iter(quote.sponsors)) if len(quote.sponsors) == 1 else None,
        sponsor_share=sum(quote.sponsors.values()),
        sponsor_paid=0,
        waits_for_sponsor=any(sponsor in waiting for sponsor in quote.sponsors),
        waiting_days=year.waiting_days,
        cover_months=product.cover_months,
        grace_days=product.grace_days,
        status=CoverageStatus.PENDING_PAYMENT,
        renewal_of_id=renewal_of.id if renewal_of is not None else None,
        request_key=opening.request_key,
        channel=opening.channel,
        cover_starts_on=year.starts_on,
        cover_ends_on=year.ends_on,
        threshold_percent=product.cover_threshold_percent,
        carried_in=opening.carried_in,
    )
    open_rights_if_paid(period, today, today)
    return period


def _line_rows(quote: Quote, period_id: int) -> list[dict[str, Any]]:
    return [
        {
            "period_id": period_id,
            "member_id": line.member_id,
            "category": line.category,
            "ground": line.ground,
            "price": line.price,
            "sponsor_id": line.sponsor_id,
            "sponsor_amount": line.sponsor_amount,
        }
        for line in quote.lines
    ]


def _share_rows(quote: Quote, period_id: int) -> list[dict[str, Any]]:
    return [
        {"period_id": period_id, "sponsor_id": sponsor_id, "amount": amount, "paid": 0}
        for sponsor_id, amount in sorted(quote.sponsors.items())
    ]
