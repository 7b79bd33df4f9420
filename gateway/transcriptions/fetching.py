"""The worker's job: each recorded name's audio, fetched from the provider and kept.

The provider may serve a recording a few seconds after its callback: a fetch that finds
nothing is tried again, 30 s later, then 1 min, 2 min... (`gateway.backoff`), up to
`MAX_FETCHES` times. After that, or at once when no retry can help (a host outside
`VOICE_RECORDING_HOSTS`, a file that is not sound), the transcription is `no_audio`:
still pending, listed for staff with the reason, who call the household for the name.
Nothing is dropped; the household stays enrolled with its names pending.

The audio is kept in the database, not under ALAFIA_DATA_DIR: the dashboard that plays it
may run on another machine than this worker, and backups (`alafia backup`) take it with
everything else. It is small (a few seconds of speech) and dropped once the name is typed.
Several workers share the work like the register sync: rows claimed with SKIP LOCKED and
a lease, the fetch made with no database connection held.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.recordings import Recording, RecordingNotYet, RecordingRefused, RecordingSource
from db import models
from db.engine import writing
from db.values import TranscriptionStatus
from gateway.backoff import backoff

log = logging.getLogger(__name__)

BATCH = 8
MAX_FETCHES = 8  # about an hour of tries: 30 s, 1, 2, 4, 8, 16, 32 min
LEASE = timedelta(minutes=2)  # far longer than one fetch with its timeouts


def retry_after(attempts: int) -> timedelta:
    return backoff(attempts, most=3600, jitter=0.2)


@dataclass(frozen=True)
class _Claim:
    id: int
    url: str
    attempts: int
    claimed_until: datetime


class RecordingFetcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        source: RecordingSource,
        now: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.source = source
        self.now = now

    async def work(self) -> int:
        """One round: every recording due for a fetch, a few at a time."""
        claims = await self._claim(self.now())
        if claims:
            await asyncio.gather(*(self._fetch(claim) for claim in claims))
        return len(claims)

    async def _claim(self, now: datetime) -> list[_Claim]:
        row = models.Transcription
        async with writing(self.sessions) as session:
            due = (
                await session.scalars(
                    select(row)
                    .where(
                        row.status == TranscriptionStatus.AWAITING_AUDIO,
                        row.next_fetch_at <= now,
                        or_(row.claimed_until.is_(None), row.claimed_until < now),
                    )
                    .order_by(row.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for found in due:
                found.claimed_until = now + LEASE
            return [_Claim(t.id, t.recording_url, t.fetch_attempts, now + LEASE) for t in due]

    async def _fetch(self, claim: _Claim) -> None:
        attempts = claim.attempts + 1
        values: dict[str, object] = {"fetch_attempts": attempts, "claimed_until": None}
        try:
            recording: Recording = await self.source.fetch(claim.url)
        except RecordingRefused as refused:
            values |= {"status": TranscriptionStatus.NO_AUDIO, "last_error": str(refused)[:300]}
            log.warning("recording of transcription %s refused: %s", claim.id, refused)
        except RecordingNotYet as missing:
            values["last_error"] = str(missing)[:300]
            if attempts >= MAX_FETCHES:
                values["status"] = TranscriptionStatus.NO_AUDIO
                log.warning(
                    "recording of transcription %s never came after %d tries (%s): left for staff",
                    claim.id,
                    attempts,
                    missing,
                )
            else:
                values["next_fetch_at"] = self.now() + retry_after(attempts)
                log.info("recording of transcription %s not there yet: %s", claim.id, missing)
        else:
            values |= {
                "status": TranscriptionStatus.READY,
                "audio": recording.audio,
                "audio_type": recording.content_type,
                "audio_size": len(recording.audio),
                "fetched_at": self.now(),
                "last_error": None,
            }
        row = models.Transcription
        async with writing(self.sessions) as session:
            moved = await session.execute(
                update(row)
                # Only while our claim stands, and never over a name typed meanwhile.
                .where(
                    row.id == claim.id,
                    row.claimed_until == claim.claimed_until,
                    row.status == TranscriptionStatus.AWAITING_AUDIO,
                )
                .values(**values)
            )
        if not moved.rowcount:  # type: ignore[attr-defined]
            log.info("transcription %s changed during its fetch; outcome dropped", claim.id)


async def waiting_by_state(session: AsyncSession) -> dict[str, int]:
    """Names not typed yet, by the state of their recording (every state, 0 included)."""
    row = models.Transcription
    found = await session.execute(
        select(row.status, func.count())
        .where(row.status != TranscriptionStatus.DONE)
        .group_by(row.status)
    )
    return {
        str(status): 0 for status in TranscriptionStatus if status != TranscriptionStatus.DONE
    } | {status: n for status, n in found.all()}


async def counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        return await waiting_by_state(session)


async def fetch_again(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Every recording given up on (`no_audio`) fetched again by the next worker round,
    with all its tries: after VOICE_RECORDING_HOSTS was set or mended, or the provider's
    outage ended."""
    row = models.Transcription
    async with writing(sessions) as session:
        moved = await session.execute(
            update(row)
            .where(row.status == TranscriptionStatus.NO_AUDIO)
            .values(
                status=TranscriptionStatus.AWAITING_AUDIO,
                fetch_attempts=0,
                next_fetch_at=now,
                claimed_until=None,
            )
        )
    return int(moved.rowcount)  # type: ignore[attr-defined]
