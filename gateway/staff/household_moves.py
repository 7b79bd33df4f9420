"""A member moves to another household (a marriage, a child taken in by relatives), with
what it costs: both households' open cover years are priced again for their new number
of persons, by the rule that adds a member (`gateway.enrolment.repricing`).

Staff first see the plan (`MovePlan`: persons, premiums, what is paid, cover before and
after, in both households) and confirm it; the confirmation carries the plan's version
and is refused as `Stale` when anything in it changed meanwhile (a payment arrived, a
colleague moved someone). Refused, with the reason on the page (`MoveRefused`):

- the head (a household needs one; correct the other members instead);
- a household outside the staff member's scope (audited like any refusal);
- a household that would pass its product's member cap;
- a move that would leave the first household, or its sponsor, having paid more than its
  new premium: the gateway has no refunds, and money must not silently disappear into a
  smaller bill. Such a move waits for the next cover year.

A cover year that is over (grace, lapsed) or cancelled keeps its price: the person joins
or leaves the household, not that year's bill.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.register import EventKind
from db import models
from db.engine import writing
from db.values import AuditAction
from gateway import audit
from gateway.actors import staff_actor
from gateway.enrolment import coverage
from gateway.enrolment.entitlements import members_of, terms_of
from gateway.enrolment.repricing import (
    Price,
    apply_price,
    is_open,
    period_to_change,
    person_of,
    preview,
    price_for,
)
from gateway.register.outgoing import register_event
from gateway.scheme.cache import product_rule
from gateway.staff.household_changes import (
    OUTSIDE_SCOPE,
    HouseholdChanges,
    MemberFacts,
    NoSuchRecord,
    Stale,
    member_facts,
    refusal,
    version_of,
)
from gateway.staff.household_forms import MoveRequest
from gateway.staff.scope import Scope
from gateway.stats import rollup
from menus.values import CoverageStatus


class MoveRefused(Exception):
    """Why this move cannot be made: a catalogue key and its parameters, and the form
    field it is about (None: the move as a whole)."""

    def __init__(
        self, key: str, field: str | None = None, *, outside: int | None = None, **params: Any
    ) -> None:
        super().__init__(key)
        self.key = key
        self.field = field
        self.params = params
        # A household outside the staff member's scope they tried to move someone into:
        # audited as a refusal once the transaction that found it is over.
        self.outside = outside


@dataclass(frozen=True)
class Side:
    """One household of a move, before and after."""

    household_id: int
    head: str
    persons_before: int
    persons_after: int
    has_period: bool  # an open cover year, priced again
    premium_before: int = 0
    premium_after: int = 0
    sponsor_before: int = 0
    sponsor_after: int = 0
    paid: int = 0
    due_after: int = 0
    status_before: str | None = None  # None: no cover year at all
    status_after: str | None = None


@dataclass(frozen=True)
class MovePlan:
    member: MemberFacts
    relationship: str  # to the new head
    source: Side
    target: Side

    @property
    def version(self) -> str:
        return version_of(dataclasses.asdict(self))


@dataclass
class _Rows:
    """The rows a move changes, read (and locked, when moving) with its plan."""

    member: models.Member
    source: models.Household
    target: models.Household
    source_period: models.CoveragePeriod | None
    target_period: models.CoveragePeriod | None
    source_price: Price | None
    target_price: Price | None


class MemberMoves:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        now: Callable[[], datetime],
        changes: HouseholdChanges,
    ) -> None:
        self.sessions = sessions
        self.now = now
        self.changes = changes

    async def plan(
        self, staff_id: int, scope: Scope, household_id: int, member_no: str, request: MoveRequest
    ) -> MovePlan:
        """What the move would do, written nowhere."""
        await self.changes.authorise(staff_id, scope, household_id, "move", member_no)
        try:
            async with self.sessions() as session:
                plan, _ = await self._plan(session, scope, household_id, member_no, request)
        except MoveRefused as refused:
            await self._audit_outside(staff_id, member_no, refused)
            raise
        return plan

    async def move(
        self,
        staff_id: int,
        scope: Scope,
        household_id: int,
        member_no: str,
        request: MoveRequest,
        version: str,
    ) -> MovePlan:
        """Make the move the staff member confirmed; `Stale` with the new plan when it is
        no longer the one they saw."""
        await self.changes.authorise(staff_id, scope, household_id, "move", member_no)
        try:
            return await self._move(scope, household_id, member_no, request, version, staff_id)
        except MoveRefused as refused:
            await self._audit_outside(staff_id, member_no, refused)
            raise

    async def _audit_outside(self, staff_id: int, member_no: str, refused: MoveRefused) -> None:
        if refused.outside is not None:
            await self.changes.record_refusal(
                staff_id, refused.outside, "move", OUTSIDE_SCOPE, member_no
            )

    async def _move(
        self,
        scope: Scope,
        household_id: int,
        member_no: str,
        request: MoveRequest,
        version: str,
        staff_id: int,
    ) -> MovePlan:
        now = self.now()
        today = now.date()
        async with writing(self.sessions) as session:
            plan, rows = await self._plan(
                session, scope, household_id, member_no, request, lock=True
            )
            if plan.version != version:
                raise Stale(plan)
            rows.member.household_id = rows.target.id
            rows.member.relationship_to_head = request.relationship
            # The person is counted by household in the daily roll-ups: their day is
            # counted again (a day early: created_at's date may be UTC's, not the scheme's).
            await rollup.reopen(session, rows.member.created_at.date() - timedelta(days=1))
            for period, price in (
                (rows.source_period, rows.source_price),
                (rows.target_period, rows.target_price),
            ):
                if period is not None and price is not None:
                    was = period.status
                    await apply_price(session, period, price, today)
                    if period.status == CoverageStatus.ACTIVE != was:
                        # A smaller premium already paid, no waiting period: cover opens now.
                        session.add(
                            register_event(
                                EventKind.COVERAGE_ACTIVATED,
                                period.household_id,
                                now,
                                period_id=period.id,
                            )
                        )
            for side, other, direction in (
                (plan.source, plan.target, "to_household"),
                (plan.target, plan.source, "from_household"),
            ):
                session.add(
                    register_event(
                        EventKind.HOUSEHOLD_UPDATED, side.household_id, now, member_no=member_no
                    )
                )
                session.add(
                    audit.entry(
                        staff_actor(staff_id),
                        AuditAction.MEMBER_MOVED,
                        now,
                        household_id=side.household_id,
                        member_no=member_no,
                        details={direction: other.household_id, "changes": _changes(plan, side)},
                    )
                )
        return plan

    async def _plan(
        self,
        session: AsyncSession,
        scope: Scope,
        household_id: int,
        member_no: str,
        request: MoveRequest,
        *,
        lock: bool = False,
    ) -> tuple[MovePlan, _Rows]:
        today = self.now().date()
        member = await session.scalar(
            select(models.Member).where(
                models.Member.member_no == member_no, models.Member.household_id == household_id
            )
        )
        if member is None:
            raise NoSuchRecord(member_no)
        if member.relationship_to_head == "head":
            raise MoveRefused("move.error.head")
        target_id = await session.scalar(
            select(models.Member.household_id).where(
                models.Member.member_no == request.to_member_no
            )
        )
        if target_id is None:
            raise MoveRefused("move.error.not_found", "to_member_no")
        if target_id == household_id:
            raise MoveRefused("move.error.same_household", "to_member_no")
        if await refusal(session, scope, target_id) is not None:
            # Said as "not found", as a search outside one's scope is; audited all the same.
            raise MoveRefused("move.error.not_found", "to_member_no", outside=target_id)
        source, target = await _households(session, household_id, target_id, lock)
        if lock:
            await session.refresh(member, with_for_update=True)
            if member.household_id != household_id:  # moved by someone else meanwhile
                raise NoSuchRecord(member_no)
        rows = _Rows(member, source, target, None, None, None, None)
        source_side = await _side(session, rows, source, -1, today, lock)
        target_side = await _side(session, rows, target, +1, today, lock)
        await _check_cap(session, target, target_side.persons_after)
        _check_no_refund_owed(rows.source_period, rows.source_price)
        plan = MovePlan(member_facts(member), request.relationship, source_side, target_side)
        return plan, rows


async def _households(
    session: AsyncSession, source_id: int, target_id: int, lock: bool
) -> tuple[models.Household, models.Household]:
    """Both households, locked in id order when moving (two moves the other way round
    then wait for each other instead of deadlocking)."""
    found: dict[int, models.Household] = {}
    for household_id in sorted((source_id, target_id)):
        household = await session.get(
            models.Household, household_id, with_for_update=lock, populate_existing=lock
        )
        assert household is not None  # a member's foreign key
        found[household_id] = household
    return found[source_id], found[target_id]


async def _side(
    session: AsyncSession,
    rows: _Rows,
    household: models.Household,
    change: int,
    today: date,
    lock: bool,
) -> Side:
    members = await members_of(session, household.id)
    head = next((m for m in members if m.relationship_to_head == "head"), None)
    persons = len(members)
    head_name = f"{head.last_name} {head.first_names}" if head else ""
    period = await period_to_change(session, household.id, today)
    if period is None:
        return Side(household.id, head_name, persons, persons + change, has_period=False)
    if lock:
        await session.refresh(period, with_for_update=True)  # a payment may credit it now
    status = coverage.status_on(terms_of(period), today)
    if not is_open(period, today):
        return Side(
            household.id,
            head_name,
            persons,
            persons + change,
            has_period=False,
            paid=period.amount_paid,
            status_before=status,
            status_after=status,
        )
    after_move = [m for m in members if m.id != rows.member.id]
    if change > 0:
        after_move.append(rows.member)
    price = await price_for(session, household, period, [person_of(m) for m in after_move])
    after = preview(period, price, today)
    if change < 0:
        rows.source_period, rows.source_price = period, price
    else:
        rows.target_period, rows.target_price = period, price
    return Side(
        household.id,
        head_name,
        persons,
        persons + change,
        has_period=True,
        premium_before=period.premium_due,
        premium_after=price.premium_due,
        sponsor_before=period.sponsor_share,
        sponsor_after=price.sponsor_share,
        paid=period.amount_paid,
        due_after=terms_of(after).amount_due,
        status_before=status,
        status_after=coverage.status_on(terms_of(after), today),
    )


async def _check_cap(session: AsyncSession, household: models.Household, persons: int) -> None:
    product = await session.get(models.Product, household.product_id)
    assert product is not None  # a foreign key
    cap = product_rule(product).max_members
    if cap is not None and persons > cap:
        raise MoveRefused("move.error.full", cap=cap)


def _check_no_refund_owed(period: models.CoveragePeriod | None, price: Price | None) -> None:
    """The household leaving a member must not have paid more than its new premium (nor
    its sponsor more than its new share): there is no refund to give it back."""
    if period is None or price is None:
        return
    if price.premium_due < period.premium_due and period.amount_paid > price.premium_due:
        raise MoveRefused("move.error.overpaid", paid=period.amount_paid, premium=price.premium_due)
    if price.sponsor_share < period.sponsor_share and period.sponsor_paid > price.sponsor_share:
        raise MoveRefused(
            "move.error.sponsor_overpaid", paid=period.sponsor_paid, share=price.sponsor_share
        )


def _changes(plan: MovePlan, side: Side) -> dict[str, dict[str, object]]:
    """What the move changed in one household, as the audit log keeps it."""
    changes: dict[str, dict[str, object]] = {
        "persons": {"before": side.persons_before, "after": side.persons_after}
    }
    if side is plan.target:
        changes["relationship"] = {"before": plan.member.relationship, "after": plan.relationship}
    if side.has_period:
        for field, before, after in (
            ("premium_due", side.premium_before, side.premium_after),
            ("sponsor_share", side.sponsor_before, side.sponsor_after),
            ("status", side.status_before, side.status_after),
        ):
            if before != after:
                changes[field] = {"before": before, "after": after}
    return changes
