"""Redis and PostgreSQL restarted while `alafia serve` answers phones: every phone gets a
CON or END screen throughout (an END saying the service is unavailable while a server is
down), never an error or an empty body, and the gateway serves again by itself once the
server is back, without being restarted.

Both servers are the test's own, on free ports: the machine's are never touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from db.engine import create_engine_sync
from db.migrate import upgrade
from gateway.scheme import document as scheme
from gateway.settings import Settings
from tests.support.http_server import free_port
from tests.support.programs import Program, environment, running, wait_for
from tests.support.servers import PrivatePostgres, PrivateRedis, postgres_bindir
from tests.support.ussd_crowd import Crowd

TOKEN = "faults-ussd-token"
UNAVAILABLE_SCREEN = "END Service momentanément indisponible. Merci de réessayer plus tard."


def serve_environ(**servers: str) -> dict[str, str]:
    return {
        **servers,
        "USSD_CALLBACK_TOKEN": TOKEN,
        "AT_CALLBACK_TOKEN": "faults-at-callback-token",
        "FHIR_CANONICAL_BASE": "https://fhir.example.org",
        "REDIS_TIMEOUT": "1",
    }


def _ready(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


async def _through_a_restart(base_url: str, server: Program, kill: Any, start: Any) -> Crowd:
    """Phones dial before, while the server is down, and after it is back."""
    crowd = Crowd(base_url, TOKEN)
    crowd.start()
    try:
        await crowd.until("before", "CON", 8)
        crowd.phase = "down"
        await asyncio.to_thread(kill)
        await crowd.until("down", "END", 8)
        crowd.phase = "back"
        await asyncio.to_thread(start)
        await crowd.until("back", "CON", 8)
    finally:
        await crowd.stop()
    server.check_alive()  # the gateway itself was never restarted
    return crowd


def _assert_every_phone_got_a_screen(crowd: Crowd) -> None:
    assert crowd.wrong == []
    # While down, what was not already under way got the unavailable END, and nothing else.
    assert crowd.count("down", "END") >= 8
    # The only END these hops meet is the one that says so (a new session and the menu's
    # first choice go on with CON otherwise), in the phones' language.
    assert {screen for _, screen in crowd.ends} == {UNAVAILABLE_SCREEN}


async def test_redis_restarted_under_load(settings: Settings, clean: None, tmp_path: Path) -> None:
    redis = PrivateRedis(tmp_path)
    redis.start()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = environment(settings, serve_environ(REDIS_URL=redis.url))
    try:
        with running(["serve", "--port", str(port)], env, tmp_path / "serve.log") as server:
            wait_for("the gateway ready", lambda: _ready(base_url), server)
            crowd = await _through_a_restart(base_url, server, redis.kill, redis.start)
            wait_for("the gateway ready again", lambda: _ready(base_url), server)
    finally:
        redis.kill()
    _assert_every_phone_got_a_screen(crowd)


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL's initdb and pg_ctl are not installed (pg_config --bindir,"
            " /usr/lib/postgresql/*/bin): the restart of PostgreSQL is not tested here"
        )
    cluster = PrivatePostgres(bindir)
    try:
        cluster.start()
        upgrade(cluster.url)
        engine = create_engine_sync(cluster.url)
        with Session(engine) as session, session.begin():
            scheme.load(session, scheme.read_file(scheme.DEMO_SCHEME))
        engine.dispose()
        yield cluster
    finally:
        cluster.remove()


async def test_postgresql_restarted_under_load(
    settings: Settings, clean: None, postgres: PrivatePostgres, tmp_path: Path
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = environment(settings, serve_environ(DATABASE_URL=postgres.url))
    with running(["serve", "--port", str(port)], env, tmp_path / "serve.log") as server:
        wait_for("the gateway ready", lambda: _ready(base_url), server)
        crowd = await _through_a_restart(base_url, server, postgres.crash, postgres.start)
        wait_for("the gateway ready again", lambda: _ready(base_url), server)
    _assert_every_phone_got_a_screen(crowd)
