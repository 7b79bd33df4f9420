"""The dispatcher: from the outbox to the aggregator, each message once.

Each round claims a batch of due messages (row locks with SKIP LOCKED and a lease, so
several workers on PostgreSQL never take the same one), holds back what must wait
(quiet hours) or must not go (a reminder to a number that said STOP), sends the rest
under the configured rate, and records every outcome in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.sms import OutgoingSms, SendOutcome, SendResult, SmsSender
from db import models
from db.engine import as_aware, writing
from db.values import MessageStatus
from gateway.backoff import backoff
from gateway.pace import Pace
from gateway.sms.quiet import QuietHours
from gateway.sms.reports import apply_early_reports

log = logging.getLogger(__name__)

BATCH = 100
# Longer than the slowest batch: BATCH / concurrency calls of at most ~13 s each.
LEASE = timedelta(seconds=300)
PHONES_PER_CALL = 100  # one text to many numbers travels in one call (campaigns)


@dataclass(frozen=True)
class Claimed:
    id: int
    phone: str
    text: str
    quiet: bool
    created_at: datetime
    attempts: int
    lease: datetime  # our claim: the outcome is written only while it stands


def retry_after(attempts: int) -> timedelta:
    """Soon after a first failure, then less often, never more than half an hour."""
    return backoff(attempts, most=1800, jitter=0.1)


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sender: SmsSender,
        now: Callable[[], datetime],
        *,
        rate: int,
        concurrency: int,
        give_up_after: timedelta,
        quiet_hours: QuietHours | None,
    ) -> None:
        self.sessions = sessions
        self.sender = sender
        self.now = now
        self.pace = Pace(rate)
        self.calls = asyncio.Semaphore(concurrency)
        self.give_up_after = give_up_after
        self.quiet_hours = quiet_hours

    async def work(self) -> int:
        """One round; returns how many messages it handled (0: nothing was due)."""
        now = self.now()
        claimed, due = await self._claim(now)
        if not claimed:
            return due
        ready = await self._hold_back(claimed, now)
        await asyncio.gather(*(self._send_and_record(call) for call in _calls(ready)))
        return due

    async def _send_and_record(self, call: tuple[str, list[Claimed]]) -> None:
        """Each call's outcome is written as soon as it is known, not with the round's: a
        worker killed while one call of the batch is out must not leave the messages
        another call already handed over looking unsent (the next worker would send them
        again)."""
        await self._record(await self._send(call), self.now())

    async def _claim(self, now: datetime) -> tuple[list[Claimed], int]:
        """The due messages this worker now holds, and how many were due (some expire)."""
        async with writing(self.sessions) as session:
            due = (
                await session.scalars(
                    select(models.Message)
                    .where(
                        models.Message.status == MessageStatus.QUEUED,
                        models.Message.not_before <= now,
                        or_(
                            models.Message.claimed_until.is_(None),
                            models.Message.claimed_until < now,
                        ),
                    )
                    .order_by(models.Message.not_before, models.Message.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            lease = now + LEASE
            fresh: list[Claimed] = []
            for message in due:
                if now - as_aware(message.created_at, now) >= self.give_up_after:
                    # A receipt or reminder days late says what is no longer true: a worker
                    # that was down, or a backlog, must not send it now.
                    message.status, message.reason = MessageStatus.EXPIRED, "too old to send"
                    continue
                message.claimed_until = lease
                fresh.append(
                    Claimed(
                        message.id,
                        message.phone,
                        message.text,
                        message.quiet,
                        message.created_at,
                        message.attempts,
                        lease,
                    )
                )
            return fresh, len(due)

    async def _hold_back(self, claimed: list[Claimed], now: datetime) -> list[Claimed]:
        """Reminders and campaigns: not to a number that opted out since they were
        queued, and not during quiet hours (a backlog can run late into the night)."""
        unasked = [m for m in claimed if m.quiet]
        if not unasked:
            return claimed
        async with writing(self.sessions) as session:
            opted_out = set(
                await session.scalars(
                    select(models.SmsOptOut.phone).where(
                        models.SmsOptOut.phone.in_({m.phone for m in unasked})
                    )
                )
            )
            stopped = [m.id for m in unasked if m.phone in opted_out]
            if stopped:
                await session.execute(
                    update(models.Message)
                    .where(models.Message.id.in_(stopped))
                    .values(status=MessageStatus.CANCELLED, reason="opted_out", claimed_until=None)
                )
            later = [m.id for m in unasked if m.phone not in opted_out]
            if later and self.quiet_hours is not None and self.quiet_hours.is_quiet(now):
                await session.execute(
                    update(models.Message)
                    .where(models.Message.id.in_(later))
                    .values(not_before=self.quiet_hours.next_allowed(now), claimed_until=None)
                )
            else:
                later = []
        held = set(stopped) | set(later)
        return [m for m in claimed if m.id not in held]

    async def _send(self, call: tuple[str, list[Claimed]]) -> list[tuple[Claimed, SendResult]]:
        text, messages = call
        for _ in messages:
            await self.pace.wait()
        async with self.calls:
            results = await self.sender.send(OutgoingSms(text, tuple(m.phone for m in messages)))
        by_phone = {r.phone: r for r in results}
        missing = SendResult("", SendOutcome.RETRY, reason="no_answer")
        return [(m, by_phone.get(m.phone, missing)) for m in messages]

    async def _record(
        self,
        outcomes: Sequence[tuple[Claimed, SendResult]],
        now: datetime,
    ) -> None:
        if not outcomes:
            return
        rows = [self._row(message, result, now) for message, result in outcomes]
        accepted = [
            r.provider_id
            for _, r in outcomes
            if r.provider_id and r.outcome is SendOutcome.ACCEPTED
        ]
        lease = outcomes[0][0].lease  # one claim per round
        async with writing(self.sessions) as session:
            # Only rows still under our claim: one whose lease ran out belongs to another
            # worker now, and its outcome is that worker's to write.
            await session.execute(
                update(models.Message).where(models.Message.claimed_until == lease),
                rows,
                execution_options={"synchronize_session": None},
            )
            await apply_early_reports(session, accepted, now)
        for message, result in outcomes:
            if result.outcome is not SendOutcome.ACCEPTED:
                log.warning("sms %d %s: %s", message.id, result.outcome.value, result.reason)

    def _row(self, message: Claimed, result: SendResult, now: datetime) -> dict[str, object]:
        row: dict[str, object] = {
            "id": message.id,
            "attempts": message.attempts + 1,
            "claimed_until": None,
            "reason": result.reason,
        }
        if result.outcome is SendOutcome.ACCEPTED:
            row.update(
                status=MessageStatus.SENT,
                provider_id=result.provider_id,
                cost=result.cost,
                sent_at=now,
            )
        elif result.outcome is SendOutcome.REFUSED:
            row.update(status=MessageStatus.REFUSED)
        elif now - as_aware(message.created_at, now) >= self.give_up_after:
            row.update(status=MessageStatus.EXPIRED, reason=f"gave up: {result.reason}"[:120])
        else:
            row.update(not_before=now + retry_after(message.attempts + 1))
        return row


def _calls(messages: list[Claimed]) -> list[tuple[str, list[Claimed]]]:
    """Messages with the same words go together, each number at most once per call."""
    by_text: dict[str, list[list[Claimed]]] = defaultdict(list)
    for message in messages:
        groups = by_text[message.text]
        for group in groups:
            if len(group) < PHONES_PER_CALL and all(m.phone != message.phone for m in group):
                group.append(message)
                break
        else:
            groups.append([message])
    return [(text, group) for text, groups in by_text.items() for group in groups]
