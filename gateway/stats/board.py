"""The dashboard's figures as staff get them: computed on the dashboard's own pool, kept
in Redis for a minute per figure, scope and filters, computed once however many staff
ask at the same moment, and kept warm by the worker for the views staff use.

Why: on a national scheme the whole-scheme figures join a million members and hundreds
of thousands of cover years; computed per page view they take about a second and CPU
that USSD hops need. Figures a minute old are what a campaign dashboard wants anyway;
each answer says when it was computed (`computed_at`).

    board = Board(Source(shared.dashboard_sessions, tz), shared.redis, shared.now)
    computed = await board.figure("overview", scope, filters)   # Computed(figures, at)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError

from gateway.staff.scope import Scope
from gateway.stats import figures, funnel, renewals
from gateway.stats.filters import BadFilter, Filters, parse
from gateway.stats.selection import Source

log = logging.getLogger(__name__)

Figure = Callable[[Source, Scope, Filters, date], Awaitable[dict[str, Any]]]

QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement_timeout
KEY = "stats:v3:"  # v3: renewals counted by `renewal_of_id` (a new meaning)
VIEWS = "stats:views"  # what staff looked at lately, by last use: the worker keeps it warm
LOCK_SECONDS = 30  # longer than any figure may take (the statement timeout is 5 s)


def _undated(
    function: Callable[[Source, Scope, Filters], Awaitable[dict[str, Any]]],
) -> Figure:
    async def figure(source: Source, scope: Scope, wanted: Filters, today: date) -> dict[str, Any]:
        return await function(source, scope, wanted)

    figure.__doc__ = function.__doc__
    return figure


FIGURES: dict[str, Figure] = {
    "overview": _undated(figures.overview),
    "enrolment": _undated(figures.enrolment),
    "coverage": _undated(figures.coverage),
    "collection": _undated(figures.collection),
    "timeseries": figures.timeseries,
    "agents": _undated(figures.agents),
    "sms": _undated(figures.sms),
    "funnel": _undated(funnel.funnel),
    "renewals": renewals.renewals,
    "renewals_due": renewals.renewals_due,
    "retention": renewals.retention,
}


class TooLong(Exception):
    """PostgreSQL cancelled the figure's query (its statement timeout): narrower filters
    help. The API answers 503, a page says so."""


@dataclass(frozen=True)
class Computed:
    figures: dict[str, Any]
    computed_at: datetime


@dataclass(frozen=True)
class View:
    """One figure as one kind of staff member sees it: what the cache is keyed on."""

    figure: str
    role: str
    unit_path: str | None
    filters: dict[str, Any]

    def dumps(self) -> str:
        return json.dumps(
            [self.figure, self.role, self.unit_path, self.filters], separators=(",", ":")
        )

    @classmethod
    def loads(cls, raw: str | bytes) -> View:
        figure, role, unit_path, wanted = json.loads(raw)
        return cls(figure, role, unit_path, wanted)

    def key(self, today: date) -> str:
        digest = hashlib.sha256(f"{self.dumps()}|{today.isoformat()}".encode()).hexdigest()
        return KEY + digest[:40]


class Board:
    def __init__(
        self,
        source: Source,
        redis: Redis,
        now: Callable[[], datetime],
        *,
        keep_seconds: int = 60,
        warm_every: float = 40.0,
        views_kept_seconds: int = 600,
        views_warmed: int = 40,
    ) -> None:
        """`keep_seconds` 0 computes every time (no cache)."""
        self.source = source
        self.redis = redis
        self.now = now
        self.keep_seconds = keep_seconds
        self.warm_every = warm_every
        self.views_kept_seconds = views_kept_seconds
        self.views_warmed = views_warmed
        self._next_warm = 0.0

    async def figure(self, name: str, scope: Scope, wanted: Filters) -> Computed:
        """The figure, from the cache when it is fresh. Raises what the figure raises
        (BadFilter) and TooLong; a Redis failure only costs the cache."""
        view = View(name, scope.role, scope.unit_path, wanted.as_json())
        if self.keep_seconds <= 0:
            return await self._compute(view, scope, wanted)
        try:
            await self.redis.zadd(VIEWS, {view.dumps(): time.time()})
            return await self._cached(view, scope, wanted)
        except RedisError as error:
            log.warning("dashboard cache unavailable (%s): computing", type(error).__name__)
            return await self._compute(view, scope, wanted)

    async def _cached(self, view: View, scope: Scope, wanted: Filters) -> Computed:
        key = view.key(self.now().date())
        deadline = time.monotonic() + LOCK_SECONDS
        while True:
            raw = await self.redis.get(key)
            if raw is not None:
                return _loaded(raw)
            # One computation at a time for the same view; the others wait for its result.
            if await self.redis.set(key + ":lock", "1", nx=True, ex=LOCK_SECONDS):
                try:
                    # Read again under the lock: the one who held it may have stored the
                    # figure between our read and our taking the lock.
                    raw = await self.redis.get(key)
                    if raw is not None:
                        return _loaded(raw)
                    return await self._store(key, view, scope, wanted)
                finally:
                    await self.redis.delete(key + ":lock")
            if time.monotonic() > deadline:
                return await self._compute(view, scope, wanted)
            await asyncio.sleep(0.05)

    async def _store(self, key: str, view: View, scope: Scope, wanted: Filters) -> Computed:
        computed = await self._compute(view, scope, wanted)
        value = json.dumps(
            {"figures": computed.figures, "computed_at": computed.computed_at.isoformat()}
        )
        await self.redis.set(key, value, ex=self.keep_seconds)
        return computed

    async def _compute(self, view: View, scope: Scope, wanted: Filters) -> Computed:
        at = self.now()
        try:
            result = await FIGURES[view.figure](self.source, scope, wanted, at.date())
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) != QUERY_CANCELED:
                raise
            log.warning("figure %s took too long for %s", view.figure, view.filters)
            raise TooLong(view.figure) from None
        return Computed(result, at)

    async def work(self) -> int:
        """The worker job: every `warm_every` seconds, compute again the views staff used
        in the last ten minutes (the most recent first, at most `views_warmed`), so that a page
        finds its figures ready and no staff member waits on a whole-scheme count."""
        if self.keep_seconds <= 0 or time.monotonic() < self._next_warm:
            return 0
        self._next_warm = time.monotonic() + self.warm_every
        # One worker warms per round, however many run.
        if not await self.redis.set(VIEWS + ":warming", "1", nx=True, ex=int(self.warm_every) or 1):
            return 0
        await self.redis.zremrangebyscore(VIEWS, 0, time.time() - self.views_kept_seconds)
        recent = cast(list[bytes], await self.redis.zrevrange(VIEWS, 0, self.views_warmed - 1))
        today = self.now().date()
        warmed = 0
        for raw in recent:
            view = View.loads(raw)
            try:
                wanted = parse({k: str(v) for k, v in view.filters.items() if v is not None})
            except BadFilter:
                await self.redis.zrem(VIEWS, raw)
                continue
            scope = Scope(view.role, view.unit_path)
            try:
                await self._store(view.key(today), view, scope, wanted)
            except Exception as error:  # one slow or broken view must not stop the others
                log.warning("dashboard figure %s not warmed: %s", view.figure, type(error).__name__)
                continue
            warmed += 1
        return warmed


def _loaded(raw: str | bytes) -> Computed:
    stored = json.loads(raw)
    return Computed(stored["figures"], datetime.fromisoformat(stored["computed_at"]))
