"""Africa's Talking's end-of-session notifications, kept for the USSD funnel: once per
session (the aggregator retries), with the menu screen the session ended on and the
caller's mutual when the session knew it, both read from the session still in Redis.

What people typed (`input`: agents' PINs among it), the phone number and the last
screen's text (a member number) are never stored.

    sessionId=ATUid_1&phoneNumber=%2B2290197000001&serviceCode=*384*22%23&networkCode=61603
    &status=Incomplete&durationInMillis=41000&hopsCount=7&input=1*1*3*1*HOUNGBO&cost=XOF+0
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.sessions import SessionStore
from gateway.metrics import events
from menus.identifiers import PhoneNumberError, normalise_phone
from menus.journeys import nodes_with
from menus.nodes import Outcome
from menus.state import SessionState

log = logging.getLogger(__name__)


class MalformedNotice(Exception):
    """Not an end-of-session notification we can read: answered 400."""


@dataclass(frozen=True)
class SessionEnd:
    session_id: str
    phone_number: str  # only to find the session in Redis; never stored
    service_code: str
    network_code: str | None
    status: str
    duration_ms: int | None
    hops: int | None
    error_message: str | None
    cost: str | None

    @classmethod
    def parse(cls, form: dict[str, str]) -> SessionEnd:
        session_id = form.get("sessionId", "").strip()
        status = form.get("status", "").strip()
        if not session_id or not status:
            raise MalformedNotice("sessionId and status are required")
        if len(session_id) > 100:
            raise MalformedNotice("sessionId is longer than 100 characters")
        return cls(
            session_id=session_id,
            phone_number=form.get("phoneNumber", "").strip(),
            service_code=form.get("serviceCode", "").strip()[:40],
            network_code=form.get("networkCode", "").strip()[:10] or None,
            status=status[:16],
            duration_ms=_count(form, "durationInMillis"),
            hops=_count(form, "hopsCount"),
            error_message=form.get("errorMessage", "").strip()[:200] or None,
            cost=form.get("cost", "").strip()[:24] or None,
        )


class SessionEnds:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        store: SessionStore,
        now: Callable[[], datetime],
        country: str,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.now = now
        self.country = country
        # The funnel's outcomes (gateway/stats/funnel.py), by the node a session ended on.
        self.outcomes = {node: outcome.value for outcome in Outcome for node in nodes_with(outcome)}

    async def record(self, notice: SessionEnd) -> bool:
        """False when this session's notification was already recorded."""
        async with self.sessions() as session:
            known = await session.scalar(
                select(models.UssdSessionEnd.id).where(
                    models.UssdSessionEnd.session_id == notice.session_id
                )
            )
        if known is not None:
            return False
        state = await self._stored_state(notice)
        node = state.node if state else None
        row = models.UssdSessionEnd(
            session_id=notice.session_id,
            service_code=notice.service_code,
            network_code=notice.network_code,
            status=notice.status,
            duration_ms=notice.duration_ms,
            hops=notice.hops,
            journey=node.split(".", 1)[0][:40] if node else None,
            last_node=node[:80] if node else None,
            error_message=notice.error_message,
            cost=notice.cost,
            # When we heard of it: the notice's own `date` has no stated time zone.
            ended_at=self.now(),
        )
        try:
            async with self.sessions() as session, session.begin():
                row.mutual_id = await _mutual_of(session, state) if state else None
                session.add(row)
        except IntegrityError:
            return False  # the same notice twice at once: the other copy recorded it
        events.session_ended(self.outcomes.get(node or "", events.NO_OUTCOME), notice.status)
        return True

    async def _stored_state(self, notice: SessionEnd) -> SessionState | None:
        """The session as its last hop left it, while Redis still holds it (it does for
        USSD_SESSION_TTL seconds after that hop)."""
        try:
            phone = normalise_phone(notice.phone_number, self.country)
        except PhoneNumberError:
            return None
        loaded = await self.store.load(notice.session_id, phone)
        if loaded.state is None:
            return None
        try:
            return SessionState.loads(loaded.state)
        except (ValueError, TypeError, KeyError):
            log.warning("USSD session %s: unreadable state at its end", notice.session_id)
            return None


async def _mutual_of(session: AsyncSession, state: SessionState) -> int | None:
    """The caller's mutual, as far as the session knew it: the mutual chosen while
    enrolling (an agent's enrolment is always in the agent's own), else the agent's,
    else the mutual of the household whose phone dialled. None for a stranger who
    stopped before choosing, and for a member number typed for somebody else (a
    facility checking a patient is not that patient's mutual's funnel).

    Read here, once per session, rather than carried in the session on every hop."""
    code = state.data.get("mutual") or state.caller.get("agent_mutual")
    if isinstance(code, str) and code:
        unit = models.SchemeUnit
        return await session.scalar(
            select(unit.id).where(unit.code == code, unit.level == "mutual")
        )
    member_no = state.caller.get("member_no")
    if isinstance(member_no, str) and member_no:
        return await session.scalar(
            select(models.Household.mutual_id)
            .join(models.Member, models.Member.household_id == models.Household.id)
            .where(models.Member.member_no == member_no)
        )
    return None


def _count(form: dict[str, str], name: str) -> int | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(float(raw))  # AT has sent "41000" and "41000.0"
    except (ValueError, OverflowError):
        raise MalformedNotice(f"{name} must be a number") from None
    if not 0 <= value < 2**31:
        raise MalformedNotice(f"{name} is out of range")
    return value
