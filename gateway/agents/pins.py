"""Agents' PINs: set on the first dial, checked on every dial, locked after five wrong
ones for fifteen minutes. Only the scrypt hash is stored (`gateway.secrets_kdf`); the
slow part runs in a worker thread, outside any database transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import as_aware, writing
from db.values import AuditAction
from gateway.actors import agent_actor
from gateway.audit import entry
from gateway.metrics import events
from gateway.secrets_kdf import hash_secret_async, verify_secret_async
from menus.effects import PinCheck, PinSet
from menus.journeys.agent import PIN_LENGTHS, trivial_pin

MAX_WRONG = 5
LOCK = timedelta(minutes=15)


class AgentPins:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], now: Callable[[], datetime]
    ) -> None:
        self.sessions = sessions
        self.now = now

    async def status(self, agent_id: int) -> PinCheck:
        """As the agent dials: "ok" when a PIN is set and may be tried now."""
        async with self.sessions() as session:
            agent = await session.get(models.Agent, agent_id)
        return _standing(agent, self.now())

    async def verify(self, agent_id: int, pin: str) -> PinCheck:
        now = self.now()
        async with self.sessions() as session:
            agent = await session.get(models.Agent, agent_id)
        standing = _standing(agent, now)
        if agent is None or agent.pin_hash is None or standing["outcome"] != "ok":
            return standing
        checked = agent.pin_hash
        right = await verify_secret_async(pin, checked)
        # Decided again on the locked row: guesses sent together all pass the first look
        # while scrypt runs, and only the first five wrong ones may count before the lock.
        async with writing(self.sessions) as session:
            agent = await session.get(
                models.Agent, agent_id, with_for_update=True, populate_existing=True
            )
            standing = _standing(agent, now)
            if agent is None or standing["outcome"] != "ok":
                return standing
            if right and agent.pin_hash == checked:  # not changed meanwhile
                agent.pin_failures, agent.locked_until = 0, None
                session.add(entry(agent_actor(agent_id), AuditAction.SIGNED_IN, now))
                return _check("ok", left=MAX_WRONG)
            return _count_wrong(session, agent, now)

    async def hold_first_entry(self, agent_id: int, pin: str) -> bool:
        """Keep the first entry of a new PIN (hashed) until it is typed again."""
        held = await hash_secret_async(pin)
        async with writing(self.sessions) as session:
            await session.execute(
                update(models.Agent)
                .where(models.Agent.id == agent_id)
                .values(pin_pending_hash=held)
            )
        return True

    async def set_pin(self, agent_id: int, pin: str, replacing: bool) -> PinSet:
        """Keep `pin` if it matches the first entry held. Without `replacing` (the old
        PIN given in this session) only an agent with no PIN yet may set one."""
        now = self.now()
        async with self.sessions() as session:
            agent = await session.get(models.Agent, agent_id)
        if agent is None or agent.disabled_at is not None:
            return PinSet(outcome="disabled")
        if not (pin.isascii() and pin.isdigit() and len(pin) in PIN_LENGTHS) or trivial_pin(
            pin, agent.phone
        ):
            return PinSet(outcome="trivial")
        held = agent.pin_pending_hash
        if held is None or not await verify_secret_async(pin, held):
            return PinSet(outcome="mismatch")
        async with writing(self.sessions) as session:
            agent = await session.get(models.Agent, agent_id, with_for_update=True)
            assert agent is not None
            if agent.pin_hash is not None and not replacing:
                return PinSet(outcome="already_set")
            if agent.pin_pending_hash != held:  # another session held another PIN since
                return PinSet(outcome="mismatch")
            action = AuditAction.PIN_CHANGED if agent.pin_hash is not None else AuditAction.PIN_SET
            # The first entry's hash becomes the PIN's: a second scrypt would add nothing.
            agent.pin_hash, agent.pin_pending_hash = held, None
            agent.pin_failures, agent.locked_until = 0, None
            session.add(entry(agent_actor(agent_id), action, now))
        return PinSet(outcome="set")


def _count_wrong(session: AsyncSession, agent: models.Agent, now: datetime) -> PinCheck:
    agent.pin_failures += 1
    if agent.pin_failures >= MAX_WRONG:
        agent.pin_failures, agent.locked_until = 0, now + LOCK
        session.add(entry(agent_actor(agent.id), AuditAction.PIN_LOCKED, now))
        events.locked_out(events.AGENT)
        return _check("locked", locked_until=now + LOCK)
    session.add(entry(agent_actor(agent.id), AuditAction.PIN_WRONG, now))
    return _check("wrong", left=MAX_WRONG - agent.pin_failures)


def _standing(agent: models.Agent | None, now: datetime) -> PinCheck:
    if agent is None or agent.disabled_at is not None:
        return _check("disabled")
    if agent.locked_until is not None and as_aware(agent.locked_until, now) > now:
        return _check(
            "locked", locked_until=as_aware(agent.locked_until, now).astimezone(now.tzinfo)
        )
    if agent.pin_hash is None:
        return _check("no_pin")
    return _check("ok", left=MAX_WRONG - agent.pin_failures)


def _check(outcome: str, left: int = 0, locked_until: datetime | None = None) -> PinCheck:
    return PinCheck(
        outcome=outcome,
        attempts_left=left,
        locked_until=f"{locked_until:%H:%M}" if locked_until else None,
    )
