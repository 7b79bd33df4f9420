"""What an agent does from the menu, each action checked against the agent's mutual and
recorded in the audit log with the change itself.

The agent's id comes from the dialling phone (the gateway sets it), and every action
reads the agent again: one disabled a minute ago does nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.register import EventKind
from db import models
from db.engine import writing
from db.values import AuditAction, MessagePurpose
from gateway.actors import agent_actor
from gateway.agents.ledger import CASH_TAKEN, cash_held
from gateway.audit import entry
from gateway.enrolment.entitlements import (
    coverage_view,
    members_of,
    period_to_pay,
    terms_of,
)
from gateway.enrolment.repricing import apply_price, period_to_change, person_of, price_for
from gateway.enrolment.service import member_from
from gateway.payments.ledger import Billing, PaymentRefused, in_flight
from gateway.register.outgoing import register_event
from gateway.scheme.cache import offers, product_rule
from gateway.sms.outbox import Outbox
from menus.effects import (
    AgentFiguresResult,
    AgentHousehold,
    CashRecorded,
    MemberAdded,
    MemberLine,
    PersonDraft,
)
from menus.identifiers import member_number
from menus.values import Channel, Relationship


@dataclass(frozen=True)
class _Found:
    household: models.Household
    member_no: str  # the number the agent typed


class AgentDesk:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        billing: Billing,
        outbox: Outbox,
        now: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.billing = billing
        self.outbox = outbox
        self.now = now

    # -- finding a household ------------------------------------------------------

    async def find_household(self, agent_id: int, member_no: str, today: date) -> AgentHousehold:
        """The household of `member_no`, if it is in the agent's mutual. A look-up is
        audited: an agent reads names and what a family owes."""
        async with self.sessions() as session:
            refused = await _refusal(session, agent_id, member_no)
            if isinstance(refused, str):
                return _not_found(refused, member_no)
            household = refused.household
            # Those who left at a renewal are history, not the household.
            members = [m for m in await members_of(session, household.id) if m.left_on is None]
            product = await session.get(models.Product, household.product_id)
            assert product is not None
            # What the household owes: next year's premium once it renewed.
            period = await period_to_pay(session, household.id, today)
            pending = await in_flight(session, period.id) if period is not None else None
        head = next((m for m in members if m.relationship_to_head == Relationship.HEAD), members[0])
        rule = product_rule(product)
        persons = len(members)
        async with writing(self.sessions) as session:
            session.add(
                entry(
                    agent_actor(agent_id),
                    AuditAction.HOUSEHOLD_VIEWED,
                    self.now(),
                    household_id=household.id,
                    member_no=member_no,
                )
            )
        return AgentHousehold(
            outcome="found",
            member_no=member_no,
            head_last_name=head.last_name,
            head_first_names=head.first_names,
            persons=persons,
            max_persons=rule.max_members,
            premium_per_added=rule.premium_for(persons + 1) - rule.premium_for(persons),
            product_code=product.code,
            coverage=coverage_view(period, today),
            members=[
                MemberLine(
                    member_no=m.member_no or "", first_names=m.first_names, initial=m.last_name[:1]
                )
                for m in members
            ],
            pending_mobile=pending.amount if pending is not None else 0,
        )

    # -- adding a member ----------------------------------------------------------

    async def add_member(
        self, agent_id: int, member_no: str, person: PersonDraft, today: date
    ) -> MemberAdded:
        """One more person in the household and its current period's premium; the new
        member's number reaches the household by SMS and the register by an event."""
        now = self.now()
        async with self.sessions() as session:
            found = await _refusal(session, agent_id, member_no)
        if isinstance(found, str):
            return MemberAdded(outcome=found, member_no="", amount_due=0)
        household_id = found.household.id
        async with writing(self.sessions, f"household:{household_id}") as session:
            household = await session.get(models.Household, household_id, with_for_update=True)
            assert household is not None
            born = date.fromisoformat(person.birth_date)
            same = await session.scalar(
                select(models.Member.member_no).where(
                    models.Member.household_id == household_id,
                    models.Member.last_name == person.last_name,
                    models.Member.first_names == person.first_names,
                    models.Member.birth_year == born.year,
                )
            )
            if same is not None:  # typed twice, or a repeated hop
                return MemberAdded(outcome="duplicate", member_no=same, amount_due=0)
            product = await session.get(models.Product, household.product_id)
            assert product is not None
            rule = product_rule(product)
            persons = await session.scalar(
                select(func.count()).where(
                    models.Member.household_id == household_id, models.Member.left_on.is_(None)
                )
            )
            if rule.max_members is not None and (persons or 0) >= rule.max_members:
                return MemberAdded(outcome="full", member_no="", amount_due=0)
            period = await period_to_change(session, household_id, today)
            if period is None or period.cancelled_on is not None:
                return MemberAdded(outcome="no_period", member_no="", amount_due=0)
            await session.refresh(period, with_for_update=True)  # a payment may credit it now
            added = member_from(person, household_id, agent_id, now)
            session.add(added)
            await session.flush()
            added.member_no = member_number(added.id)
            everyone = [person_of(m) for m in await members_of(session, household_id)]
            await apply_price(
                session, period, await price_for(session, household, period, everyone), today
            )
            due = terms_of(period).amount_due
            session.add(
                self.outbox.message(
                    phone=household.phone,
                    language=household.language,
                    purpose=MessagePurpose.CONFIRMATION,
                    template="member_added",
                    params={"member_no": added.member_no, "amount_due": due},
                    now=now,
                    household_id=household_id,
                    dedupe_key=f"member_added:{added.id}",
                )
            )
            session.add(
                register_event(EventKind.MEMBER_ADDED, household_id, now, member_no=added.member_no)
            )
            session.add(
                entry(
                    agent_actor(agent_id),
                    AuditAction.MEMBER_ADDED,
                    now,
                    household_id=household_id,
                    member_no=added.member_no,
                    details={"persons": (persons or 0) + 1, "premium_due": period.premium_due},
                )
            )
        return MemberAdded(outcome="added", member_no=added.member_no or "", amount_due=due)

    # -- cash ----------------------------------------------------------------------

    async def record_cash(
        self, agent_id: int, member_no: str, amount: int, payer_name: str, request_key: str
    ) -> CashRecorded:
        async with self.sessions() as session:
            found = await _refusal(session, agent_id, member_no)
        if isinstance(found, str):
            return _cash(found)
        try:
            settled = await self.billing.record_cash(
                member_no,
                amount,
                payer_name,
                channel=Channel.AGENT,
                request_key=request_key,
                agent_id=agent_id,
            )
        except PaymentRefused as refused:
            return _cash(refused.reason)
        async with self.sessions() as session:
            payment = await session.get(models.Payment, settled.reference)
            assert payment is not None
            period = await session.get(models.CoveragePeriod, payment.period_id)
            assert period is not None
            left = terms_of(period).amount_due
        return CashRecorded(
            outcome="recorded",
            receipt_no=settled.receipt_no or "",
            amount=payment.amount,
            amount_due=left,
        )

    # -- figures -------------------------------------------------------------------

    async def figures(self, agent_id: int, today: date) -> AgentFiguresResult:
        """Households and persons this agent registered, and cash taken, today and since
        the current campaign opened (the mutual's latest enrolment window start)."""
        async with self.sessions() as session:
            agent = await session.get(models.Agent, agent_id)
            assert agent is not None
            since = await campaign_start(session, agent.mutual_id, today)
            zone = self.now().tzinfo
            households_today, members_today, cash_today = await _work_since(
                session, agent_id, datetime.combine(today, time(), zone)
            )
            households, members, cash = await _work_since(
                session, agent_id, datetime.combine(since, time(), zone)
            )
            return AgentFiguresResult(
                households_today=households_today,
                members_today=members_today,
                cash_today=cash_today,
                households_campaign=households,
                members_campaign=members,
                cash_campaign=cash,
                campaign_since=since.isoformat(),
                cash_held=await cash_held(session, agent_id),
            )


async def _work_since(
    session: AsyncSession, agent_id: int, start: datetime
) -> tuple[int, int, int]:
    """Households and persons an agent registered, and cash they took, since `start`."""
    households = await session.scalar(
        select(func.count()).where(
            models.Household.agent_id == agent_id, models.Household.created_at >= start
        )
    )
    members = await session.scalar(
        select(func.count()).where(
            models.Member.agent_id == agent_id, models.Member.created_at >= start
        )
    )
    cash = await session.scalar(
        select(func.coalesce(func.sum(models.Payment.amount), 0)).where(
            models.Payment.agent_id == agent_id,
            *CASH_TAKEN,
            models.Payment.settled_at >= start,
        )
    )
    return households or 0, members or 0, int(cash or 0)


async def campaign_start(session: AsyncSession, mutual_id: int, today: date) -> date:
    """The latest opening (on or before today) of an enrolment window of the products
    the mutual offers; 1 January when they are open all year."""
    return (await campaign_starts(session, [mutual_id], today))[mutual_id]


async def campaign_starts(
    session: AsyncSession, mutual_ids: Iterable[int], today: date
) -> dict[int, date]:
    """`campaign_start` of several mutuals, in two queries whatever their number (the
    dashboard's list of agents asks it for every mutual in a staff member's scope)."""
    mutuals = (
        await session.scalars(
            select(models.SchemeUnit).where(models.SchemeUnit.id.in_(sorted(set(mutual_ids))))
        )
    ).all()
    windows = (
        await session.execute(
            select(models.Product.window_start, models.SchemeUnit)
            .join(models.SchemeUnit, models.SchemeUnit.id == models.Product.unit_id)
            .where(models.Product.active.is_(True), models.Product.window_start.is_not(None))
        )
    ).all()
    starts: dict[int, date] = {}
    for mutual in mutuals:
        openings = []
        for window_start, unit in windows:
            if window_start and offers(unit, mutual):
                month, day = (int(part) for part in window_start.split("-"))
                opening = date(today.year, month, day)
                openings.append(opening if opening <= today else date(today.year - 1, month, day))
        starts[mutual.id] = max(openings, default=date(today.year, 1, 1))
    return starts


async def _refusal(session: AsyncSession, agent_id: int, member_no: str) -> _Found | str:
    """The household, or why the agent may not act on it."""
    agent = await session.get(models.Agent, agent_id)
    if agent is None or agent.disabled_at is not None:
        return "disabled"
    household = await session.scalar(
        select(models.Household)
        .join(models.Member, models.Member.household_id == models.Household.id)
        .where(models.Member.member_no == member_no)
    )
    if household is None:
        return "unknown_member"
    if household.mutual_id != agent.mutual_id:
        return "other_mutual"
    return _Found(household, member_no)


def _not_found(outcome: str, member_no: str) -> AgentHousehold:
    return AgentHousehold(
        outcome=outcome,
        member_no=member_no,
        head_last_name="",
        head_first_names="",
        persons=0,
        max_persons=None,
        premium_per_added=0,
        coverage=None,
        members=[],
    )


def _cash(outcome: str) -> CashRecorded:
    return CashRecorded(outcome=outcome, receipt_no="", amount=0, amount_due=0)
