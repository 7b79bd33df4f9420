"""DATABASE_READ_URL: eligibility checks and the dashboard read from a real streaming
replica (a PostgreSQL cluster of the test's own, and a hot standby made from it with
pg_basebackup), and nothing is ever written there (a standby refuses every write).

Replica lag, made on purpose by pausing the standby's replay: a member enrolled a moment
ago is answered all the same (the replica does not know the number, so the primary is
asked: read your writes); a member the replica knows is answered as the replica has it,
at most its lag old, until replay catches up.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db.engine import create_engine_sync
from db.migrate import upgrade
from gateway.app import create_app
from gateway.payments.capability import Payments
from gateway.register.capability import Register
from gateway.scheme import document as scheme
from gateway.settings import Settings
from tests.conftest import Clock
from tests.register.test_eligibility import OWNER, add_facility, rest
from tests.support.gateway import part, shared
from tests.support.http_server import free_port
from tests.support.paying import enrol
from tests.support.servers import PrivatePostgres, postgres_bindir

SECOND = "+2290197000499"  # another household's phone


class Standby(PrivatePostgres):
    """A hot standby of `primary`, streaming its WAL (pg_basebackup -R)."""

    def __init__(self, primary: PrivatePostgres) -> None:
        self.bindir = primary.bindir
        self.directory = Path(tempfile.mkdtemp(prefix="alafia-pg-standby-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.user = primary.user
        if self.user is not None:
            shutil.chown(self.directory, self.user.pw_uid, self.user.pw_gid)
        self._run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
            *("-D", str(self.data), "-R", "-X", "stream", "-c", "fast"),
        )


@pytest.fixture
def clusters() -> Iterator[tuple[PrivatePostgres, Standby]]:
    bindir = postgres_bindir()
    if bindir is None or not (bindir / "pg_basebackup").is_file():
        pytest.skip("PostgreSQL's initdb, pg_ctl and pg_basebackup are not installed")
    primary = PrivatePostgres(bindir)
    standby: Standby | None = None
    try:
        primary.start()
        upgrade(primary.url)
        engine = create_engine_sync(primary.url)
        with Session(engine) as session, session.begin():
            scheme.load(session, scheme.read_file(scheme.DEMO_SCHEME))
        engine.dispose()
        standby = Standby(primary)
        standby.start()
        yield primary, standby
    finally:
        if standby is not None:
            standby.remove()
        primary.remove()


@pytest.fixture
async def gateway(
    clusters: tuple[PrivatePostgres, Standby],
    redis_url: str,
    clean: None,
    tmp_path: Path,
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    primary, standby = clusters
    settings = Settings.from_env(
        {
            "DATABASE_URL": primary.url,
            "DATABASE_READ_URL": standby.url,
            "REDIS_URL": redis_url,
            "ALAFIA_DATA_DIR": str(tmp_path),
        }
    )
    app = create_app(settings, Clock())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield app, http


def scalar(url: str, query: str) -> object:
    engine = create_engine_sync(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(query)).scalar()
    finally:
        engine.dispose()


async def caught_up(primary: PrivatePostgres, standby: Standby) -> None:
    """Until the standby has replayed everything the primary has written."""
    target = scalar(primary.url, "SELECT pg_current_wal_lsn()::text")
    for _ in range(500):
        done = scalar(standby.url, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
        if done:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the standby never caught up")


async def test_checks_and_figures_read_the_replica_and_a_new_member_is_answered_at_once(
    gateway: tuple[Starlette, httpx.AsyncClient],
    clusters: tuple[PrivatePostgres, Standby],
) -> None:
    app, http = gateway
    primary, standby = clusters
    infrastructure = shared(app)
    for engine in (infrastructure.reads, infrastructure.dashboard_db):
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT pg_is_in_recovery()")) is True
    async with infrastructure.db.connect() as connection:
        assert await connection.scalar(text("SELECT pg_is_in_recovery()")) is False

    # Enrolled, paid and checked with the replica configured: every write went to the
    # primary (the standby would have refused it), the checks are logged there.
    _, key = await add_facility(app)
    head = await enrol(http, OWNER)
    await caught_up(primary, standby)
    assert (await rest(http, head, key)).json()["status"] == "pending_payment"

    # Replica lag: the standby stops replaying what the primary writes.
    scalar(standby.url, "SELECT pg_wal_replay_pause()")
    await part(app, Payments).ledger.record_cash(head, 4725, "Payer")
    newcomer = await enrol(http, SECOND)

    # A member enrolled a moment ago, unknown to the replica: the primary answers.
    fresh = await rest(http, newcomer, key)
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["status"] == "pending_payment"
    # A member the replica knows: answered as the replica has it, its lag old.
    assert (await rest(http, head, key)).json()["status"] == "pending_payment"

    scalar(standby.url, "SELECT pg_wal_replay_resume()")
    await caught_up(primary, standby)
    assert (await rest(http, head, key)).json()["status"] == "waiting"

    # The app's own drainer may hold a batch it claimed but has not committed yet: flush
    # until the four checks are in (or it is plain that they never will be).
    for _ in range(250):
        await part(app, Register).eligibility.log.flush()
        logged = scalar(primary.url, "SELECT count(*) FROM eligibility_checks")
        if logged >= 4:
            break
        await asyncio.sleep(0.02)
    assert logged == 4
    await caught_up(primary, standby)
    assert scalar(standby.url, "SELECT count(*) FROM eligibility_checks") == 4


def test_a_read_url_needs_postgresql_on_both_sides() -> None:
    from gateway.settings import ConfigError

    with pytest.raises(ConfigError, match="DATABASE_READ_URL needs DATABASE_URL on PostgreSQL"):
        Settings.from_env({"DATABASE_READ_URL": "postgresql://replica/alafia"})
    with pytest.raises(ConfigError, match="must be a postgresql:// URL"):
        Settings.from_env(
            {"DATABASE_URL": "postgresql://primary/alafia", "DATABASE_READ_URL": "sqlite:///x"}
        )
    both = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://primary/alafia",
            "DATABASE_READ_URL": "postgresql://replica/alafia",
        }
    )
    assert both.database_read_url == "postgresql://replica/alafia"
