"""The hop's lean Redis client (db/resp.py): the same answers as redis-py, a script
sent again after the server forgot it, and no connection reused after a cut-short
command (its late reply would answer the next one)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from db.redis import connect
from db.resp import LeanRedis
from db.sessions import SessionStore

Clients = tuple[Redis, LeanRedis]


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[Clients]:
    redis = connect(redis_url, 4, 5.0)
    lean = LeanRedis.for_client(redis)
    assert lean is not None
    yield redis, lean
    await lean.aclose()
    await redis.aclose()


async def test_commands_answer_like_redis_py(clients: Clients) -> None:
    redis, lean = clients
    key = f"lean:{{{secrets.token_hex(4)}}}"
    assert await lean.call("SET", key, "é|1", "EX", 60) == b"OK"
    assert await lean.call("MGET", key, key + ":none") == await redis.mget(key, key + ":none")
    with pytest.raises(ResponseError):
        await lean.call("INCR", key)  # not an integer: an error reply
    assert await lean.call("GET", key) == "é|1".encode()  # the connection is still in step


async def test_the_session_script_is_sent_again_after_a_flush(clients: Clients) -> None:
    redis, lean = clients
    store = SessionStore(redis, 60, 60, lean=lean)
    phone = f"+22901{secrets.randbelow(10**8):08d}"
    assert await store.save("s1", phone, 0, '{"a":1}', None, keep_resume=True)
    await redis.script_flush()
    assert await store.save("s1", phone, 1, '{"a":2}', '{"r":1}', keep_resume=False)
    assert not await store.save("s1", phone, 1, '{"a":3}', None, keep_resume=True)  # stale
    loaded = await store.load("s1", phone)
    assert (loaded.version, loaded.state, loaded.resume) == (2, '{"a":2}', '{"r":1}')


async def test_a_cancelled_command_does_not_leave_its_connection_behind(clients: Clients) -> None:
    _, lean = clients
    key = f"lean:{{{secrets.token_hex(4)}}}"
    blocked = asyncio.create_task(lean.call("BLPOP", key, 5))
    await asyncio.sleep(0.1)
    blocked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await blocked
    await lean.call("RPUSH", key, "late")  # would have answered the BLPOP on that connection
    assert await lean.call("LPOP", key) == b"late"
    assert not lean._idle or all(not link.broken for link in lean._idle)
