"""A lean Redis client for the USSD hop's two commands (MGET and the session script).

redis-py's asyncio client costs about 400 µs of CPU per command on the development
machine (pool check-out with a liveness probe, retries, observability hooks, a lock per
connection); the same command written to a socket and parsed with hiredis costs about
80 µs. A hop makes two commands, most of a hop's Redis cost, so the hop talks to Redis
through this: an `asyncio.Protocol` per connection, one command in flight on it, hiredis
to parse the replies. Everything else keeps redis-py (`db/redis.py`).

Only for a single Redis server reached over TCP or a unix socket without TLS:
`for_client` answers None for anything else (TLS, Cluster, Sentinel), and the caller
keeps redis-py. Errors are redis-py's exception types, so callers catch one family.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, cast

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError, NoScriptError, ResponseError

Arg = str | bytes | int


def pack(args: tuple[Arg, ...]) -> bytes:
    """A command as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        raw = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(parts)


class _Link(asyncio.Protocol):
    """One connection: a command is written, its reply resolves the waiting future."""

    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Any] | None = None
        self.broken = False
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        try:
            reply = self.reader.gets()
        except hiredis.ProtocolError as error:
            self._fail(ConnectionError(f"Redis protocol error: {error}"))
            return
        if reply is False:
            return  # more bytes to come
        waiter, self.waiter = self.waiter, None
        if waiter is None or waiter.done():
            self._fail(ConnectionError("a Redis reply nobody waited for"))
        else:
            waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError(f"Redis connection lost: {exc or 'closed'}"))

    def _fail(self, error: Exception) -> None:
        self.broken = True
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        if self.transport is not None:
            self.transport.close()

    async def call(self, packed: bytes) -> Any:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(packed)
        reply = await self.waiter
        if isinstance(reply, hiredis.ReplyError):
            message = str(reply)
            if message.startswith("NOSCRIPT"):
                raise NoScriptError(message)
            raise ResponseError(message)
        return reply


class LeanRedis:
    """Up to `size` connections, opened on demand, handed out one command at a time. A
    connection whose command did not end cleanly (cancelled, timed out, lost) is closed,
    never reused: its next reply would answer somebody else's command."""

    def __init__(
        self,
        *,
        host: str | None = None,
        port: int = 6379,
        path: str | None = None,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        size: int = 50,
        connect_timeout: float = 5.0,
    ) -> None:
        self.host, self.port, self.path = host, port, path
        self.db, self.username, self.password = db, username, password
        self.connect_timeout = connect_timeout
        self._idle: deque[_Link] = deque()
        self._slots = asyncio.BoundedSemaphore(size)

    @classmethod
    def for_client(cls, redis: Redis) -> LeanRedis | None:
        """The same server as a redis-py client with a plain connection pool; None for
        TLS or anything that is not one server (the caller keeps redis-py there)."""
        # A Redis Cluster client has no pool of its own (one per node): redis-py keeps it.
        pool = getattr(redis, "connection_pool", None)
        if pool is None:
            return None
        kwargs = pool.connection_kwargs
        if pool.connection_class is UnixDomainSocketConnection:
            host, port, path = None, 0, str(kwargs["path"])
        elif pool.connection_class is Connection:
            host, port = str(kwargs.get("host", "localhost")), int(kwargs.get("port", 6379))
            path = None
        else:
            return None
        return cls(
            host=host,
            port=port,
            path=path,
            db=int(kwargs.get("db") or 0),
            username=kwargs.get("username"),
            password=kwargs.get("password"),
            size=pool.max_connections,
            connect_timeout=float(kwargs.get("socket_connect_timeout") or 5.0),
        )

    async def call(self, *args: Arg) -> Any:
        await self._slots.acquire()
        link: _Link | None = None
        try:
            link = self._idle_link() or await self._open()
            reply = await link.call(pack(args))
        except ResponseError:
            self._release(link)  # an error reply leaves the connection in step
            raise
        except BaseException:
            if link is not None and link.transport is not None:
                link.transport.close()
            self._slots.release()
            raise
        self._release(link)
        return reply

    def _idle_link(self) -> _Link | None:
        """An idle connection of this event loop (tests run one app on several loops)."""
        loop = asyncio.get_running_loop()
        while self._idle:
            link = self._idle.pop()
            if link.loop is loop and not link.broken:
                return link
            if link.transport is not None and not link.loop.is_closed():
                link.transport.close()
        return None

    def _release(self, link: _Link | None) -> None:
        if link is not None and not link.broken:
            self._idle.append(link)
        self._slots.release()

    async def _open(self) -> _Link:
        loop = asyncio.get_running_loop()
        link: _Link | None = None
        try:
            async with asyncio.timeout(self.connect_timeout):
                if self.path is not None:
                    _, link = await loop.create_unix_connection(_Link, self.path)
                else:
                    _, link = await loop.create_connection(
                        _Link, self.host or "localhost", self.port
                    )
                if self.password is not None:
                    auth: tuple[Arg, ...] = (self.password,)
                    if self.username is not None:
                        auth = (self.username, self.password)
                    await link.call(pack(("AUTH", *auth)))
                if self.db:
                    await link.call(pack(("SELECT", self.db)))
        except BaseException as error:
            if link is not None and link.transport is not None:
                link.transport.close()
            if isinstance(error, OSError):
                raise ConnectionError(f"cannot reach Redis: {error}") from error
            raise
        return link

    async def aclose(self) -> None:
        while self._idle:
            link = self._idle.pop()
            if link.transport is not None:
                link.transport.close()
