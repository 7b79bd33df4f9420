"""The callers' cache: a returning caller's first hop reads Redis, and every write that
changes what it shows is seen on the very next call (gateway.ussd.caller_cache,
gateway.caller_changes)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from db import models
from db.embedded_redis import EmbeddedRedis, running_url
from gateway import cli
from gateway.caller_changes import ForgetCallers
from gateway.enrolment.capability import Enrolment
from gateway.scheme.document import DEMO_SCHEME
from gateway.settings import Settings
from gateway.ussd.caller_cache import CALLER_TTL, entry_key
from gateway.ussd.callers import CallerService
from tests.support.gateway import part, shared
from tests.support.households import enrol_household
from tests.support.ussd_phone import Phone

PHONE = "+2290197000811"
NEIGHBOUR = "+2290197000812"


async def member(session: AsyncSession, member_no: str) -> models.Member:
    found = await session.scalar(select(models.Member).where(models.Member.member_no == member_no))
    assert found is not None
    return found


async def kept(app: Starlette, phone: str) -> bool:
    return bool(await shared(app).redis.exists(entry_key(phone)))


async def test_a_phone_that_joins_is_greeted_as_a_member_on_its_next_call(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    # Not a member yet: asked its language, and that answer is kept too.
    assert "Choisissez la langue" in await Phone(client, PHONE).dial()
    assert await kept(app, PHONE)
    # The gateway's own enrolment: plain INSERTs from a worker thread.
    await enrol_household(part(app, Enrolment).service, PHONE)
    assert not await kept(app, PHONE)
    assert "Bonjour ASSOGBA Rose" in await Phone(client, PHONE).dial()
    assert await kept(app, PHONE)
    assert 0 < await shared(app).redis.ttl(entry_key(PHONE)) <= CALLER_TTL


async def test_a_head_renamed_is_greeted_by_the_new_name_at_once(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    member_no = await enrol_household(part(app, Enrolment).service, PHONE)
    assert "ASSOGBA Rose" in await Phone(client, PHONE).dial()
    async with shared(app).sessions() as session:  # any ORM write: no call to make
        head = await member(session, member_no)
        head.first_names = "Reine"
        await session.commit()
    assert "ASSOGBA Reine" in await Phone(client, PHONE).dial()


async def test_a_write_rolled_back_forgets_nothing(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    member_no = await enrol_household(part(app, Enrolment).service, PHONE)
    await Phone(client, PHONE).dial()
    async with shared(app).sessions() as session:
        head = await member(session, member_no)
        head.first_names = "Reine"
        await session.flush()
        await session.rollback()
    assert await kept(app, PHONE)
    assert "ASSOGBA Rose" in await Phone(client, PHONE).dial()


async def test_an_answer_read_before_a_write_is_not_kept_after_it(app: Starlette) -> None:
    cache = shared(app).callers
    known = {"phone": PHONE, "member_no": "old"}
    before = await cache.read(PHONE)
    await cache.forget({PHONE})  # a write committed while the database was read
    assert not await cache.keep(PHONE, before.token, known, 1)
    assert (await cache.read(PHONE)).known is None
    after = await cache.read(PHONE)
    assert await cache.keep(PHONE, after.token, known, 1)
    again = await cache.read(PHONE)
    assert (again.known, again.version) == (known, 1)


async def test_a_renewal_notice_moved_forgets_every_caller(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await enrol_household(part(app, Enrolment).service, PHONE)
    await Phone(client, PHONE).dial()
    await Phone(client, NEIGHBOUR).dial()
    assert await kept(app, PHONE) and await kept(app, NEIGHBOUR)
    await move_renewal_notice(app, 7)
    try:
        assert not await kept(app, PHONE) and not await kept(app, NEIGHBOUR)
    finally:
        await move_renewal_notice(app, -7)  # the scheme outlives the test


async def move_renewal_notice(app: Starlette, days: int) -> None:
    async with shared(app).sessions() as session:
        product = await session.scalar(
            select(models.Product).where(models.Product.code == "FAMILLE")
        )
        assert product is not None
        product.renewal_opens_days += days
        await session.commit()


async def test_the_duplicate_check_reads_the_heads_the_cache_holds(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    callers = CallerService(shared(app).sessions, shared(app).callers)
    member_no = await enrol_household(part(app, Enrolment).service, PHONE)
    assert await callers.heads(PHONE) is None  # not seen yet: the check asks the database
    await Phone(client, PHONE).dial()
    assert await callers.heads(PHONE) == [("ASSOGBA", "Rose", member_no)]
    async with shared(app).sessions() as session:
        head = await member(session, member_no)
        head.left_on = head.created_at.date()  # (a head leaves: the entry is forgotten)
        await session.commit()
    assert await callers.heads(PHONE) is None
    await Phone(client, PHONE).dial()
    assert await callers.heads(PHONE) == []


def test_a_redis_out_of_reach_never_undoes_the_write(caplog: pytest.LogCaptureFixture) -> None:
    forget = ForgetCallers(None, "redis://127.0.0.1:1/0")  # nothing listens there
    forget(frozenset({PHONE}))  # as after a commit: no exception reaches the writer
    assert "not forgotten (ConnectionError)" in caplog.text


def test_the_commands_find_the_embedded_redis_of_a_running_gateway(tmp_path: Path) -> None:
    assert running_url(tmp_path) is None
    server = EmbeddedRedis(tmp_path)
    server.start()
    try:
        assert running_url(tmp_path) == server.url
    finally:
        server.stop()
    assert running_url(tmp_path) is None


async def test_a_scheme_loaded_by_the_command_line_forgets_the_renewal_dates_shown(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    assert settings.redis_url is not None
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    await enrol_household(part(app, Enrolment).service, PHONE)
    await Phone(client, PHONE).dial()
    moved = tmp_path / "scheme.yaml"
    moved.write_text(
        DEMO_SCHEME.read_text("utf-8").replace("renewal_opens_days: 60", "renewal_opens_days: 45")
    )
    try:
        assert await asyncio.to_thread(cli.main, ["scheme", "load", str(moved)]) == 0
        assert not await kept(app, PHONE)
    finally:
        assert await asyncio.to_thread(cli.main, ["scheme", "load", str(DEMO_SCHEME)]) == 0
