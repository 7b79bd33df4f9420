"""The filters of a statistics request, read from its query string and checked before any
figure is computed: a bad value is refused with its reason (400), a mutual outside the
staff member's scope is refused (403).

    ?from=2026-10-01&to=2026-11-30&mutual=MS-PARAKOU&channel=agent&interval=week
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.values import UnitLevel
from gateway.staff.scope import Scope
from menus.values import Channel

CHANNELS = tuple(Channel)
INTERVALS = ("day", "week")
KNOWN = ("from", "to", "mutual", "commune", "product", "channel", "interval")
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_BUCKETS = 400  # a time series longer than this is a query nobody can read
DEFAULT_SERIES_DAYS = {"day": 30, "week": 7 * 12}  # when a time series names no period
_CODE = re.compile(r"[A-Za-z0-9_.-]{1,32}")


class BadFilter(Exception):
    """A filter that cannot be read: answered 400 with this reason."""


class OutOfScope(Exception):
    """A filter naming a part of the scheme the staff member does not see: 403."""


@dataclass(frozen=True)
class Filters:
    since: date | None = None  # `from`, inclusive
    until: date | None = None  # `to`, inclusive
    mutual: str | None = None  # SchemeUnit.code of a mutual
    commune: str | None = None  # Household.commune
    product: str | None = None  # Product.code
    channel: str | None = None  # Household.channel
    interval: str = "day"  # of a time series

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "mutual": self.mutual,
            "commune": self.commune,
            "product": self.product,
            "channel": self.channel,
            "interval": self.interval,
        }

    def series_period(self, today: date) -> Filters:
        """The same filters with both ends set, for a time series: by default the last
        30 days (or 12 weeks) up to today."""
        until = self.until or max(today, self.since or today)  # `from` alone runs to today
        since = self.since or until - timedelta(days=DEFAULT_SERIES_DAYS[self.interval] - 1)
        step = 1 if self.interval == "day" else 7
        if (until - since).days // step + 1 > MAX_BUCKETS:
            raise BadFilter(
                f"a time series holds at most {MAX_BUCKETS} {self.interval}s: "
                "narrow from/to or use interval=week"
            )
        return replace(self, since=since, until=until)


def parse(query: Mapping[str, str]) -> Filters:
    """The filters of a query string; BadFilter says what is wrong with it."""
    unknown = sorted(set(query) - set(KNOWN))
    if unknown:
        raise BadFilter(f"unknown parameter(s): {', '.join(unknown)}; known: {', '.join(KNOWN)}")
    since = _date(query, "from")
    until = _date(query, "to")
    if since and until and since > until:
        raise BadFilter("from must be on or before to")
    channel = _text(query, "channel")
    if channel is not None and channel not in CHANNELS:
        raise BadFilter(f"channel must be one of {', '.join(CHANNELS)}")
    interval = _text(query, "interval") or "day"
    if interval not in INTERVALS:
        raise BadFilter(f"interval must be one of {', '.join(INTERVALS)}")
    commune = _text(query, "commune")
    if commune is not None and len(commune) > 60:
        raise BadFilter("commune is at most 60 characters")
    return Filters(
        since, until, _code(query, "mutual"), commune, _code(query, "product"), channel, interval
    )


async def authorise(
    sessions: async_sessionmaker[AsyncSession], scope: Scope, filters: Filters
) -> None:
    """Refuse a mutual or product that does not exist (BadFilter) and a mutual outside
    the scope (OutOfScope). Figures also keep to the scope on their own; this gives the
    staff member a reason instead of empty figures."""
    if filters.mutual is None and filters.product is None:
        return
    async with sessions() as session:
        if filters.mutual is not None:
            path = await session.scalar(
                select(models.SchemeUnit.path).where(
                    models.SchemeUnit.code == filters.mutual,
                    models.SchemeUnit.level == UnitLevel.MUTUAL,
                )
            )
            if path is None:
                raise BadFilter(f"no mutual with code {filters.mutual}")
            if not scope.covers(path):
                raise OutOfScope(f"mutual {filters.mutual} is outside your part of the scheme")
        if filters.product is not None:
            found = await session.scalar(
                select(models.Product.id).where(models.Product.code == filters.product)
            )
            if found is None:
                raise BadFilter(f"no product with code {filters.product}")


def _text(query: Mapping[str, str], name: str) -> str | None:
    value = query.get(name, "").strip()
    return value or None


def _date(query: Mapping[str, str], name: str) -> date | None:
    value = _text(query, name)
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadFilter(f"{name} must be a date like 2026-11-23, got {value[:20]!r}") from None
    # Days a scheme can have: also keeps date arithmetic (a day after, weeks before) safe.
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise BadFilter(f"{name} must be between {FIRST_YEAR} and {LAST_YEAR}")
    return day


def _code(query: Mapping[str, str], name: str) -> str | None:
    value = _text(query, name)
    if value is not None and not _CODE.fullmatch(value):
        raise BadFilter(f"{name} must be a code of letters, digits, '-', '_' or '.'")
    return value
