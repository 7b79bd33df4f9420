"""Database engines: async for the application, sync for migrations and the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession
from sqlalchemy.orm import Session, sessionmaker


def _normalise(url: str) -> URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def async_url(url: str) -> URL:
    parsed = _normalise(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed


def sync_url(url: str) -> URL:
    parsed = _normalise(url)
    if parsed.drivername == "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the USSD path read while a long write runs; busy_timeout makes writers
    # queue instead of failing at once; SQLite ignores foreign keys unless asked.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine_async(url: str, pool_size: int = 10, pre_ping: bool = True) -> AsyncEngine:
    """`pre_ping=False` saves a round trip per checkout, for a hot read path that answers
    503 once after a database restart rather than pay it on every request."""
    if is_sqlite(url):
        engine = create_async_engine(async_url(url), hide_parameters=True)
    else:
        engine = create_async_engine(
            async_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=pre_ping,
            pool_timeout=5,
            hide_parameters=True,  # row values (names, NPI) stay out of error messages
        )
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_engine_sync(url: str) -> Engine:
    from sqlalchemy import create_engine

    engine = create_engine(sync_url(url), hide_parameters=True)
    if is_sqlite(url):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(
    engine: AsyncEngine, info: dict[str, Any] | None = None
) -> async_sessionmaker[AsyncSession]:
    """`info` is copied into each session's own (what the application's listeners read)."""
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


async def write_transaction(session: AsyncSession, lock_key: str | None = None) -> None:
    """Start the session's transaction as a writer that decides on what it reads.

    SQLite has no row locks and its driver begins a transaction only at the first write,
    so two writers could both decide on what they read before it; BEGIN IMMEDIATE takes
    the one write lock first, and the second writer waits, then reads the first's result.
    On PostgreSQL writers lock the rows they decide on (FOR UPDATE); `lock_key` names a
    decision with no row to lock yet (is this family enrolled?), held until commit.
    """
    statement = _writer_statement(session.bind, lock_key)
    if statement is not None:
        await session.execute(*statement)


def _writer_statement(bind: Any, lock_key: str | None) -> tuple[Any, dict[str, str]] | None:
    """The statement that makes a transaction a writer, on this database (see above)."""
    if bind is not None and bind.dialect.name == "sqlite":
        return text("BEGIN IMMEDIATE"), {}
    if lock_key is not None:
        return text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": lock_key}
    return None


# One asyncio lock per SQLite engine: writers of this process queue here, in order,
# instead of spinning in SQLite's busy handler while holding pooled connections.
_SQLITE_WRITERS: dict[int, asyncio.Lock] = {}


def write_queue(bind: Any) -> AbstractAsyncContextManager[Any]:
    """Where this process's writers to `bind` (an engine) wait their turn: SQLite has one
    writer at a time; PostgreSQL locks rows instead, so nothing to wait for here."""
    if bind is not None and bind.dialect.name == "sqlite":
        key = id(bind.sync_engine if hasattr(bind, "sync_engine") else bind)
        return _SQLITE_WRITERS.setdefault(key, asyncio.Lock())
    return nullcontext()


def hold_decision_lock(session: Session, lock_key: str) -> None:
    """Within a writer's transaction already begun, one more decision lock (a batch of
    enrolments, each deciding on its own family): PostgreSQL's advisory lock; on SQLite
    the transaction's write lock already holds every decision."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": lock_key}
        )


def begin_writing(session: Session, lock_key: str | None = None) -> None:
    """`write_transaction` for a synchronous session (run in a worker thread)."""
    statement = _writer_statement(session.get_bind(), lock_key)
    if statement is not None:
        session.execute(*statement)


@asynccontextmanager
async def writing(
    sessions: async_sessionmaker[AsyncSession], lock_key: str | None = None
) -> AsyncIterator[AsyncSession]:
    """A session in a transaction that decides on what it reads, committed on exit."""
    async with write_queue(sessions.kw.get("bind")), sessions() as session, session.begin():
        await write_transaction(session, lock_key)
        yield session


def as_aware(moment: datetime, like: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in `like`'s zone (the
    scheme's: every writer takes its time from the same clock)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=like.tzinfo)


def sync_session_factory(
    engine: Engine, info: dict[str, Any] | None = None
) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, info=info)
