"""Renew a household: its next cover year, its members brought up to date.

A renewal is one decision, in one transaction, under the household's decision lock
(the one an agent adding a member takes too): members who left or died are dropped
(`left_on`, `left_reason`, the row kept), a newborn is added, a new head named when the
head leaves, and the next year opened by `pricing.open_period` with `renewal_of` and
what the year before was overpaid (`carried_in`). Asked twice (the same request, or the
year already opened) it changes nothing and answers the same.

When the window is: `scheme.calendar.renewal_window` (from some days before cover ends
to the end of grace); after it the household renews all the same, with a new waiting
period (`next_year` says `lapsed`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from adapters.register import EventKind
from db import models
from db.engine import begin_writing, hold_decision_lock, write_queue
from db.values import AuditAction, LeftReason, MessagePurpose
from gateway import audit
from gateway.actors import agent_actor
from gateway.enrolment import pricing
from gateway.enrolment.carry import carriable, mark_carried
from gateway.enrolment.entitlements import payable, renewal_expired, terms_of
from gateway.enrolment.service import member_from
from gateway.register.outgoing import register_event
from gateway.scheme.cache import product_rule
from gateway.scheme.calendar import calendar_of, next_year, renewal_window
from gateway.sms.outbox import Outbox
from menus.effects import (
    DueHousehold,
    HouseholdsDueResult,
    RenewalChanges,
    RenewalMember,
    RenewalOffer,
    RenewalOfferResult,
    RenewalResult,
    RenewHousehold,
)
from menus.identifiers import member_number
from menus.values import CoverageStatus, Relationship

log = logging.getLogger(__name__)

# The agent's list of households due: a few screens, the soonest first.
DUE_LISTED = 30
LAPSED_LISTED_DAYS = 365  # lapsed longer ago: off the agent's list of households due


@dataclass(frozen=True)
class Standing:
    """Where a household is in its renewal: open, lapsed (open, with a new waiting
    period), not_yet (opens on `opens_on`), renewed (the next year is open already) or
    no_cover (no paid year to renew: the first one is still to pay)."""

    outcome: str
    latest: models.CoveragePeriod | None
    opens_on: date | None = None
    # An unpaid renewal whose time is over (`entitlements.renewal_expired`): the renewal
    # cancels it and opens a lapsed one in its place.
    expired: models.CoveragePeriod | None = None

    @property
    def renewable(self) -> bool:
        return self.outcome in ("open", "lapsed")


def standing(
    session: Session, household: models.Household, product: models.Product, today: date
) -> Standing:
    latest = latest_period(session, household.id)
    if latest is None or latest.cancelled_on is not None:
        return Standing("no_cover", latest)
    if renewal_expired(latest, today) and latest.renewal_of_id is not None:
        previous = session.get(models.CoveragePeriod, latest.renewal_of_id)
        if previous is not None and previous.grace_until is not None:
            return Standing("lapsed", previous, expired=latest)
    if latest.renewal_of_id is not None and (
        latest.covered_from is None or latest.covered_from > today
    ):
        return Standing("renewed", latest)  # opened, and not yet the year in force
    if latest.covered_until is None or latest.grace_until is None:
        return Standing("no_cover", latest)
    window = renewal_window(calendar_of(product), latest.covered_until, latest.grace_until)
    if today < window.opens_on:
        return Standing("not_yet", latest, window.opens_on)
    return Standing("lapsed" if today > window.closes_on else "open", latest)


def latest_period(session: Session, household_id: int) -> models.CoveragePeriod | None:
    return session.scalar(
        select(models.CoveragePeriod)
        .where(models.CoveragePeriod.household_id == household_id)
        .order_by(models.CoveragePeriod.starts_on.desc(), models.CoveragePeriod.id.desc())
        .limit(1)
    )


class Refused(Exception):
    """The renewal cannot be made as asked; `outcome` says why, for the screen."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


@dataclass(frozen=True)
class _Household:
    household: models.Household
    product: models.Product
    members: list[models.Member]  # current ones (not left), the head first

    @property
    def head(self) -> models.Member:
        return next(
            (m for m in self.members if m.relationship_to_head == Relationship.HEAD),
            self.members[0],
        )


class RenewalService:
    """Like the enrolment, writes run in a worker thread on a synchronous session: one
    hand-off for the whole transaction (and `pricing` is synchronous)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        outbox: Outbox,
        now: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.now = now

    # -- the offer ------------------------------------------------------------------

    async def offer(self, request: RenewalOffer, today: date) -> RenewalOfferResult:
        return await asyncio.to_thread(self._offer, request, today)

    def _offer(self, request: RenewalOffer, today: date) -> RenewalOfferResult:
        with self.sessions() as session:
            try:
                found = _find(session, request.member_no, request.agent_id, request.phone)
            except Refused as refused:
                return _no_offer(refused.outcome, request.member_no)
            where = standing(session, found.household, found.product, today)
            head_no = found.head.member_no or ""
            if not where.renewable:
                result = _no_offer(where.outcome, head_no)
                result["opens_on"] = where.opens_on.isoformat() if where.opens_on else None
                return result
            assert where.latest is not None
            try:
                staying, persons = _next_persons(session, found, request.changes, today)
            except Refused as refused:
                return _no_offer(refused.outcome, head_no)
            year = next_year(calendar_of(found.product), where.latest, today)
            quoted = pricing.quote(
                session, found.product, found.household.category, persons, year, today
            )
            dead_money = (
                where.expired.amount_paid + (where.expired.carried_in or 0) if where.expired else 0
            )
            room = max(0, quoted.household_share - dead_money)
            carried = min(
                quoted.household_share,
                dead_money
                + sum(p.refund_due for p in carriable(session, found.household.id, room)),
            )
            new_head = request.changes.new_head or head_no
            members = [
                RenewalMember(
                    member_no=m.member_no or "",
                    first_names=m.first_names,
                    initial=m.last_name[:1],
                    head=m.member_no == new_head,
                )
                for m in staying
            ] + [
                RenewalMember(
                    member_no="", first_names=p.first_names, initial=p.last_name[:1], head=False
                )
                for p in request.changes.added
            ]
            return RenewalOfferResult(
                outcome=where.outcome,
                member_no=head_no,
                head_last_name=found.head.last_name,
                opens_on=None,
                members=members,
                persons=len(persons),
                premium=quoted.total,
                household_share=quoted.household_share,
                sponsors=sum(quoted.sponsors.values()),
                carried=carried,
                # The rest of the current year (a threshold under 100 % opened rights
                # before it was all paid) is owed too, and paid first.
                amount_due=max(0, quoted.household_share - carried)
                + _arrears(session, found.household.id, today, where.expired),
            )

    # -- the renewal ----------------------------------------------------------------

    async def renew(self, request: RenewHousehold, request_key: str, today: date) -> RenewalResult:
        try:
            async with write_queue(self.sessions.kw.get("bind")):
                return await asyncio.to_thread(self._renew_once, request, request_key, today)
        except IntegrityError:
            # A copy of this request won the race (the request key is unique).
            log.info("renewal race on %s; answering from what was stored", request_key)
        return await asyncio.to_thread(self._after_race, request, request_key)

    def _renew_once(self, request: RenewHousehold, request_key: str, today: date) -> RenewalResult:
        with self.sessions() as session, session.begin():
            begin_writing(session)
            return self.renew_in(session, request, request_key, today)

    def _after_race(self, request: RenewHousehold, request_key: str) -> RenewalResult:
        with self.sessions() as session:
            done = _by_request(session, request_key)
            if done is None:
                raise RuntimeError("renewal conflicted but nothing matching was stored")
            return _renewed(session, done)

    def renew_in(
        self, session: Session, request: RenewHousehold, request_key: str, today: date
    ) -> RenewalResult:
        """Renew within a writer's transaction the caller began; it commits or rolls back."""
        done = _by_request(session, request_key)
        if done is not None:
            return _renewed(session, done, today)
        household_id = session.scalar(
            select(models.Member.household_id).where(models.Member.member_no == request.member_no)
        )
        if household_id is not None:
            # One decision at a time per household: two renewals (two phones, an agent and
            # the family) cannot both find the next year still to open. Taken before the
            # household is read, so that what is read is what the lock protects.
            hold_decision_lock(session, f"household:{household_id}")
        try:
            found = _find(session, request.member_no, request.agent_id)
        except Refused as refused:
            return _refused(refused.outcome)
        household = found.household
        where = standing(session, household, found.product, today)
        if where.outcome == "renewed":
            assert where.latest is not None
            # the year is open already: the same answer
            return _renewed(session, where.latest, today)
        if not where.renewable:
            result = _refused(where.outcome)
            result["opens_on"] = where.opens_on.isoformat() if where.opens_on else None
            return result
        previous = where.latest
        assert previous is not None
        now = self.now()
        try:
            added = _change_members(session, found, request, today, now)
        except Refused as refused:  # checked before anything is written
            return _refused(refused.outcome)
        dead_money = 0
        if where.expired is not None:
            # Its time is over unpaid: cancelled in this transaction, what was paid on it
            # carried into the lapsed year that replaces it.
            dead = where.expired
            dead.cancelled_on, dead.status = today, CoverageStatus.CANCELLED
            dead_money = dead.amount_paid + (dead.carried_in or 0)
            session.flush()
        year = next_year(calendar_of(found.product), previous, today)
        persons = pricing.persons_of(session, household.id, today)
        quoted = pricing.quote(session, found.product, household.category, persons, year, today)
        carried_from = carriable(
            session, found.household.id, max(0, quoted.household_share - dead_money)
        )
        period = pricing.open_period(
            session,
            household,
            found.product,
            quoted,
            year,
            today=today,
            now=now,
            channel=request.channel,
            request_key=request_key,
            renewal_of=previous,
            carried_in=min(
                quoted.household_share,
                dead_money + sum(p.refund_due for p in carried_from),
            ),
        )
        mark_carried(carried_from, period, now)
        self._tell(session, found, request, period, added, now)
        log.info(
            "household %s renewed: %d persons, %d XOF due, %d carried in, %d left, %d added",
            household.id,
            len(persons),
            period.premium_due,
            period.carried_in,
            len(request.changes.removed),
            len(added),
        )
        return _renewed(session, period, today)

    def _tell(
        self,
        session: Session,
        found: _Household,
        request: RenewHousehold,
        period: models.CoveragePeriod,
        added: Sequence[models.Member],
        now: datetime,
    ) -> None:
        """The register, the family and the audit hear of it in the same transaction."""
        household = found.household
        if request.changes.removed:
            session.add(register_event(EventKind.HOUSEHOLD_UPDATED, household.id, now))
        due = terms_of(period).amount_due
        for member in added:
            session.add(
                register_event(
                    EventKind.MEMBER_ADDED, household.id, now, member_no=member.member_no
                )
            )
            session.add(
                self.outbox.message(
                    phone=household.phone,
                    language=household.language,
                    purpose=MessagePurpose.CONFIRMATION,
                    template="member_added",
                    params={"member_no": member.member_no, "amount_due": due},
                    now=now,
                    household_id=household.id,
                    dedupe_key=f"member_added:{member.id}",
                )
            )
        if request.agent_id is not None:
            session.add(
                audit.entry(
                    agent_actor(request.agent_id),
                    AuditAction.HOUSEHOLD_RENEWED,
                    now,
                    household_id=household.id,
                    member_no=request.member_no,
                    details={
                        "persons": period.persons,
                        "premium_due": period.premium_due,
                        "carried_in": period.carried_in,
                        "removed": [r.member_no for r in request.changes.removed],
                        "added": [m.member_no for m in added],
                    },
                )
            )

    # -- the agent's list ------------------------------------------------------------

    async def households_due(self, agent_id: int, today: date) -> HouseholdsDueResult:
        return await asyncio.to_thread(self._households_due, agent_id, today)

    def _households_due(self, agent_id: int, today: date) -> HouseholdsDueResult:
        """The agent's mutual's households whose renewal is not yet made: first those
        whose window is open (the visits that matter), the nearest end first; then those
        that lapsed within the last year (`LAPSED_LISTED_DAYS`), the latest lapse first.
        Older lapses are left out, or they would fill the list year after year.
        Candidates come by index (`covered_until`, `grace_until`), the window of each
        product decides."""
        with self.sessions() as session:
            agent = session.get(models.Agent, agent_id)
            if agent is None or agent.disabled_at is not None:
                return HouseholdsDueResult(outcome="disabled", households=[])
            latest = (
                select(
                    models.CoveragePeriod.household_id,
                    func.max(models.CoveragePeriod.starts_on).label("starts_on"),
                )
                .join(models.Household, models.Household.id == models.CoveragePeriod.household_id)
                .where(models.Household.mutual_id == agent.mutual_id)
                .group_by(models.CoveragePeriod.household_id)
                .subquery()
            )
            longest = session.scalar(select(func.max(models.Product.renewal_opens_days))) or 0
            latest_years = (
                select(models.CoveragePeriod, models.Household, models.Product)
                .join(
                    latest,
                    (latest.c.household_id == models.CoveragePeriod.household_id)
                    & (latest.c.starts_on == models.CoveragePeriod.starts_on),
                )
                .join(models.Household, models.Household.id == models.CoveragePeriod.household_id)
                .join(models.Product, models.Product.id == models.Household.product_id)
                .where(models.CoveragePeriod.cancelled_on.is_(None))
            )
            period = models.CoveragePeriod
            due: list[tuple[models.CoveragePeriod, models.Household]] = []
            for year, household, product in session.execute(
                latest_years.where(
                    period.covered_until <= today + timedelta(days=longest),
                    period.grace_until >= today,
                ).order_by(period.covered_until, models.Household.id)
            ):
                assert year.covered_until is not None and year.grace_until is not None
                window = renewal_window(calendar_of(product), year.covered_until, year.grace_until)
                if window.opens_on <= today:
                    due.append((year, household))
                    if len(due) == DUE_LISTED:
                        break
            if len(due) < DUE_LISTED:
                due.extend(
                    (year, household)
                    for year, household, _ in session.execute(
                        latest_years.where(
                            period.grace_until < today,
                            period.grace_until >= today - timedelta(days=LAPSED_LISTED_DAYS),
                        )
                        .order_by(period.grace_until.desc(), models.Household.id)
                        .limit(DUE_LISTED - len(due))
                    )
                )
            heads = {
                m.household_id: m
                for m in session.scalars(
                    select(models.Member).where(
                        models.Member.household_id.in_([h.id for _, h in due]),
                        models.Member.relationship_to_head == Relationship.HEAD,
                        models.Member.left_on.is_(None),
                    )
                )
            }
            return HouseholdsDueResult(
                outcome="listed",
                households=[
                    DueHousehold(
                        member_no=heads[h.id].member_no or "" if h.id in heads else "",
                        name=f"{heads[h.id].last_name} {heads[h.id].first_names[:1]}."
                        if h.id in heads
                        else "",
                        phone=h.phone,
                        ends_on=p.covered_until.isoformat() if p.covered_until else "",
                    )
                    for p, h in due
                ],
            )


def _find(
    session: Session, member_no: str, agent_id: int | None, phone: str | None = None
) -> _Household:
    """The household of `member_no` (a current or former member's number), or of
    `phone` (its latest), checked against the agent's mutual when an agent asks."""
    if phone is not None:
        household = session.scalar(
            select(models.Household)
            .where(models.Household.phone == phone)
            .order_by(models.Household.id.desc())
            .limit(1)
        )
    else:
        household = session.scalar(
            select(models.Household)
            .join(models.Member, models.Member.household_id == models.Household.id)
            .where(models.Member.member_no == member_no)
        )
    if household is None:
        raise Refused("unknown_member")
    if agent_id is not None:
        agent = session.get(models.Agent, agent_id)
        if agent is None or agent.disabled_at is not None:
            raise Refused("disabled")
        if agent.mutual_id != household.mutual_id:
            raise Refused("other_mutual")
    product = session.get(models.Product, household.product_id)
    assert product is not None
    members = list(
        session.scalars(
            select(models.Member)
            .where(models.Member.household_id == household.id, models.Member.left_on.is_(None))
            .order_by(models.Member.id)
        )
    )
    if not members:
        raise Refused("unknown_member")
    members.sort(key=lambda m: m.relationship_to_head != Relationship.HEAD)
    return _Household(household, product, members)


def _checked(found: _Household, changes: RenewalChanges) -> list[models.Member]:
    """The members who stay, once the changes are known to make sense."""
    by_no = {m.member_no: m for m in found.members}
    gone = {r.member_no for r in changes.removed}
    if not gone <= by_no.keys() or any(r.reason not in set(LeftReason) for r in changes.removed):
        raise Refused("unknown_member")
    staying = [m for m in found.members if m.member_no not in gone]
    if not staying:
        raise Refused("nobody_left")  # a newborn cannot head a household
    if found.head.member_no in gone and changes.new_head not in {m.member_no for m in staying}:
        raise Refused("head_needed")
    largest = product_rule(found.product).max_members
    if largest is not None and len(staying) + len(changes.added) > largest:
        raise Refused("full")
    return staying


def _next_persons(
    session: Session, found: _Household, changes: RenewalChanges, today: date
) -> tuple[list[models.Member], list[pricing.Person]]:
    """Next year's members and persons to price, without writing anything."""
    staying = _checked(found, changes)
    kept = {m.id for m in staying}
    persons = [
        p for p in pricing.persons_of(session, found.household.id, today) if p.member_id in kept
    ]
    persons += [
        pricing.Person(
            member_id=None,
            birth_date=date.fromisoformat(p.birth_date),
            sex=p.sex,
            exemptions=(),
        )
        for p in changes.added
    ]
    return staying, persons


def _change_members(
    session: Session, found: _Household, request: RenewHousehold, today: date, now: datetime
) -> list[models.Member]:
    """Drop who left, name the new head, add the newborns; returns those added."""
    changes = request.changes
    _checked(found, changes)
    by_no = {m.member_no: m for m in found.members}
    for removal in changes.removed:
        member = by_no[removal.member_no]
        member.left_on, member.left_reason = today, removal.reason
        if member.relationship_to_head == Relationship.HEAD:
            # One head at a time: the one who left stays in the history as "other".
            member.relationship_to_head = Relationship.OTHER
            assert changes.new_head is not None
            by_no[changes.new_head].relationship_to_head = Relationship.HEAD
    added = [
        member_from(person, found.household.id, request.agent_id, now) for person in changes.added
    ]
    session.add_all(added)
    session.flush()
    for member in added:
        member.member_no = member_number(member.id)
    session.flush()
    return added


def _by_request(session: Session, request_key: str) -> models.CoveragePeriod | None:
    return session.scalar(
        select(models.CoveragePeriod).where(
            models.CoveragePeriod.request_key == request_key,
            models.CoveragePeriod.renewal_of_id.is_not(None),
        )
    )


def _arrears(
    session: Session, household_id: int, today: date, expired: models.CoveragePeriod | None
) -> int:
    """What the household still owes on its years that can still be paid."""
    periods = session.scalars(
        select(models.CoveragePeriod).where(models.CoveragePeriod.household_id == household_id)
    )
    return sum(terms_of(p).amount_due for p in periods if p is not expired and payable(p, today))


def _renewed(
    session: Session, period: models.CoveragePeriod, today: date | None = None
) -> RenewalResult:
    head = session.scalar(
        select(models.Member.member_no).where(
            models.Member.household_id == period.household_id,
            models.Member.relationship_to_head == Relationship.HEAD,
            models.Member.left_on.is_(None),
        )
    )
    older = session.scalars(
        select(models.CoveragePeriod).where(
            models.CoveragePeriod.household_id == period.household_id,
            models.CoveragePeriod.starts_on < period.starts_on,
        )
    )
    today = period.starts_on if today is None else today
    arrears = sum(terms_of(p).amount_due for p in older if payable(p, today))
    return RenewalResult(
        outcome="renewed",
        member_no=head or "",
        # With what is left of the years before it, paid first (`period_to_pay`).
        amount_due=terms_of(period).amount_due + arrears,
        # A renewal paid on time has no waiting period; one after a lapse has.
        lapsed=period.waiting_days > 0,
        opens_on=None,
    )


def _refused(outcome: str) -> RenewalResult:
    return RenewalResult(outcome=outcome, member_no="", amount_due=0, lapsed=False, opens_on=None)


def _no_offer(outcome: str, member_no: str) -> RenewalOfferResult:
    return RenewalOfferResult(
        outcome=outcome,
        member_no=member_no,
        head_last_name="",
        opens_on=None,
        members=[],
        persons=0,
        premium=0,
        household_share=0,
        sponsors=0,
        carried=0,
        amount_due=0,
    )
