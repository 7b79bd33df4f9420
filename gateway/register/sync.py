"""The register sync: the outbox's events pushed to the central register, in order per
household, each once, whatever the register does.

A household's next event waits until the one before it is pushed (or dead), so the
register never sees a payment before the enrolment it belongs to. Across households,
events go by priority (`db.values.EventPriority`): a new enrolment or a payment is pushed
before a backlog of backfill events, which the register still gets, in order, after.
Several workers on PostgreSQL share the work with row locks (SKIP LOCKED) and a lease.
The register ids each push returns (or confirms before failing half-way) are kept, so a
retry updates what exists and never creates a second household. A household enrolled by
voice has all its events held until staff have typed every name its callers said.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Exists, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute, aliased

from adapters.register import (
    CentralRegister,
    EventKind,
    RegisterError,
    RegisterEvent,
    RegisterRejected,
    RegisterUnsupported,
)
from db import models
from db.engine import writing
from db.values import EventPriority, RegisterEventStatus, TranscriptionStatus
from gateway.backoff import backoff
from gateway.register.records import build_event

if TYPE_CHECKING:
    from gateway.register.indigence import IndigenceCheck

log = logging.getLogger(__name__)

BATCH = 20
# Events that bring people the social registry may know as indigent (by their NPI).
NEW_PEOPLE = frozenset({EventKind.HOUSEHOLD_ENROLLED, EventKind.MEMBER_ADDED})
LEASE = timedelta(minutes=5)  # longer than a push of several calls with their timeouts


def retry_after(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... then hourly."""
    return backoff(attempts, most=3600, jitter=0.2)


def names_pending(household_id: ColumnElement[int] | InstrumentedAttribute[int]) -> Exists:
    """Whether a name of the household, said on the voice line, is not typed yet: its
    events wait (and are no sign of a register that is behind)."""
    return (
        select(models.Transcription.id)
        .where(
            models.Transcription.household_id == household_id,
            models.Transcription.status != TranscriptionStatus.DONE,
        )
        .exists()
    )


@dataclass(frozen=True)
class Outcome:
    status: RegisterEventStatus
    error: str | None = None
    register_ids: dict[str, str] | None = None


class RegisterSync:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        register: CentralRegister,
        now: Callable[[], datetime],
        *,
        max_attempts: int,
        concurrency: int = 4,
        indigence: IndigenceCheck | None = None,
    ) -> None:
        self.sessions = sessions
        self.register = register
        # DCI with an indigence rule: a new household's members are checked once it is
        # pushed, and the event waits (retried like a push) until the registry answers.
        self.indigence = indigence
        self.now = now
        self.max_attempts = max_attempts
        # Claim no more than are pushed at once: a claimed event waiting for a free call
        # would use up its lease, and a second worker would take it and push it too.
        self.batch = min(BATCH, concurrency)
        self.calls = asyncio.Semaphore(concurrency)

    async def work(self) -> int:
        """One round: the next event of each household that has one due."""
        now = self.now()
        claimed = await self._claim(now)
        if claimed:
            await asyncio.gather(*(self._push(event_id) for event_id in claimed))
        return len(claimed)

    async def _claim(self, now: datetime) -> list[int]:
        event = models.RegisterEvent
        earlier = aliased(models.RegisterEvent)
        async with writing(self.sessions) as session:
            due = (
                await session.scalars(
                    select(event)
                    .where(
                        event.status == RegisterEventStatus.PENDING,
                        event.next_attempt_at <= now,
                        or_(event.claimed_until.is_(None), event.claimed_until < now),
                        # Only the household's oldest event still to push.
                        ~select(earlier.id)
                        .where(
                            earlier.household_id == event.household_id,
                            earlier.id < event.id,
                            earlier.status == RegisterEventStatus.PENDING,
                        )
                        .exists(),
                        # Held while a name of the household waits for its transcription:
                        # the register gets real names, never the empty ones stored
                        # meanwhile (gateway.transcriptions).
                        ~names_pending(event.household_id),
                    )
                    # Enrolments and payments first, a backfill last (EventPriority); in
                    # the order they happened within a priority. Read from a partial index.
                    .order_by(event.priority, event.id)
                    .limit(self.batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in due:
                row.claimed_until = now + LEASE
            return [row.id for row in due]

    async def _push(self, event_id: int) -> None:
        async with self.calls:
            now = self.now()
            async with self.sessions() as session:
                row = await session.get(models.RegisterEvent, event_id)
                assert row is not None
                link = await session.get(models.RegisterLink, row.household_id)
                known = dict(link.register_ids) if link else {}
                attempts = row.attempts + 1
                try:
                    event: RegisterEvent | None = await build_event(session, row, known, now)
                except (LookupError, ValueError) as error:
                    # Our data cannot make an event: a person must look, nothing to retry.
                    event, outcome = (
                        None,
                        Outcome(RegisterEventStatus.DEAD, f"cannot build the event: {error}"),
                    )
            # Pushed once the session is closed: a slow register must not hold database
            # connections (the pool every job shares) while it answers.
            if event is not None:
                outcome = await self._send(event, attempts)
                if self.indigence is not None and event.kind in NEW_PEOPLE:
                    outcome = await self._check_indigence(row.household_id, attempts, outcome)
            await self._record(row, attempts, outcome, now)

    async def _check_indigence(self, household_id: int, attempts: int, sent: Outcome) -> Outcome:
        if sent.status not in (RegisterEventStatus.PUSHED, RegisterEventStatus.SKIPPED):
            return sent  # tried again with the push
        assert self.indigence is not None
        counts = await self.indigence.household(household_id)
        if not counts.failed:
            return sent
        status = (
            RegisterEventStatus.DEAD
            if attempts >= self.max_attempts
            else RegisterEventStatus.PENDING
        )
        # The push is sent again with the check: the registry applies it once (its
        # transaction_id is the event's).
        return Outcome(status, f"indigence not known: {counts.errors[0]}", sent.register_ids)

    async def _send(self, event: RegisterEvent, attempts: int) -> Outcome:
        try:
            result = await self.register.push(event)
        except RegisterUnsupported as error:
            return Outcome(RegisterEventStatus.SKIPPED, str(error))
        except RegisterRejected as error:
            return Outcome(RegisterEventStatus.DEAD, f"rejected: {error}", error.register_ids)
        except RegisterError as error:  # unavailable, or an answer we could not read
            status = (
                RegisterEventStatus.DEAD
                if attempts >= self.max_attempts
                else RegisterEventStatus.PENDING
            )
            return Outcome(status, f"{type(error).__name__}: {error}", error.register_ids)
        except Exception as error:
            # What the adapter did not sort (a body httpx cannot decode, an adapter bug):
            # counted and backed off like any failure, so the event reaches the dead letters
            # and shows in `register status` instead of returning after every lease, unseen.
            log.exception("register push of %s failed unexpectedly", event.event_id)
            status = (
                RegisterEventStatus.DEAD
                if attempts >= self.max_attempts
                else RegisterEventStatus.PENDING
            )
            return Outcome(status, f"{type(error).__name__}: {error}")
        return Outcome(RegisterEventStatus.PUSHED, None, dict(result.register_ids))

    async def _record(
        self, row: models.RegisterEvent, attempts: int, outcome: Outcome, now: datetime
    ) -> None:
        values: dict[str, Any] = {
            "status": outcome.status,
            "attempts": attempts,
            "claimed_until": None,
            "last_error": outcome.error[:300] if outcome.error else None,
        }
        if outcome.status == RegisterEventStatus.PUSHED:
            values["pushed_at"] = now
        elif outcome.status == RegisterEventStatus.PENDING:
            values["next_attempt_at"] = now + retry_after(attempts)
        async with writing(self.sessions, f"register-household:{row.household_id}") as session:
            moved = await session.execute(
                update(models.RegisterEvent)
                # Only while our claim stands: a push that outlived its lease may have been
                # taken over, and the newer outcome must not be overwritten by ours.
                .where(
                    models.RegisterEvent.id == row.id,
                    models.RegisterEvent.claimed_until == row.claimed_until,
                )
                .values(**values)
            )
            if outcome.register_ids:  # what the register confirmed holds either way
                await _keep_ids(session, row.household_id, outcome.register_ids, now)
            if moved.rowcount and outcome.status == RegisterEventStatus.PENDING:  # type: ignore[attr-defined]
                # The household's later events wait as long as this one: not due, they
                # cost the claim nothing while the register is down.
                await session.execute(
                    update(models.RegisterEvent)
                    .where(
                        models.RegisterEvent.household_id == row.household_id,
                        models.RegisterEvent.id > row.id,
                        models.RegisterEvent.status == RegisterEventStatus.PENDING,
                        models.RegisterEvent.next_attempt_at < values["next_attempt_at"],
                    )
                    .values(next_attempt_at=values["next_attempt_at"])
                )
        if not moved.rowcount:  # type: ignore[attr-defined]
            log.warning(
                "register event %s: lease lost, outcome left to its new worker", row.event_id
            )
        elif outcome.status == RegisterEventStatus.SKIPPED:
            log.debug("register event %s (%s) skipped: %s", row.event_id, row.kind, outcome.error)
        elif outcome.status != RegisterEventStatus.PUSHED:
            log.warning(
                "register event %s (%s) %s: %s",
                row.event_id,
                row.kind,
                outcome.status,
                outcome.error,
            )


async def _keep_ids(
    session: AsyncSession, household_id: int, ids: dict[str, str], now: datetime
) -> None:
    link = await session.get(models.RegisterLink, household_id, with_for_update=True)
    if link is None:
        session.add(
            models.RegisterLink(household_id=household_id, register_ids=ids, updated_at=now)
        )
    else:
        link.register_ids = {**link.register_ids, **ids}
        link.updated_at = now


class RegisterQueue:
    """What operators see of the outbox, and what they can send again."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], now: Callable[[], datetime]):
        self.sessions = sessions
        self.now = now

    async def status(self) -> dict[str, Any]:
        from sqlalchemy import func

        event = models.RegisterEvent
        async with self.sessions() as session:
            counts = (
                await session.execute(
                    select(event.status, event.kind, func.count())
                    .group_by(event.status, event.kind)
                    .order_by(event.status, event.kind)
                )
            ).all()
            oldest = await session.scalar(
                select(func.min(event.occurred_at)).where(
                    event.status == RegisterEventStatus.PENDING
                )
            )
            failing = (
                await session.scalars(
                    select(event)
                    .where(
                        or_(
                            event.status == RegisterEventStatus.DEAD,
                            (event.status == RegisterEventStatus.PENDING) & (event.attempts > 0),
                        )
                    )
                    .order_by(event.id)
                    .limit(50)
                )
            ).all()
        return {
            "counts": [{"status": s, "kind": k, "events": n} for s, k, n in counts],
            "oldest_pending": oldest.isoformat() if oldest else None,
            "failing": [
                {
                    "id": e.id,
                    "event_id": e.event_id,
                    "kind": e.kind,
                    "household_id": e.household_id,
                    "status": e.status,
                    "attempts": e.attempts,
                    "last_error": e.last_error,
                }
                for e in failing
            ],
        }

    async def retry(
        self,
        *,
        event_ids: list[int] | None = None,
        statuses: tuple[str, ...] = (RegisterEventStatus.DEAD,),
    ) -> int:
        """Send dead (or skipped) events again from the start of their backoff.

        Skipped events sent again are a backfill (every event since the gateway was its own
        register, once a real one is configured): they go after the day's enrolments and
        payments. Dead ones, which a person looked at, keep their priority."""
        event = models.RegisterEvent
        query = update(event).where(event.status.in_(statuses))
        if event_ids:
            query = query.where(event.id.in_(event_ids))
        async with writing(self.sessions) as session:
            moved = await session.execute(
                query.values(
                    status=RegisterEventStatus.PENDING,
                    attempts=0,
                    next_attempt_at=self.now(),
                    claimed_until=None,
                    priority=case(
                        (event.status == RegisterEventStatus.SKIPPED, EventPriority.BACKFILL),
                        else_=event.priority,
                    ),
                )
            )
            return int(moved.rowcount or 0)  # type: ignore[attr-defined]
