"""Everything a gateway process holds for its lifetime, built once at start-up.

Nothing here is created per request: one database engine, one Redis pool, one menu
engine with its catalogues, shared by every hop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from sqlalchemy.engine import Engine as DatabaseEngine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.register import CentralRegister
from adapters.sms import SmsSender
from db.embedded_redis import EmbeddedRedis
from db.engine import (
    create_engine_async,
    create_engine_sync,
    session_factory,
    sync_session_factory,
)
from db.redis import connect
from db.sessions import SessionStore
from gateway.agents.desk import AgentDesk
from gateway.agents.pins import AgentPins
from gateway.enrolment.entitlements import RightsService
from gateway.enrolment.service import EnrolmentService
from gateway.payments import providers
from gateway.payments.ledger import Billing
from gateway.payments.service import PaymentsService
from gateway.register import registers
from gateway.register.eligibility import EligibilityService
from gateway.register.facilities import Facilities
from gateway.register.sync import RegisterQueue, RegisterSync
from gateway.scheme.cache import SchemeCache
from gateway.settings import Settings
from gateway.sms import senders
from gateway.sms.campaigns import Campaigns
from gateway.sms.dispatch import Dispatcher
from gateway.sms.inbound import InboundService
from gateway.sms.outbox import Outbox
from gateway.sms.reminders import Reminders
from gateway.sms.reports import Reports
from gateway.stats.board import Board
from gateway.stats.selection import Source
from gateway.ussd.callers import CallerService
from gateway.ussd.effect_runner import EffectRunner
from gateway.ussd.service import UssdService
from gateway.worker import Job
from menus.engine import Engine
from menus.identifiers import NationalIdRule
from menus.journeys import all_journeys
from menus.text import load_catalogues

log = logging.getLogger(__name__)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], date] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        zone = ZoneInfo(settings.timezone)
        # Tests move the day; production reads the clock. Every writer takes its time here.
        self.now: Callable[[], datetime] = (
            now or _now_on(clock, settings.timezone) or (lambda: datetime.now(zone))
        )
        self.embedded: EmbeddedRedis | None = None
        self.db: AsyncEngine
        self.sync_db: DatabaseEngine
        self.sessions: async_sessionmaker[AsyncSession]
        self.redis: Redis
        self.ussd: UssdService
        self.billing: Billing
        self.providers: providers.Providers
        self.payments: PaymentsService
        self.outbox: Outbox
        self.sms_sender: SmsSender
        self.sms_dispatcher: Dispatcher
        self.reminders: Reminders
        self.sms_inbound: InboundService
        self.sms_reports: Reports
        self.campaigns: Campaigns
        self.register: CentralRegister
        self.register_sync: RegisterSync
        self.register_queue: RegisterQueue
        self.facilities: Facilities
        self.eligibility: EligibilityService
        self.board: Board

    async def start(self) -> None:
        settings = self.settings
        redis_url = settings.redis_url
        if redis_url is None:
            self.embedded = EmbeddedRedis(settings.data_dir)
            redis_url = self.embedded.start()
        else:
            log.info("using Redis at %s", _without_password(redis_url))
        self.redis = connect(redis_url, settings.redis_max_connections, settings.redis_timeout)
        self.db = create_engine_async(settings.database_url)
        # Enrolments write from a worker thread through this one (gateway.enrolment).
        self.sync_db = create_engine_sync(settings.database_url)
        self.sessions = session_factory(self.db)
        scheme_cache = SchemeCache(self.sessions, settings.scheme_refresh_seconds)
        callers = CallerService(self.sessions)
        self._start_register()
        self._start_board()
        self._start_sms()
        self.billing = Billing(self.sessions, settings.timezone, self.now, self.outbox)
        self.providers = providers.build(settings.payments)
        self.payments = PaymentsService(self.billing, self.providers, settings.payments)
        catalogues = load_catalogues()
        if settings.default_language not in catalogues:
            raise ValueError(f"DEFAULT_LANGUAGE {settings.default_language!r} has no catalogue")
        self.ussd = UssdService(
            Engine(all_journeys(), catalogues),
            SessionStore(self.redis, settings.ussd_session_ttl, settings.ussd_resume_ttl),
            scheme_cache,
            EffectRunner(
                EnrolmentService(sync_session_factory(self.sync_db), self.outbox, self.now),
                RightsService(self.sessions),
                callers,
                self.payments,
                self.eligibility,
                AgentPins(self.sessions, self.now),
                AgentDesk(self.sessions, self.billing, self.outbox, self.now),
            ),
            callers,
            max_chars=settings.ussd_max_chars,
            default_language=settings.default_language,
            national_id=NationalIdRule(settings.national_id_length),
            country=settings.country,
            timezone=settings.timezone,
            clock=self.clock,
            payments_available=self.providers.available,
        )
        try:
            await scheme_cache.reload()
        except Exception:
            # Start anyway: /readyz says what is wrong and hops answer "unavailable".
            log.exception("could not read the scheme at start-up")

    def _start_sms(self) -> None:
        sms = self.settings.sms
        self.outbox = Outbox.configured(self.settings)
        self.sms_sender = senders.build(sms)
        self.sms_dispatcher = Dispatcher(
            self.sessions,
            self.sms_sender,
            self.now,
            rate=sms.rate,
            concurrency=sms.concurrency,
            give_up_after=timedelta(seconds=sms.give_up_after),
            quiet_hours=self.outbox.quiet_hours,
        )
        self.reminders = Reminders(
            self.sessions,
            self.outbox,
            self.now,
            premium_due_days=sms.premium_due_days,
            cover_ending_days=sms.cover_ending_days,
            every_seconds=sms.sweep_seconds,
        )
        self.sms_inbound = InboundService(
            self.sessions,
            self.outbox,
            self.now,
            per_10_minutes=sms.inbound_per_10_minutes,
            country=self.settings.country,
            facilities=self.facilities,
            eligibility=self.eligibility,
        )
        self.sms_reports = Reports(self.sessions, self.now)
        self.campaigns = Campaigns(self.sessions, self.outbox, self.now)

    def _start_register(self) -> None:
        settings = self.settings.register
        self.register = registers.build(settings, self.sessions)
        self.register_sync = RegisterSync(
            self.sessions,
            self.register,
            self.now,
            max_attempts=settings.max_attempts,
            concurrency=settings.concurrency,
        )
        self.register_queue = RegisterQueue(self.sessions, self.now)
        self.facilities = Facilities(self.sessions, self.now)
        # Facilities' checks read on connections of their own, without a ping per checkout.
        self.reads = create_engine_async(self.settings.database_url, pool_size=5, pre_ping=False)
        self.eligibility = EligibilityService(self.sessions, self.register, self.now, self.reads)
        # The dashboard's heavy reads queue on a small pool of their own: a slow report
        # never takes a connection that a USSD hop or a payment is waiting for.
        self.dashboard_db = create_engine_async(self.settings.database_url, pool_size=3)
        self.dashboard_sessions = session_factory(self.dashboard_db)

    def _start_board(self) -> None:
        settings = self.settings
        keep = settings.stats_cache_seconds
        self.board = Board(
            Source(self.dashboard_sessions, settings.timezone),
            self.redis,
            self.now,
            keep_seconds=keep,
            # Again before they expire, so a page in use never waits on a count.
            warm_every=max(keep * 2 / 3, 1.0),
        )

    @property
    def jobs(self) -> list[Job]:
        """What the background worker does, in order, each round."""
        return [
            self.payments.work,
            self.sms_dispatcher.work,
            self.reminders.work,
            self.register_sync.work,
            self.board.work,
        ]

    async def stop(self) -> None:
        await self.eligibility.log.aclose()  # checks answered are logged before we go
        await self.register.aclose()
        await self.sms_sender.aclose()
        await self.providers.aclose()
        await self.redis.aclose()
        await self.redis.connection_pool.disconnect()
        await self.db.dispose()
        await self.reads.dispose()
        await self.dashboard_db.dispose()
        self.sync_db.dispose()
        if self.embedded is not None:
            self.embedded.stop()


def _now_on(clock: Callable[[], date] | None, timezone: str) -> Callable[[], datetime] | None:
    """Tests fix the day; the time of day stays real."""
    if clock is None:
        return None
    zone = ZoneInfo(timezone)
    return lambda: datetime.combine(clock(), datetime.now(zone).timetz())


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
