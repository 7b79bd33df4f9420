"""`alafia renew`: next year's cover for every household of a mutual whose premium a
sponsor or a group pays, set-based.

A household is renewed here when its current cover year is in its renewal window and
its whole premium for the next year falls on sponsors (free care, indigence, a subsidy
of 100 %, a group with a contract for that year): nobody has to act for it. A household
that would owe its own share is left to its own renewal (the short code, an agent).

Batches of households by id: one read of the households, one of their years, one of
their members and one of their exemptions; the prices in Python with the enrolment's own
pure rules (`gateway.enrolment.pricing.price`); then one batched INSERT each of the
periods (their ids taken beforehand), their lines, their sponsors' shares and their
register events (`db.bulk.insert_rows`: one multi-row INSERT per table on PostgreSQL), in
one transaction per batch. A failure loses at most the
batch it is in; running again skips every household already renewed for that year (its
latest period renews the one before; its request key `renew:<household>:<year renewed>`
and the one-renewal-per-year index are unique) and finishes the job.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from adapters.register import EventKind
from db import models
from db.bulk import insert_rows
from db.engine import begin_writing
from db.values import AuditAction, ExemptionGround, RegisterEventStatus, UnitLevel
from gateway import audit
from gateway.caller_changes import households_changed
from gateway.enrolment.pricing import (
    Exemption,
    Line,
    Person,
    PriceRules,
    Quote,
    price,
    pricing_day,
    rules_from,
)
from gateway.payments.sponsors import open_rights_if_paid
from gateway.scheme.calendar import CoverYear, calendar_of, next_year, renewal_window
from menus.values import Channel, CoverageStatus, Relationship

log = logging.getLogger(__name__)

BATCH = 2000


class UnknownMutual(LookupError):
    pass


@dataclass
class ProductFigures:
    households: int = 0
    persons: int = 0
    premium: int = 0
    sponsors: Counter[str] = field(default_factory=Counter)  # sponsor code -> amount


@dataclass
class Outcome:
    """What a run did (or, dry, would do)."""

    renewed: dict[str, ProductFigures] = field(default_factory=lambda: defaultdict(ProductFigures))
    already: int = 0  # renewed before (an earlier run, the short code, an agent)
    not_due: int = 0  # outside the renewal window (or not paid: nothing to renew)
    household_pays: int = 0  # owes a share of its own: left to its own renewal
    no_contract: int = 0  # its group has no contract for that year

    @property
    def households(self) -> int:
        return sum(f.households for f in self.renewed.values())


@dataclass(frozen=True)
class Due:
    household_id: int
    category: str | None
    group_id: int | None
    # The current year, a row of `_due`: period_id, product_id, covered_until...
    period: Any


@dataclass(frozen=True)
class Plan:
    due: Due
    product: models.Product
    year: CoverYear
    quote: Quote


class BulkRenewal:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        now: Callable[[], datetime],
        actor: str,
        batch: int = BATCH,
    ) -> None:
        self.sessions = sessions
        self.now = now
        self.actor = actor
        self.batch = batch

    def run(
        self,
        mutual_code: str,
        product_code: str | None = None,
        *,
        dry_run: bool = False,
        progress: Callable[[int], None] = lambda done: None,
    ) -> Outcome:
        outcome = Outcome()
        with self.sessions() as session:
            mutual = session.scalar(
                select(models.SchemeUnit).where(
                    models.SchemeUnit.code == mutual_code,
                    models.SchemeUnit.level == UnitLevel.MUTUAL,
                )
            )
            if mutual is None:
                raise UnknownMutual(mutual_code)
            scheme = _Scheme.read(session, product_code)
        after = 0
        while True:
            with self.sessions() as session:
                due, last = _due(session, mutual.id, scheme.product_ids, after, self.batch)
                if last is None:
                    break
                after = last
                plans = self._plan(session, scheme, due, outcome)
            if not dry_run and plans:
                self._write(plans, scheme, outcome)
            elif dry_run:
                for plan in plans:
                    _count(outcome, plan, scheme)
            progress(len(due))
        if not dry_run and outcome.households:
            with self.sessions() as session, session.begin():
                session.add(
                    audit.entry(
                        self.actor,
                        AuditAction.BULK_RENEWAL,
                        self.now(),
                        details={
                            "mutual": mutual_code,
                            "product": product_code,
                            "renewed": outcome.households,
                            "already": outcome.already,
                            "household_pays": outcome.household_pays,
                        },
                    )
                )
        return outcome

    def _plan(
        self, session: Session, scheme: _Scheme, due: Sequence[Due], outcome: Outcome
    ) -> list[Plan]:
        today = self.now().date()
        renewing: list[tuple[Due, models.Product, CoverYear]] = []
        for household in due:
            period = household.period
            product = scheme.products[period.product_id]
            calendar = scheme.calendars[product.id]
            due_now = period.covered_until is not None and period.grace_until is not None
            if due_now:
                window = renewal_window(calendar, period.covered_until, period.grace_until)
                due_now = window.opens_on <= today <= window.closes_on
            if not due_now:
                # The latest year is itself a renewal (made here, on the short code, by
                # an agent) not due yet: this household is renewed already.
                if period.renewal_of_id is not None:
                    outcome.already += 1
                else:
                    outcome.not_due += 1
                continue
            year = next_year(calendar, period, today)
            starts = year.starts_on or today
            if household.group_id is not None and not scheme.contracted(household.group_id, starts):
                outcome.no_contract += 1
                continue
            renewing.append((household, product, year))
        # Members and exemptions of the households to price only.
        persons = _persons(session, [household.household_id for household, _, _ in renewing], today)
        plans = []
        for household, product, year in renewing:
            quote = price(
                scheme.rules(product, household.category),
                persons.get(household.household_id, []),
                pricing_day(year, today),
                year.share,
            )
            if quote.household_share > 0:
                outcome.household_pays += 1
                continue
            plans.append(Plan(household, product, year, quote))
        return plans

    def _write(self, plans: Sequence[Plan], scheme: _Scheme, outcome: Outcome) -> None:
        """One transaction for the batch; a household renewed meanwhile by someone else
        (its request key) makes the whole batch roll back: it is planned again, without
        that household, on the next run."""
        now = self.now()
        today = now.date()
        periods = [_period_row(plan, scheme, today) for plan in plans]
        try:
            with self.sessions() as session, session.begin():
                begin_writing(session)
                connection = session.connection()
                ids = reserve_period_ids(connection, len(periods))
                lines: list[dict[str, Any]] = []
                shares: list[dict[str, Any]] = []
                events: list[dict[str, Any]] = []
                for plan, row, period_id in zip(plans, periods, ids, strict=True):
                    row["id"] = period_id
                    lines += [_line_row(line, period_id) for line in plan.quote.lines]
                    shares += [
                        {"period_id": period_id, "sponsor_id": sponsor, "amount": amount, "paid": 0}
                        for sponsor, amount in plan.quote.sponsors.items()
                        if amount > 0
                    ]
                    if row["paid_in_full_on"] is not None:
                        events.append(_event_row(plan.due.household_id, period_id, now))
                written: tuple[tuple[type[models.Base], list[dict[str, Any]]], ...] = (
                    (models.CoveragePeriod, periods),
                    (models.CoverLine, lines),
                    (models.PeriodShare, shares),
                    (models.RegisterEvent, events),
                )
                for model, rows in written:
                    insert_rows(connection, model, rows)
                # Plain rows: the renewal dates their phones' sessions show, named here.
                households_changed(session, (plan.due.household_id for plan in plans))
        except IntegrityError:
            log.warning("bulk renewal: a batch met a renewal made meanwhile; run again")
            raise
        for plan in plans:
            _count(outcome, plan, scheme)


class _Scheme:
    """The products, their calendars and subsidies, the free-care sponsors and the
    groups' contracts: read once per run."""

    def __init__(
        self,
        products: dict[int, models.Product],
        subsidies: dict[int, list[models.Subsidy]],
        sponsors: dict[int, models.Sponsor],
        contracts: dict[int, list[tuple[date, date]]],
    ) -> None:
        self.products = products
        self.product_ids = list(products)
        self.calendars = {pid: calendar_of(p) for pid, p in products.items()}
        self.sponsors = sponsors
        self.sponsor_ids = {s.code: s.id for s in sponsors.values()}
        self.subsidies = subsidies
        self.contracts = contracts
        self._rules: dict[tuple[int, str | None], PriceRules] = {}

    def rules(self, product: models.Product, category: str | None) -> PriceRules:
        """The product's price rules for a household category (its subsidy: the
        category's before a product-wide one), worked out once per run."""
        key = (product.id, category)
        if key not in self._rules:
            matching = [
                s
                for s in self.subsidies.get(product.id, [])
                if s.category is None or s.category == category
            ]
            chosen = min(matching, key=lambda s: (s.category is None, s.id), default=None)
            self._rules[key] = rules_from(product, chosen, self.sponsor_ids)
        return self._rules[key]

    @classmethod
    def read(cls, session: Session, product_code: str | None) -> _Scheme:
        query = select(models.Product)
        if product_code is not None:
            query = query.where(models.Product.code == product_code)
        products = {p.id: p for p in session.scalars(query)}
        if product_code is not None and not products:
            raise LookupError(product_code)
        subsidies: dict[int, list[models.Subsidy]] = defaultdict(list)
        for subsidy in session.scalars(select(models.Subsidy)):
            subsidies[subsidy.product_id].append(subsidy)
        sponsors = {s.id: s for s in session.scalars(select(models.Sponsor))}
        contracts: dict[int, list[tuple[date, date]]] = defaultdict(list)
        for contract in session.scalars(select(models.GroupContract)):
            contracts[contract.group_id].append((contract.starts_on, contract.ends_on))
        session.expunge_all()  # plain values from here on, read by every batch
        return cls(products, subsidies, sponsors, contracts)

    def contracted(self, group_id: int, starts_on: date) -> bool:
        return any(start <= starts_on <= end for start, end in self.contracts.get(group_id, []))

    def waits(self, sponsor_ids: Iterable[int]) -> bool:
        return any(self.sponsors[s].waits_for_payment for s in sponsor_ids)


def _due(
    session: Session, mutual_id: int, product_ids: Sequence[int], after: int, batch: int
) -> tuple[list[Due], int | None]:
    """The next batch of the mutual's households (by id) with their current year, the
    latest not cancelled. Two indexed reads (the households, then their years, picked in
    Python) rather than a correlated "latest" per household, which PostgreSQL plans
    badly on 100,000 households."""
    households = session.execute(
        select(models.Household.id, models.Household.category, models.Household.group_id)
        .where(models.Household.mutual_id == mutual_id, models.Household.id > after)
        .order_by(models.Household.id)
        .limit(batch)
    ).all()
    if not households:
        return [], None
    latest: dict[int, Any] = {}
    for year in session.execute(
        select(
            models.CoveragePeriod.household_id,
            models.CoveragePeriod.id.label("period_id"),
            models.CoveragePeriod.product_id,
            models.CoveragePeriod.starts_on,
            models.CoveragePeriod.covered_from,
            models.CoveragePeriod.covered_until,
            models.CoveragePeriod.grace_until,
            models.CoveragePeriod.cover_ends_on,
            models.CoveragePeriod.renewal_of_id,
        ).where(
            models.CoveragePeriod.household_id.in_([h.id for h in households]),
            models.CoveragePeriod.cancelled_on.is_(None),
        )
    ):
        known = latest.get(year.household_id)
        if known is None or (year.starts_on, year.period_id) > (known.starts_on, known.period_id):
            latest[year.household_id] = year
    wanted = set(product_ids)
    return [
        Due(h.id, h.category, h.group_id, latest[h.id])
        for h in households
        if h.id in latest and latest[h.id].product_id in wanted
    ], households[-1].id


def _persons(
    session: Session, household_ids: Sequence[int], today: date
) -> dict[int, list[Person]]:
    """The households' current members, the head first, with their exemptions still
    valid today or later (as `gateway.enrolment.pricing.persons_of` reads one)."""
    if not household_ids:
        return {}
    members = session.execute(
        select(
            models.Member.id,
            models.Member.household_id,
            models.Member.birth_date,
            models.Member.sex,
            models.Member.relationship_to_head,
        )
        .where(models.Member.household_id.in_(household_ids), models.Member.left_on.is_(None))
        .order_by(models.Member.id)
    ).all()
    exemptions: dict[int, list[Exemption]] = defaultdict(list)
    for member_id, ground, starts_on, ends_on in session.execute(
        select(
            models.MemberExemption.member_id,
            models.MemberExemption.ground,
            models.MemberExemption.starts_on,
            models.MemberExemption.ends_on,
        )
        .join(models.Member, models.Member.id == models.MemberExemption.member_id)
        .where(
            models.Member.household_id.in_(household_ids),
            or_(models.MemberExemption.ends_on.is_(None), models.MemberExemption.ends_on >= today),
        )
    ):
        exemptions[member_id].append(Exemption(ExemptionGround(ground), starts_on, ends_on))
    found: dict[int, list[Person]] = defaultdict(list)
    for member_id, household_id, born, sex, _head in sorted(
        members, key=lambda m: (m.relationship_to_head != Relationship.HEAD, m.id)
    ):
        found[household_id].append(Person(member_id, born, sex, tuple(exemptions[member_id])))
    return found


def _period_row(plan: Plan, scheme: _Scheme, today: date) -> dict[str, Any]:
    """The new year as a row. A year that waits for its sponsors' money opens no rights
    yet (pending payment, no dates); any other is fully paid by sponsors who do not
    wait, and its rights are decided on a transient period by the rule every payment
    uses (nothing is added to a session). The ORM object only then: it costs more than
    the rest of the row."""
    product, year, quote, due = plan.product, plan.year, plan.quote, plan.due
    sponsors = [s for s, amount in quote.sponsors.items() if amount > 0]
    values: dict[str, Any] = {
        **_EMPTY_PERIOD,
        "household_id": due.household_id,
        "product_id": product.id,
        # Opened today for a year that begins later: it starts when its cover begins, so
        # the year in force stays what facilities and the rights screen read until then
        # (as a renewal on the short code, `gateway.enrolment.renewal`).
        "starts_on": max(today, year.starts_on or today),
        "persons": len(quote.lines),
        "premium_due": quote.household_share,
        "amount_paid": 0,
        "sponsor_id": sponsors[0] if len(sponsors) == 1 else None,
        "sponsor_share": sum(quote.sponsors.values()),
        "sponsor_paid": 0,
        "waits_for_sponsor": scheme.waits(sponsors),
        "waiting_days": year.waiting_days,
        "cover_months": product.cover_months,
        "grace_days": product.grace_days,
        "status": CoverageStatus.PENDING_PAYMENT,
        "renewal_of_id": due.period.period_id,
        "request_key": f"renew:{due.household_id}:{due.period.period_id}",
        "channel": Channel.BULK,
        "cover_starts_on": year.starts_on,
        "cover_ends_on": year.ends_on,
        "threshold_percent": product.cover_threshold_percent,
        "carried_in": 0,
    }
    if values["waits_for_sponsor"] and values["sponsor_share"] > 0:
        return values
    period = models.CoveragePeriod(**values)
    open_rights_if_paid(period, today, today)
    return {column: getattr(period, column) for column in _PERIOD_COLUMNS}


def reserve_period_ids(connection: Connection, count: int) -> list[int]:
    """Ids for the batch's new periods, taken before they are written so that their lines
    and shares can name them without a RETURNING per row: from the sequence on
    PostgreSQL; on SQLite after the largest, under the writer's lock this transaction
    already holds."""
    if connection.dialect.name == "postgresql":
        return list(
            connection.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('coverage_periods', 'id')) "
                    "FROM generate_series(1, :count)"
                ),
                {"count": count},
            )
        )
    last = connection.scalar(select(func.max(models.CoveragePeriod.id))) or 0
    return list(range(last + 1, last + 1 + count))


_PERIOD_COLUMNS = tuple(c.key for c in models.CoveragePeriod.__table__.columns if c.key != "id")
_EMPTY_PERIOD: dict[str, Any] = dict.fromkeys(_PERIOD_COLUMNS)


def _line_row(line: Line, period_id: int) -> dict[str, Any]:
    return {
        "period_id": period_id,
        "member_id": line.member_id,
        "category": line.category,
        "ground": str(line.ground),
        "price": line.price,
        "sponsor_id": line.sponsor_id,
        "sponsor_amount": line.sponsor_amount,
    }


def _event_row(household_id: int, period_id: int, now: datetime) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "household_id": household_id,
        "kind": EventKind.COVERAGE_ACTIVATED.value,
        "period_id": period_id,
        "payment_reference": None,
        "member_no": None,
        "occurred_at": now,
        "status": RegisterEventStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
    }


def _count(outcome: Outcome, plan: Plan, scheme: _Scheme) -> None:
    figures = outcome.renewed[plan.product.code]
    figures.households += 1
    figures.persons += len(plan.quote.lines)
    figures.premium += plan.quote.total
    for sponsor, amount in plan.quote.sponsors.items():
        figures.sponsors[scheme.sponsors[sponsor].code] += amount
