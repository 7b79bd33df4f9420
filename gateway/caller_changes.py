"""Which phones a transaction changed what a session knows of, forgotten in the callers'
cache when it commits (`gateway.ussd.caller_cache`).

Rows written through the ORM are seen on their own at each flush: a household's phone,
language or product, a member's name, place or number, a cover year's dates, an agent,
a desk phone, a product's renewal notice. Rows written as plain statements (the
enrolment's multi-row INSERTs, the import, the language UPDATE) are named by their writer
with `callers_changed`. Either way the phones wait in the session's `info` and are
forgotten once the transaction has committed, by the `Forget` that the session factory
put there (`gateway.infrastructure`, the commands); a session without one forgets nothing
(the entries then expire by themselves).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction
from sqlalchemy.util.concurrency import await_only, in_greenlet

from db import models
from db.embedded_redis import running_url
from db.redis import close, connect
from gateway.settings import Settings
from gateway.ussd.caller_cache import ALL_CALLERS, CALLER_TTL, CallerCache

log = logging.getLogger(__name__)

PENDING = "alafia.callers_changed"  # the phones of this transaction, in session.info
COMMITTED = "alafia.callers_committed"  # the same once committed, until the transaction ends
FORGET = "alafia.forget_callers"  # the Forget of the session factory, in session.info
FORGET_TIMEOUT = 5.0  # seconds a committed write waits for Redis to forget, at most

Forget = Callable[[frozenset[str]], None]

# What a session knows of a phone comes from these columns (gateway.ussd.callers).
_HOUSEHOLD = ("phone", "language", "product_id")
_MEMBER = (
    "household_id",
    "last_name",
    "first_names",
    "relationship_to_head",
    "member_no",
    "left_on",
)
_PERIOD = ("household_id", "starts_on", "covered_until")
_AGENT = ("phone", "mutual_id")


def callers_changed(session: Session | AsyncSession, *phones: str | None) -> None:
    """In the transaction of the change: these phones are forgotten if it commits."""
    pending: set[str] = session.info.setdefault(PENDING, set())
    pending.update(phone for phone in phones if phone)


def households_changed(session: Session, household_ids: Iterable[int]) -> None:
    """The phones of these households (read in the transaction: a sync session)."""
    wanted = set(household_ids)
    if wanted:
        callers_changed(session, *_phones_of(session, wanted))


@event.listens_for(Session, "after_flush")
def _seen_in_flush(session: Session, _flush: UOWTransaction) -> None:
    if FORGET not in session.info:
        return  # a session nobody forgets through (a test's, a backup's): nothing to note
    phones: set[str] = set()
    households: set[int] = set()
    # After the flush the session still lists what it wrote (and attributes their history).
    changed = [(obj, True) for obj in [*session.new, *session.deleted]]
    changed += [(obj, False) for obj in session.dirty]
    for obj, whole in changed:
        if isinstance(obj, models.Household):
            if whole or _moved(obj, _HOUSEHOLD):
                phones.update(_values(obj, "phone"))
        elif isinstance(obj, models.Member | models.CoveragePeriod):
            columns = _MEMBER if isinstance(obj, models.Member) else _PERIOD
            if whole or _moved(obj, columns):
                households.update(_values(obj, "household_id"))
        elif isinstance(obj, models.Agent | models.FacilityPhone):
            # Known phones are kept per process (callers.CallerService): a phone forgotten
            # reads their version again on its next dial, in whichever process. An agent's
            # sign-in (its PIN counters) changes none of what they hold.
            if whole or isinstance(obj, models.FacilityPhone) or _moved(obj, _AGENT):
                phones.update(_values(obj, "phone"))
        elif isinstance(obj, models.Facility) and (whole or _moved(obj, ("revoked_at",))):
            desks = select(models.FacilityPhone.phone).where(
                models.FacilityPhone.facility_id == obj.id
            )
            phones.update(session.execute(desks).scalars())
        elif isinstance(obj, models.Product) and not whole and _moved(obj, ("renewal_opens_days",)):
            phones.add(ALL_CALLERS)  # the renewal date every household of it is shown
    if households:
        phones.update(_phones_of(session, households))
    if phones:
        callers_changed(session, *phones)


def _moved(obj: Any, columns: Collection[str]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in columns)


def _values(obj: Any, column: str) -> set[Any]:
    """The column's value now and before the flush (a phone that changed: both)."""
    history = inspect(obj).attrs[column].history
    return {value for value in (*history.added, *history.unchanged, *history.deleted) if value}


def _phones_of(session: Session, household_ids: set[int]) -> set[str]:
    """From the households the session holds, the database for the rest."""
    phones: set[str] = set()
    missing: set[int] = set()
    for household_id in household_ids:
        held = session.identity_map.get(session.identity_key(models.Household, household_id))
        if isinstance(held, models.Household) and held.phone:
            phones.add(held.phone)
        else:
            missing.add(household_id)
    if missing:
        found = session.execute(
            select(models.Household.phone).where(models.Household.id.in_(missing))
        )
        phones.update(phone for phone in found.scalars() if phone)
    return phones


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    phones = session.info.pop(PENDING, None)
    if phones:
        session.info[COMMITTED] = phones


@event.listens_for(Session, "after_transaction_end")
def _forget_committed(session: Session, transaction: SessionTransaction) -> None:
    # Here, not in after_commit: the connection is back in its pool by now, so a slow
    # Redis never holds a database connection.
    if transaction.parent is not None:
        return
    phones = session.info.pop(COMMITTED, None)
    forget: Forget | None = session.info.get(FORGET)
    if phones and forget is not None:
        forget(frozenset(phones))


@event.listens_for(Session, "after_rollback")
def _keep_uncommitted(session: Session) -> None:
    session.info.pop(PENDING, None)


class ForgetCallers:
    """A Forget for the sessions of one process, whatever the commit runs on: an
    AsyncSession's commit runs in SQLAlchemy's greenlet on the event loop (awaited
    there); a sync session's (an enrolment's worker thread, a command) in a thread with
    no loop running, which forgets through a loop and a client of its own, kept for the
    thread's next commits. A worker thread never waits on the event loop: the loop may
    need a free worker thread itself (a DNS lookup for a new Redis connection)."""

    def __init__(self, cache: CallerCache | None, redis_url: str | None) -> None:
        self.cache = cache
        self.redis_url = redis_url
        self._threads = threading.local()
        self._opened: list[tuple[asyncio.AbstractEventLoop, CallerCache]] = []
        self._lock = threading.Lock()

    def __call__(self, phones: frozenset[str]) -> None:
        if self.cache is None and self.redis_url is None:
            log.warning(
                "no REDIS_URL and no running gateway's Redis: the callers' cache is not told "
                "of %d phone(s) changed (their entries show it within %d minutes)",
                len(phones),
                CALLER_TTL // 60,
            )
            return
        try:
            self._forget(phones)
        except Exception as error:  # the write is committed: never undo it for the cache
            log.warning(
                "callers' cache: %d phone(s) not forgotten (%s); their entries expire alone",
                len(phones),
                type(error).__name__,
            )

    def _forget(self, phones: frozenset[str]) -> None:
        if in_greenlet():
            await_only(self._forgetting(phones))
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:  # a sync session committed on the loop itself: it cannot wait here
            raise RuntimeError("a sync session committed on the event loop")
        loop, cache = self._thread_client()
        loop.run_until_complete(_bounded(cache.forget(phones)))

    async def _forgetting(self, phones: frozenset[str]) -> None:
        if self.cache is not None:
            await _bounded(self.cache.forget(phones))
        elif self.redis_url is not None:  # a command's async session
            redis = connect(self.redis_url, 2, FORGET_TIMEOUT)
            try:
                await _bounded(CallerCache(redis).forget(phones))
            finally:
                await close(redis)

    def _thread_client(self) -> tuple[asyncio.AbstractEventLoop, CallerCache]:
        opened: tuple[asyncio.AbstractEventLoop, CallerCache] | None = getattr(
            self._threads, "client", None
        )
        if opened is None:
            if self.redis_url is None:
                raise RuntimeError("no Redis to forget through")
            opened = (
                asyncio.new_event_loop(),
                CallerCache(connect(self.redis_url, 2, FORGET_TIMEOUT)),
            )
            self._threads.client = opened
            with self._lock:
                self._opened.append(opened)
        return opened

    def close(self) -> None:
        """The threads' loops and clients (their threads may be gone: they are idle)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for loop, cache in opened:
            try:
                loop.run_until_complete(close(cache.redis))
            finally:
                loop.close()


async def _bounded(forgetting: Awaitable[None]) -> None:
    # The write it follows is committed, and its writer waits for this.
    async with asyncio.timeout(FORGET_TIMEOUT):
        await forgetting


def for_commands(settings: Settings) -> dict[str, Any]:
    """The session `info` of a command's own engine: it forgets through the Redis of the
    installation (REDIS_URL, or the embedded server a running gateway started)."""
    return {FORGET: ForgetCallers(None, settings.redis_url or running_url(settings.data_dir))}
