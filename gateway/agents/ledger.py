"""Each agent's cash: what they took (cash payments with their id) and what they handed
over to the mutual. What they hold is the difference; a hand-over cannot exceed it.

A refusal is a `LedgerError` whose `reason` names the field at fault (`amount`,
`reference`...), for a form; its message says it in English for the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import writing
from db.values import CASH, AuditAction, PaymentStatus
from gateway.audit import entry

# What counts as cash an agent took: their succeeded cash payments.
CASH_TAKEN = (models.Payment.provider == CASH, models.Payment.status == PaymentStatus.SUCCEEDED)


# What `LedgerError.reason` may be.
AMOUNT = "amount"  # not a positive whole number of francs
ABOVE_HELD = "above_held"  # more than the agent holds
RECEIVED_BY = "received_by"  # nobody named, or longer than 120 characters
REFERENCE = "reference"  # no slip reference, or longer than 64 characters
REFERENCE_TAKEN = "reference_taken"  # that slip is already recorded
NO_AGENT = "no_agent"


class LedgerError(ValueError):
    """A hand-over that cannot be recorded; the message says why."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class CashPosition:
    agent_id: int
    phone: str
    name: str
    mutual: str
    collected: int
    payments: int
    handed_over: int

    @property
    def held(self) -> int:
        return self.collected - self.handed_over


@dataclass(frozen=True)
class Handover:
    amount: int
    received_by: str
    reference: str | None
    handed_over_at: datetime
    recorded_by: str  # an actor: staff:7, cli:root


async def cash_collected(session: AsyncSession, agent_id: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(models.Payment.amount), 0)).where(
            models.Payment.agent_id == agent_id, *CASH_TAKEN
        )
    )
    return int(total or 0)


async def cash_handed_over(session: AsyncSession, agent_id: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(models.CashHandover.amount), 0)).where(
            models.CashHandover.agent_id == agent_id
        )
    )
    return int(total or 0)


async def cash_held(session: AsyncSession, agent_id: int) -> int:
    return await cash_collected(session, agent_id) - await cash_handed_over(session, agent_id)


class CashLedger:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], now: Callable[[], datetime]
    ) -> None:
        self.sessions = sessions
        self.now = now

    async def positions(
        self, phone: str | None = None, mutual_code: str | None = None
    ) -> list[CashPosition]:
        """Every agent's position (of one mutual, or one agent), by mutual then name."""
        collected = (
            select(
                models.Payment.agent_id.label("agent_id"),
                func.sum(models.Payment.amount).label("amount"),
                func.count().label("payments"),
            )
            .where(*CASH_TAKEN)
            .group_by(models.Payment.agent_id)
            .subquery()
        )
        handed = (
            select(
                models.CashHandover.agent_id.label("agent_id"),
                func.sum(models.CashHandover.amount).label("amount"),
            )
            .group_by(models.CashHandover.agent_id)
            .subquery()
        )
        query = (
            select(
                models.Agent,
                models.SchemeUnit.code,
                func.coalesce(collected.c.amount, 0),
                func.coalesce(collected.c.payments, 0),
                func.coalesce(handed.c.amount, 0),
            )
            .join(models.SchemeUnit, models.SchemeUnit.id == models.Agent.mutual_id)
            .outerjoin(collected, collected.c.agent_id == models.Agent.id)
            .outerjoin(handed, handed.c.agent_id == models.Agent.id)
            .order_by(models.SchemeUnit.code, models.Agent.name)
        )
        if phone is not None:
            query = query.where(models.Agent.phone == phone)
        if mutual_code is not None:
            query = query.where(models.SchemeUnit.code == mutual_code)
        async with self.sessions() as session:
            rows = (await session.execute(query)).all()
        return [
            CashPosition(agent.id, agent.phone, agent.name, code, int(c), int(n), int(h))
            for agent, code, c, n, h in rows
        ]

    async def hand_over(
        self, phone: str, amount: int, received_by: str, reference: str, by: str
    ) -> CashPosition:
        """Record cash an agent gave to the mutual, once per slip `reference`; refused
        above what they hold."""
        if amount <= 0:
            raise LedgerError("the amount must be a positive whole number of francs", AMOUNT)
        received_by, reference = " ".join(received_by.split()), reference.strip()
        if not 1 <= len(received_by) <= 120:
            raise LedgerError(
                "say who at the mutual received it (120 characters at most)", RECEIVED_BY
            )
        if not 1 <= len(reference) <= 64:
            raise LedgerError(
                "a hand-over needs the mutual's slip reference (64 characters at most)", REFERENCE
            )
        try:
            await self._hand_over(phone, amount, received_by, reference, by)
        except IntegrityError:  # the same slip recorded at the same moment elsewhere
            raise LedgerError(
                f"hand-over {reference} is already recorded", REFERENCE_TAKEN
            ) from None
        (position,) = await self.positions(phone=phone)
        return position

    async def _hand_over(
        self, phone: str, amount: int, received_by: str, reference: str, by: str
    ) -> None:
        now = self.now()
        async with writing(self.sessions, f"agent-cash:{phone}") as session:
            agent = await session.scalar(select(models.Agent).where(models.Agent.phone == phone))
            if agent is None:
                raise LedgerError(f"no agent with phone {phone}", NO_AGENT)
            if await session.scalar(
                select(models.CashHandover.id).where(models.CashHandover.reference == reference)
            ):
                raise LedgerError(f"hand-over {reference} is already recorded", REFERENCE_TAKEN)
            held = await cash_held(session, agent.id)
            if amount > held:
                raise LedgerError(
                    f"{amount:,} XOF is more than the {held:,} XOF the agent holds", ABOVE_HELD
                )
            session.add(
                models.CashHandover(
                    agent_id=agent.id,
                    amount=amount,
                    received_by=received_by,
                    reference=reference,
                    handed_over_at=now,
                    recorded_by=by,
                )
            )
            session.add(
                entry(
                    by,
                    AuditAction.CASH_HANDED_OVER,
                    now,
                    details={"agent_id": agent.id, "amount": amount, "reference": reference},
                )
            )

    async def handovers(self, agent_id: int, limit: int = 20) -> list[Handover]:
        """An agent's latest hand-overs, newest first."""
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(models.CashHandover)
                    .where(models.CashHandover.agent_id == agent_id)
                    .order_by(
                        models.CashHandover.handed_over_at.desc(), models.CashHandover.id.desc()
                    )
                    .limit(limit)
                )
            ).all()
        return [
            Handover(r.amount, r.received_by, r.reference, r.handed_over_at, r.recorded_by)
            for r in rows
        ]
