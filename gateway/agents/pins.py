"""Agents' PINs: the first one chosen only after the one-time activation code staff gave
(`gateway.agents.activation`), checked on every dial, and locked after five wrong PINs or
codes for longer each time: 15 minutes, 1 hour, 24 hours, then until staff unlock. Only
a right PIN (or staff) starts the levels again: waiting out a lock does not, or a
guesser would get about 480 tries a day. Each lock is audited with an alert entry and
logged as a warning (phone masked).

Only scrypt hashes are stored (`gateway.secrets_kdf`); the slow part runs in a worker
thread, outside any database transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import as_aware, writing
from db.values import AuditAction
from gateway.actors import agent_actor
from gateway.agents.activation import grant_of, typed
from gateway.audit import entry
from gateway.metrics import events
from gateway.secrets_kdf import hash_secret_async, verify_secret_async
from menus.effects import PinCheck, PinSet
from menus.identifiers import mask_phone
from menus.journeys.agent import PIN_LENGTHS, trivial_pin

log = logging.getLogger(__name__)

MAX_WRONG = 5
# How long each successive lock lasts; past the last, locked until staff unlock.
LOCKS = (timedelta(minutes=15), timedelta(hours=1), timedelta(hours=24))
HARD_LOCK_LEVEL = len(LOCKS) + 1


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
                agent.pin_failures, agent.locked_until, agent.lock_level = 0, None, 0
                session.add(entry(agent_actor(agent_id), AuditAction.SIGNED_IN, now))
                return _check("ok", left=MAX_WRONG)
            return _count_wrong(session, agent, now)

    async def verify_activation(self, agent_id: int, code: str) -> PinCheck:
        """The activation code of an agent with no PIN yet. Right: a grant this session
        hands to `set_pin`. Wrong: counted like a wrong PIN, toward the same locks."""
        now = self.now()
        async with self.sessions() as session:
            agent = await session.get(models.Agent, agent_id)
        standing = _standing(agent, now)
        if agent is None or standing["outcome"] != "no_pin" or agent.activation_hash is None:
            return _check("already_set") if standing["outcome"] == "ok" else standing
        checked = agent.activation_hash
        right = await verify_secret_async(typed(code), checked)
        async with writing(self.sessions) as session:
            agent = await session.get(
                models.Agent, agent_id, with_for_update=True, populate_existing=True
            )
            standing = _standing(agent, now)
            if agent is None or standing["outcome"] != "no_pin":
                return _check("already_set") if standing["outcome"] == "ok" else standing
            if right and agent.activation_hash == checked:  # not used or replaced meanwhile
                return _check("ok", left=MAX_WRONG, grant=grant_of(checked))
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

    async def set_pin(
        self, agent_id: int, pin: str, replacing: bool, grant: str | None = None
    ) -> PinSet:
        """Keep `pin` if it matches the first entry held. With `replacing` (the old PIN
        given in this session) the agent changes their PIN; without, a first PIN needs
        the `grant` of the right activation code, which is used up here."""
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
            agent = await session.get(
                models.Agent, agent_id, with_for_update=True, populate_existing=True
            )
            assert agent is not None
            if agent.pin_hash is not None and not replacing:
                return PinSet(outcome="already_set")
            if agent.pin_hash is None and not _granted(agent, grant, now):
                return PinSet(outcome="no_code")  # reset by staff meanwhile, or code used
            if agent.pin_pending_hash != held:  # another session held another PIN since
                return PinSet(outcome="mismatch")
            action = AuditAction.PIN_CHANGED if agent.pin_hash is not None else AuditAction.PIN_SET
            # The first entry's hash becomes the PIN's: a second scrypt would add nothing.
            agent.pin_hash, agent.pin_pending_hash = held, None
            agent.activation_hash, agent.activation_expires_at = None, None  # used once
            agent.pin_failures, agent.locked_until, agent.lock_level = 0, None, 0
            session.add(entry(agent_actor(agent_id), action, now))
        return PinSet(outcome="set")


def _granted(agent: models.Agent, grant: str | None, now: datetime) -> bool:
    """The session gave this agent's current activation code, still valid."""
    return (
        grant is not None
        and agent.activation_hash is not None
        and agent.activation_expires_at is not None
        and as_aware(agent.activation_expires_at, now) > now
        and grant_of(agent.activation_hash) == grant
    )


def _count_wrong(session: AsyncSession, agent: models.Agent, now: datetime) -> PinCheck:
    agent.pin_failures += 1
    if agent.pin_failures < MAX_WRONG:
        session.add(entry(agent_actor(agent.id), AuditAction.PIN_WRONG, now))
        return _check("wrong", left=MAX_WRONG - agent.pin_failures)
    agent.pin_failures, agent.lock_level = 0, agent.lock_level + 1
    lasts = LOCKS[agent.lock_level - 1] if agent.lock_level <= len(LOCKS) else None
    agent.locked_until = now + lasts if lasts is not None else None
    details = {
        "agent_id": agent.id,
        "level": agent.lock_level,
        "until": agent.locked_until.isoformat() if agent.locked_until else "staff unlock",
    }
    session.add(entry(agent_actor(agent.id), AuditAction.PIN_LOCKED, now, details=details))
    session.add(
        entry(
            agent_actor(agent.id),
            AuditAction.ALERT,
            now,
            details={"alert": "agent_locked", **details},
        )
    )
    # An alert for whoever watches the logs: no name, the phone masked.
    log.warning(
        "ALERT agent %s locked after %d wrong PINs or codes (level %d of %d, until %s)",
        mask_phone(agent.phone),
        MAX_WRONG,
        agent.lock_level,
        HARD_LOCK_LEVEL,
        details["until"],
    )
    events.locked_out(events.AGENT)
    if lasts is None:
        return _check("blocked")
    return _check("locked", locked_until=agent.locked_until, now=now)


def _standing(agent: models.Agent | None, now: datetime) -> PinCheck:
    if agent is None or agent.disabled_at is not None:
        return _check("disabled")
    if agent.lock_level >= HARD_LOCK_LEVEL:
        return _check("blocked")
    if agent.locked_until is not None and as_aware(agent.locked_until, now) > now:
        return _check("locked", locked_until=as_aware(agent.locked_until, now), now=now)
    if agent.pin_hash is None:
        if agent.activation_hash is None or agent.activation_expires_at is None:
            return _check("no_code")
        if as_aware(agent.activation_expires_at, now) <= now:
            return _check("code_expired")
        return _check("no_pin", left=MAX_WRONG - agent.pin_failures)
    return _check("ok", left=MAX_WRONG - agent.pin_failures)


def _check(
    outcome: str,
    left: int = 0,
    locked_until: datetime | None = None,
    now: datetime | None = None,
    grant: str | None = None,
) -> PinCheck:
    return PinCheck(
        outcome=outcome,
        attempts_left=left,
        locked_until=_when(locked_until, now) if locked_until and now else None,
        grant=grant,
    )


def _when(moment: datetime, now: datetime) -> str:
    """HH:MM in the scheme's time, and the day when it is not today (a 24-hour lock)."""
    local = moment.astimezone(now.tzinfo)
    return f"{local:%H:%M}" if local.date() == now.date() else f"{local:%H:%M %d/%m}"
