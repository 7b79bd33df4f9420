"""Agent accounts, managed by the mutual's staff from the command line: add, list,
disable (and enable), reset a forgotten PIN or unlock a locked one. Every change is
audited with who made it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import as_aware, writing
from db.values import AuditAction, UnitLevel
from gateway.audit import entry


class AgentError(ValueError):
    """An account change that cannot be made; the message says why."""


@dataclass(frozen=True)
class AgentRow:
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

    async def add(self, phone: str, name: str, mutual_code: str, by: str) -> int:
        name = " ".join(name.split())
        if not 2 <= len(name) <= 120:
            raise AgentError("the name must have 2 to 120 characters")
        now = self.now()
        async with writing(self.sessions) as session:
            mutual = await session.scalar(
                select(models.SchemeUnit).where(
                    models.SchemeUnit.code == mutual_code,
                    models.SchemeUnit.level == UnitLevel.MUTUAL,
                )
            )
            if mutual is None:
                raise AgentError(f"no mutual with code {mutual_code}")
            if await session.scalar(select(models.Agent.id).where(models.Agent.phone == phone)):
                raise AgentError(f"{phone} is already an agent's phone")
            if await session.scalar(
                select(models.FacilityPhone.phone).where(models.FacilityPhone.phone == phone)
            ):
                raise AgentError(f"{phone} is a health facility's desk phone")
            agent = models.Agent(
                phone=phone, name=name, mutual_id=mutual.id, pin_failures=0, created_at=now
            )
            session.add(agent)
            await session.flush()
            session.add(entry(by, AuditAction.AGENT_ADDED, now, details={"agent_id": agent.id}))
            return agent.id

    async def listing(self, mutual_code: str | None = None) -> list[AgentRow]:
        now = self.now()
        query = (
            select(models.Agent, models.SchemeUnit.code)
            .join(models.SchemeUnit, models.SchemeUnit.id == models.Agent.mutual_id)
            .order_by(models.SchemeUnit.code, models.Agent.name)
        )
        if mutual_code is not None:
            query = query.where(models.SchemeUnit.code == mutual_code)
        async with self.sessions() as session:
            rows = (await session.execute(query)).all()
        return [AgentRow(a.phone, a.name, code, _state(a, now)) for a, code in rows]

    async def disable(self, phone: str, by: str) -> None:
        await self._change(phone, by, AuditAction.AGENT_DISABLED, disabled_at=self.now())

    async def enable(self, phone: str, by: str) -> None:
        await self._change(phone, by, AuditAction.AGENT_ENABLED, disabled_at=None)

    async def reset_pin(self, phone: str, by: str) -> None:
        """The agent chooses a new PIN on their next dial."""
        await self._change(
            phone,
            by,
            AuditAction.PIN_RESET,
            pin_hash=None,
            pin_pending_hash=None,
            pin_failures=0,
            locked_until=None,
        )

    async def unlock(self, phone: str, by: str) -> None:
        await self._change(phone, by, AuditAction.AGENT_UNLOCKED, pin_failures=0, locked_until=None)

    async def _change(self, phone: str, by: str, action: AuditAction, **values: object) -> None:
        now = self.now()
        async with writing(self.sessions) as session:
            agent = await session.scalar(
                select(models.Agent).where(models.Agent.phone == phone).with_for_update()
            )
            if agent is None:
                raise AgentError(f"no agent with phone {phone}")
            for field, value in values.items():
                setattr(agent, field, value)
            session.add(entry(by, action, now, details={"agent_id": agent.id}))


def _state(agent: models.Agent, now: datetime) -> str:
    if agent.disabled_at is not None:
        return "disabled"
    if agent.locked_until is not None and as_aware(agent.locked_until, now) > now:
        return "locked"
    return "active" if agent.pin_hash else "no PIN yet"
