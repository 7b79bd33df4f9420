"""What every capability of one process shares: settings, the clock, the database, Redis
and the rate limits counted in it.

Built without I/O when the process starts (`Shared(settings)`); `start` starts the
embedded Redis where no REDIS_URL is set, `stop` closes every pool. Nothing here is created
per request: one pool per database role, one Redis pool, shared by every hop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import Engine as SyncEngine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from db.embedded_redis import EmbeddedRedis
from db.engine import (
    create_engine_async,
    create_engine_sync,
    session_factory,
    sync_session_factory,
)
from db.redis import close as close_redis
from db.redis import connect
from gateway.caller_changes import FORGET, ForgetCallers
from gateway.limits.rates import Limits, RateLimiter
from gateway.settings import Settings
from gateway.ussd.caller_cache import ALL_CALLERS, CallerCache

log = logging.getLogger(__name__)

Now = Callable[[], datetime]
Today = Callable[[], date]


def scheme_clock(timezone: str, day: Today | None = None, *, moved_to: date | None = None) -> Now:
    """The scheme's time of day. Tests fix the day (`day`); the time of day stays real.

    `moved_to` (`alafia demo --today`) moves the whole calendar by whole days so that
    it reads that day now, and keeps ticking from there: the hours pass, and midnight
    brings the next day, as they would on a real deployment a year later."""
    zone = ZoneInfo(timezone)
    if moved_to is not None:
        shift = moved_to - datetime.now(zone).date()
        return lambda: datetime.now(zone) + shift
    if day is None:
        return lambda: datetime.now(zone)
    return lambda: datetime.combine(day(), datetime.now(zone).timetz())


class Shared:
    def __init__(
        self, settings: Settings, now: Now | None = None, today: Today | None = None
    ) -> None:
        self.settings = settings
        # Every writer takes its time here; tests move it instead of waiting.
        self.now: Now = now or scheme_clock(settings.timezone, today)
        self.today: Today = today or (lambda: self.now().date())
        self.embedded = EmbeddedRedis(settings.data_dir) if settings.redis_url is None else None
        redis_url = self.embedded.url if self.embedded is not None else settings.redis_url
        assert redis_url is not None
        self.redis: Redis = connect(
            redis_url, settings.redis_max_connections, settings.redis_timeout
        )
        # Rate limits every process counts in the same Redis (`gateway.limits.rates`).
        self.limits = Limits(RateLimiter(self.redis, self.now), settings.limits)
        # What a session knows of a returning caller, forgotten by every write that
        # changes it as it commits, through either session factory (gateway.caller_changes).
        self.callers = CallerCache(self.redis)
        self.forget_callers = ForgetCallers(self.callers, redis_url)
        writers = {FORGET: self.forget_callers}
        url = settings.database_url
        self.db: AsyncEngine = create_engine_async(url)
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.db, writers)
        # Enrolments write from a worker thread through this one (gateway.enrolment.service).
        self.sync_db: SyncEngine = create_engine_sync(url)
        self.sync_sessions: sessionmaker[Session] = sync_session_factory(self.sync_db, writers)
        # Eligibility checks and the dashboard read from the replica when there is one
        # (DATABASE_READ_URL), the primary otherwise. Nothing writes through these two.
        read_url = settings.database_read_url or url
        self.has_replica = settings.database_read_url is not None
        # Facilities' checks read on connections of their own, without a ping per checkout.
        self.reads: AsyncEngine = create_engine_async(read_url, pool_size=5, pre_ping=False)
        # The dashboard's heavy reads queue on a small pool of their own: a slow report
        # never takes a connection that a USSD hop or a payment is waiting for.
        self.dashboard_db: AsyncEngine = create_engine_async(read_url, pool_size=3)
        self.dashboard_sessions: async_sessionmaker[AsyncSession] = session_factory(
            self.dashboard_db
        )

    async def start(self) -> None:
        if self.embedded is not None:
            self.embedded.start()
        else:
            log.info("using Redis at %s", without_password(self.settings.redis_url or ""))
        if self.settings.database_read_url is not None:
            log.info(
                "eligibility and statistics read from %s",
                without_password(self.settings.database_read_url),
            )
        # Entries kept for another database must not outlive it (a backup restored, a
        # demo started afresh on a Redis that kept them): a process that starts forgets
        # every caller, and the first hops fill the cache again.
        try:
            await self.callers.forget({ALL_CALLERS})
        except (RedisError, OSError) as error:
            log.warning("callers' cache not emptied at start: %s", type(error).__name__)

    async def stop(self) -> None:
        await asyncio.to_thread(self.forget_callers.close)  # worker threads' own clients
        await close_redis(self.redis)
        await self.db.dispose()
        await self.reads.dispose()
        await self.dashboard_db.dispose()
        self.sync_db.dispose()
        if self.embedded is not None:
            self.embedded.stop()


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
