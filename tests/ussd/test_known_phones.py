"""Two gateway processes sharing one Redis and one database: an agent added, disabled or
enabled, and a desk phone added or revoked in one (or by the command line) is seen on
the very next dial by the other. Before, each process kept the phones it had read for
up to a minute.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import event
from starlette.applications import Starlette

from gateway import cli
from gateway.agents.accounts import Agents
from gateway.app import create_app
from gateway.register.capability import Register
from gateway.settings import Settings
from tests.conftest import Clock
from tests.support.agents import add_agent
from tests.support.gateway import part, shared
from tests.support.ussd_phone import Phone

AGENT = "+2290197000651"
DESK = "+2290197000652"
OTHER = "+2290197000653"
PIN = "738159"


@pytest.fixture
async def other(settings: Settings, clock: Clock, clean: None) -> AsyncIterator[Starlette]:
    """A second gateway process: its own caches and pools, the same Redis and database."""
    second = create_app(settings, clock)
    async with second.router.lifespan_context(second):
        yield second


@pytest.fixture
async def other_client(other: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=other)
    async with httpx.AsyncClient(transport=transport, base_url="http://other.test") as http:
        yield http


async def test_an_agent_added_in_one_process_is_known_at_once_in_the_other(
    app: Starlette, client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    # The other process has just read the known phones: a member's menu for a stranger.
    assert "Code PIN agent" not in await Phone(other_client, AGENT).dial()
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    assert "Code PIN agent" in await Phone(other_client, AGENT).dial()
    assert "Menu agent" in await Phone(other_client, AGENT).dial(PIN)


async def test_an_agent_disabled_or_enabled_in_one_process_is_seen_in_the_other(
    app: Starlette, client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    assert "Menu agent" in await Phone(other_client, AGENT).dial(PIN)
    agents = Agents(shared(app).sessions, shared(app).now)
    await agents.disable(AGENT, "cli:test")
    reply = await Phone(other_client, AGENT).dial(PIN)
    assert reply.startswith("END ") and "Compte agent désactivé" in reply
    await agents.enable(AGENT, "cli:test")
    assert "Menu agent" in await Phone(other_client, AGENT).dial(PIN)


async def desk(http: httpx.AsyncClient, phone: str) -> bool:
    """Whether the phone gets the desk's menu (after the language, asked on a first call)."""
    dialled = Phone(http, phone)
    screen = await dialled.dial()
    if "Choisissez la langue" in screen:
        screen = await dialled.type("1")
    return "6. Vérifier un patient" in screen


async def test_desk_phones_added_and_revoked_in_one_process_are_seen_in_the_other(
    app: Starlette, client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    assert not await desk(other_client, DESK)
    facilities = part(app, Register).facilities
    await facilities.add("CS-PKU", "CS Parakou", [DESK], by="cli:test")
    assert await desk(other_client, DESK)
    await facilities.set_phones("CS-PKU", [OTHER], by="cli:test")
    assert not await desk(other_client, DESK)
    assert await desk(other_client, OTHER)
    await facilities.revoke("CS-PKU", by="cli:test")
    assert not await desk(other_client, OTHER)
    await facilities.new_key("CS-PKU", by="cli:test")  # lifts the revocation
    assert await desk(other_client, OTHER)


async def test_an_agent_added_by_the_command_line_is_known_at_once_by_a_running_gateway(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The command line runs its own engine: the version travels with its transaction,
    and the phone's entry in the callers' cache is forgotten through the installation's
    Redis (REDIS_URL, as the gateway's) once it commits."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert settings.redis_url is not None
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(settings.data_dir))
    assert "Code d'activation" not in await Phone(client, AGENT).dial()
    add = ["agents", "add", "--phone", AGENT, "--name", "Bio Sika", "--mutual", "MS-PARAKOU"]
    assert await asyncio.to_thread(cli.main, add) == 0  # its own event loop, as a process
    assert "Code d'activation" in await Phone(client, AGENT).dial()


async def test_a_first_hop_reads_the_version_in_the_query_it_made_anyway(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """No query more per session than before: one for a phone not seen lately (household
    and version together) once the phones are known, none for a phone the callers' cache
    holds; Redis: the session's MGET and save, and the cache's read on a first hop."""
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    await Phone(client, OTHER).dial()  # the phones read after the change
    engine = shared(app).db.sync_engine

    async def callers_read_by(phone: str) -> list[str]:
        statements: list[str] = []

        def count(conn: object, cursor: object, statement: str, *args: object) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            await Phone(client, phone).dial()
        finally:
            event.remove(engine, "before_cursor_execute", count)
        # (The scheme's cache may refresh meanwhile: its reads are not the caller's.)
        tables = ("households", "agents", "facility_phones", "cache_")
        return [s for s in statements if any(table in s for table in tables)]

    unseen = await callers_read_by(DESK)
    assert len(unseen) == 1 and "cache_versions" in unseen[0] and "households" in unseen[0]
    assert await callers_read_by(OTHER) == []
    # Known phones changed since OTHER's entry was kept (with the older version): the
    # entry stands (only the changed phones were forgotten), and reads nothing again.
    await add_agent(app, "+2290197000654", "Alia Bio", "MS-PARAKOU", pin=PIN)
    await Phone(client, "+2290197000655").dial()  # this process reads the phones again
    assert await callers_read_by(OTHER) == []
