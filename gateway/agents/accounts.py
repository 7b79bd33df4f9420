"""Agent accounts, managed by the mutual's staff from the command line and the dashboard:
add, list, disable (and enable), reset a forgotten PIN or unlock a locked one. Every change
is audited with who made it. Adding an agent and resetting a PIN issue a one-time
activation code (gateway.agents.activation), without which no first PIN can be chosen.

A refusal is an `AgentError` whose `reason` names what is wrong (`phone_taken`, `name`...),
so that a form can put it next to the field it concerns; its message says it in English
for the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import as_aware, writing
from db.values import AuditAction, UnitLevel
from gateway.agents import activation
from gateway.agents.activation import Activation
from gateway.agents.pins import HARD_LOCK_LEVEL
from gateway.audit import entry
from gateway.known_phones import phones_changed

# What `AgentError.reason` may be.
NAME = "name"  # not 2 to 120 characters
NO_MUTUAL = "no_mutual"  # no mutual with that code
PHONE_TAKEN = "phone_taken"  # already an agent's phone
DESK_PHONE = "desk_phone"  # a health facility's desk phone
NO_AGENT = "no_agent"
STALE = "stale"  # the account is no longer in the state the change was asked from


class AgentError(ValueError):
    """An account change that cannot be made; the message says why."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class AgentRow:
    id: int
    phone: str
    name: str
    mutual: str
    state: str  # active, no PIN yet, locked, disabled


class Agents:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], now: Callable[[], datetime]
    ) -> None:
        self.sessions = sessions
        self.now = now

    async def add(self, phone: str, name: str, mutual_code: str, by: str) -> Activation:
        """The new agent's id and the activation code to hand them."""
        name = agent_name(name)
        now = self.now()
        issued = await activation.issue(now)
        try:
            async with writing(self.sessions) as session:
                mutual = await session.scalar(
                    select(models.SchemeUnit).where(
                        models.SchemeUnit.code == mutual_code,
                        models.SchemeUnit.level == UnitLevel.MUTUAL,
                    )
                )
                if mutual is None:
                    raise AgentError(f"no mutual with code {mutual_code}", NO_MUTUAL)
                if await session.scalar(select(models.Agent.id).where(models.Agent.phone == phone)):
                    raise AgentError(f"{phone} is already an agent's phone", PHONE_TAKEN)
                if await session.scalar(
                    select(models.FacilityPhone.phone).where(models.FacilityPhone.phone == phone)
                ):
                    raise AgentError(f"{phone} is a health facility's desk phone", DESK_PHONE)
                agent = models.Agent(
                    phone=phone,
                    name=name,
                    mutual_id=mutual.id,
                    pin_failures=0,
                    lock_level=0,
                    activation_hash=issued.code_hash,
                    activation_expires_at=issued.expires_at,
                    created_at=now,
                )
                session.add(agent)
                await session.flush()
                session.add(entry(by, AuditAction.AGENT_ADDED, now, details={"agent_id": agent.id}))
                await phones_changed(session)  # every gateway process knows the phone at once
                return Activation(agent.id, issued.code, issued.expires_at)
        except IntegrityError:  # the same phone added at the same moment elsewhere
            raise AgentError(f"{phone} is already an agent's phone", PHONE_TAKEN) from None

    async def listing(self, mutual_code: str | None = None) -> list[AgentRow]:
        query = (
            select(models.Agent, models.SchemeUnit.code)
            .join(models.SchemeUnit, models.SchemeUnit.id == models.Agent.mutual_id)
            .order_by(models.SchemeUnit.code, models.Agent.name)
        )
        if mutual_code is not None:
            query = query.where(models.SchemeUnit.code == mutual_code)
        return await self._rows(query)

    async def agent(self, agent_id: int) -> AgentRow | None:
        found = await self._rows(
            select(models.Agent, models.SchemeUnit.code)
            .join(models.SchemeUnit, models.SchemeUnit.id == models.Agent.mutual_id)
            .where(models.Agent.id == agent_id)
        )
        return found[0] if found else None

    async def _rows(self, query: Select[models.Agent, str]) -> list[AgentRow]:
        now = self.now()
        async with self.sessions() as session:
            rows = (await session.execute(query)).all()
        return [AgentRow(a.id, a.phone, a.name, code, state_of(a, now)) for a, code in rows]

    # Each change below may name the state the account was seen in (`expected`, one of
    # AgentRow.state): a form shown before someone else changed the account is then
    # refused (reason STALE) instead of acting on what its reader no longer sees.

    async def disable(self, phone: str, by: str, expected: str | None = None) -> None:
        await self._change(phone, by, AuditAction.AGENT_DISABLED, expected, disabled_at=self.now())

    async def enable(self, phone: str, by: str, expected: str | None = None) -> None:
        await self._change(phone, by, AuditAction.AGENT_ENABLED, expected, disabled_at=None)

    async def reset_pin(self, phone: str, by: str, expected: str | None = None) -> Activation:
        """The agent chooses a new PIN on their next dial, with the code returned."""
        issued = await activation.issue(self.now())
        agent_id = await self._change(
            phone,
            by,
            AuditAction.PIN_RESET,
            expected,
            pin_hash=None,
            pin_pending_hash=None,
            pin_failures=0,
            locked_until=None,
            lock_level=0,
            activation_hash=issued.code_hash,
            activation_expires_at=issued.expires_at,
        )
        return Activation(agent_id, issued.code, issued.expires_at)

    async def unlock(self, phone: str, by: str, expected: str | None = None) -> None:
        """Lifts any lock, the last (until staff unlock) too, and starts the levels again."""
        await self._change(
            phone,
            by,
            AuditAction.AGENT_UNLOCKED,
            expected,
            pin_failures=0,
            locked_until=None,
            lock_level=0,
        )

    async def _change(
        self, phone: str, by: str, action: AuditAction, expected: str | None, **values: object
    ) -> int:
        now = self.now()
        async with writing(self.sessions) as session:
            agent = await session.scalar(
                select(models.Agent).where(models.Agent.phone == phone).with_for_update()
            )
            if agent is None:
                raise AgentError(f"no agent with phone {phone}", NO_AGENT)
            state = state_of(agent, now)
            if expected is not None and state != expected:
                raise AgentError(f"the account is now {state}, not {expected}", STALE)
            for field, value in values.items():
                setattr(agent, field, value)
            session.add(entry(by, action, now, details={"agent_id": agent.id}))
            if "disabled_at" in values:
                await phones_changed(session)
            return agent.id


def agent_name(typed: str) -> str:
    """The name as stored: spaces tidied, 2 to 120 characters (AgentError NAME)."""
    name = " ".join(typed.split())
    if not 2 <= len(name) <= 120:
        raise AgentError("the name must have 2 to 120 characters", NAME)
    return name


def state_of(agent: models.Agent, now: datetime) -> str:
    if agent.disabled_at is not None:
        return "disabled"
    if agent.lock_level >= HARD_LOCK_LEVEL or (
        agent.locked_until is not None and as_aware(agent.locked_until, now) > now
    ):
        return "locked"
    return "active" if agent.pin_hash else "no PIN yet"
