"""What every statistics query shares: where it reads (the dashboard's own pool, under a
time limit), which households it may count (the staff scope and the filters, resolved
once to mutual ids), and how a timestamp falls into a day or a week of the scheme's
calendar on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, cast, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from db import models
from db.values import UnitLevel
from gateway.staff.scope import Scope
from gateway.stats.filters import Filters

# A dashboard query longer than this is cancelled by PostgreSQL: its connection and CPU
# go back to enrolments and payments, and the staff member is asked to narrow the filters.
STATEMENT_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Source:
    """Where figures are read: the dashboard's pool (`Runtime.dashboard_sessions`), never
    the pool USSD hops wait on, and the scheme's time zone for days and weeks."""

    sessions: async_sessionmaker[AsyncSession]
    timezone: str = "Africa/Porto-Novo"
    timeout_ms: int = STATEMENT_TIMEOUT_MS


@dataclass(frozen=True)
class Unit:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class Selection:
    """The filters resolved against the scheme: which mutuals (by id) and product a query
    keeps, and the period as instants in the scheme's time zone."""

    filters: Filters
    dialect: str
    timezone: str
    mutuals: dict[int, Unit]  # every mutual in scope (and in the `mutual` filter)
    products: dict[int, Unit] = field(default_factory=dict)  # every product, for names
    whole_scheme: bool = False  # no scope and no mutual filter: no mutual condition at all
    product_id: int | None = None

    @property
    def starts(self) -> datetime | None:
        return self._instant(self.filters.since)

    @property
    def ends(self) -> datetime | None:
        """The first instant after the period (`to` is inclusive)."""
        until = self.filters.until
        return self._instant(until + timedelta(days=1)) if until else None

    def _instant(self, day: date | None) -> datetime | None:
        if day is None:
            return None
        return datetime.combine(day, time(0), ZoneInfo(self.timezone))

    def in_mutuals(self, column: Any) -> list[ColumnElement[bool]]:
        """The condition keeping rows of the mutuals in scope (and in the `mutual` filter),
        by their mutual's id; none for the whole scheme, so that rows of no mutual count
        there only."""
        return [] if self.whole_scheme else [column.in_(sorted(self.mutuals))]

    def households(self, table: Any = models.Household) -> list[ColumnElement[bool]]:
        """Conditions on `households` for the scope and the filters; or on a table that
        keeps copies of its mutual, product, commune and channel (the daily roll-ups)."""
        conditions = self.in_mutuals(table.mutual_id)
        if self.product_id is not None:
            conditions.append(table.product_id == self.product_id)
        if self.filters.commune is not None:
            conditions.append(table.commune == self.filters.commune)
        if self.filters.channel is not None:
            conditions.append(table.channel == self.filters.channel)
        return conditions

    def during(self, column: Any) -> list[ColumnElement[bool]]:
        """Conditions keeping a timestamp within the period."""
        conditions: list[ColumnElement[bool]] = []
        if self.starts is not None:
            conditions.append(column >= self.starts)
        if self.ends is not None:
            conditions.append(column < self.ends)
        return conditions

    def days(self, column: Any) -> list[ColumnElement[bool]]:
        """Conditions keeping a calendar day (a Date column) within the period."""
        conditions: list[ColumnElement[bool]] = []
        if self.filters.since is not None:
            conditions.append(column >= self.filters.since)
        if self.filters.until is not None:
            conditions.append(column <= self.filters.until)
        return conditions

    def bucket(self, column: Any) -> ColumnElement[Any]:
        """The day (or the Monday of the week) a timestamp falls on, in the scheme's zone.

        SQLite keeps timestamps as wall-clock text, written in the scheme's zone by the
        gateway; PostgreSQL keeps instants and converts them here."""
        if self.dialect == "postgresql":
            local = func.timezone(self.timezone, column)
            if self.filters.interval == "week":
                return cast(func.date_trunc("week", local), Date)
            return cast(local, Date)
        if self.filters.interval == "week":
            return func.date(column, "weekday 0", "-6 days")
        return func.date(column)

    def mutual_code(self, mutual_id: int) -> str:
        unit = self.mutuals.get(mutual_id)
        return unit.code if unit else str(mutual_id)

    def product_code(self, product_id: int) -> str:
        unit = self.products.get(product_id)
        return unit.code if unit else str(product_id)


@asynccontextmanager
async def reading(source: Source) -> AsyncIterator[AsyncSession]:
    """A read-only transaction on the dashboard's pool. On PostgreSQL it is cancelled after
    `timeout_ms`, and runs on one core: two parallel workers per report would take the
    whole of a small machine from the USSD traffic. At most six such transactions run
    at once (the pool and its overflow), so their memory is bounded too."""
    async with source.sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("SET TRANSACTION READ ONLY"))
            await session.execute(text(f"SET LOCAL statement_timeout = {int(source.timeout_ms)}"))
            await session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
            # Hash joins over a million members spill to disk at the default 4 MB.
            await session.execute(text("SET LOCAL work_mem = '64MB'"))
        yield session


async def select_for(
    session: AsyncSession, source: Source, scope: Scope, filters: Filters
) -> Selection:
    """The filters resolved against the scheme's (small) tables of mutuals and products.
    A mutual outside the scope is simply not kept: figures never leave the scope, even
    when the caller forgot `filters.authorise`."""
    units = (
        await session.execute(
            select(
                models.SchemeUnit.id,
                models.SchemeUnit.code,
                models.SchemeUnit.name,
                models.SchemeUnit.path,
            ).where(models.SchemeUnit.level == UnitLevel.MUTUAL)
        )
    ).all()
    mutuals = {
        row.id: Unit(row.id, row.code, row.name)
        for row in units
        if scope.covers(row.path) and filters.mutual in (None, row.code)
    }
    products = {
        row.id: Unit(row.id, row.code, str(row.code))
        for row in (await session.execute(select(models.Product.id, models.Product.code))).all()
    }
    product_id = next((p.id for p in products.values() if p.code == filters.product), None)
    if filters.product is not None and product_id is None:
        product_id = -1  # an unknown product matches nothing
    return Selection(
        filters=filters,
        dialect=session.get_bind().dialect.name,
        timezone=source.timezone,
        mutuals=mutuals,
        products=products,
        whole_scheme=scope.unit_path is None and filters.mutual is None,
        product_id=product_id,
    )


def day_key(value: Any) -> str:
    """A bucket as returned by either database (a date, or ISO text on SQLite)."""
    return value.isoformat() if isinstance(value, date) else str(value)[:10]
