"""The daily roll-ups the dashboard reads instead of counting every household, member and
payment: households and persons enrolled, succeeded payments, per day of the scheme's
calendar and per mutual, commune, product and channel (and occupation for persons;
provider and channel for payments), kept by the worker up to a watermark day.

Why: on a million members the enrolment, overview and time series figures counted cold
took 0.6-2.4 s (bench/dashboard_cold.py); a year of roll-ups is a few thousand rows.
What changes after its day (coverage statuses, premiums paid on a year) is not here.

- The worker (`Rollup.work`, job `stats.rollup`) folds closed days: days that ended at
  least `CLOSED_AFTER` ago, so a transaction still open when the day ended (an import)
  has committed. It folds under the watermark row's lock (`SELECT ... FOR UPDATE`): two
  workers fold one after the other, the second finds nothing left. A day is deleted and
  counted again in the same transaction, so a fold can be repeated safely.
- The figures add the roll-up's days to what they count live after the watermark (today
  and the days not folded yet), read by the `created_at` indexes: the sum is exact.
- A write that changes a folded day (a member moved between households) puts the
  watermark back before it (`reopen`), in its own transaction.
- `alafia stats rebuild` counts everything again (a new install, a repair).

    households, persons = await enrolment_rows(session, sel)   # grouped rows
    money = await collected_rows(session, sel)   # (provider, channel, payments, amount)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, cast, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from db import models
from db.values import PaymentStatus
from gateway.stats.selection import Selection

H = models.Household
M = models.Member
HD = models.HouseholdDay
PD = models.PersonDay
PYD = models.PaymentDay
PAY = models.Payment
MARK = models.RollupMark

NAME = "enrolment"
CLOSED_AFTER = timedelta(hours=1)  # far longer than any write transaction
DAYS_PER_ROUND = 31  # a worker round stays short; a first fill takes a few rounds

Rows = list[tuple[Any, ...]]


def local_day(column: Any, dialect: str, timezone: str) -> ColumnElement[Any]:
    """The scheme's calendar day of a timestamp (SQLite keeps wall-clock text)."""
    if dialect == "postgresql":
        return cast(func.timezone(timezone, column), Date)
    return func.date(column)


def instant(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(timezone))


def _day_of(value: Any, timezone: str) -> date:
    if isinstance(value, str):  # SQLite's text
        return date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(timezone)).date() if value.tzinfo else value.date()
    return value


class Rollup:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        timezone: str,
        now: Callable[[], datetime],
        days_per_round: int = DAYS_PER_ROUND,
    ) -> None:
        self.sessions = sessions
        self.timezone = timezone
        self.now = now
        self.days_per_round = days_per_round

    def last_closed_day(self) -> date:
        local = self.now().astimezone(ZoneInfo(self.timezone)) - CLOSED_AFTER
        return local.date() - timedelta(days=1)

    async def work(self) -> int:
        """The worker job: folds the next closed days; how many days it folded."""
        return await self._fold(self.days_per_round, again=False)

    async def rebuild(self) -> int:
        """Every closed day counted again, in one transaction; how many days."""
        return await self._fold(None, again=True)

    async def _fold(self, days: int | None, *, again: bool) -> int:
        async with self.sessions() as session, session.begin():
            dialect = session.get_bind().dialect.name
            rolled_until = await _claimed(session, dialect)
            if again:
                await session.execute(delete(HD))
                await session.execute(delete(PD))
                await session.execute(delete(PYD))
                rolled_until = None
            start = rolled_until + timedelta(days=1) if rolled_until else await self._first(session)
            closed = self.last_closed_day()
            if start is None or start > closed:
                if again:
                    await _mark(session, None, self.now())
                return 0
            end = closed if days is None else min(closed, start + timedelta(days=days - 1))
            await session.execute(delete(HD).where(HD.day >= start, HD.day <= end))
            await session.execute(delete(PD).where(PD.day >= start, PD.day <= end))
            await session.execute(delete(PYD).where(PYD.day >= start, PYD.day <= end))
            since, until = instant(start, self.timezone), instant(end + timedelta(1), self.timezone)
            await session.execute(self._households_in(dialect, since, until))
            await session.execute(self._persons_in(dialect, since, until))
            await session.execute(self._payments_in(dialect, since, until))
            await _mark(session, end, self.now())
        return (end - start).days + 1

    async def _first(self, session: AsyncSession) -> date | None:
        """The first day anything was enrolled (read by the `created_at` indexes)."""
        firsts = [
            await session.scalar(select(func.min(H.created_at))),
            await session.scalar(select(func.min(M.created_at))),
            await session.scalar(
                select(func.min(PAY.settled_at)).where(PAY.status == PaymentStatus.SUCCEEDED)
            ),
        ]
        days = [_day_of(first, self.timezone) for first in firsts if first is not None]
        return min(days) if days else None

    def _households_in(self, dialect: str, since: datetime, until: datetime) -> Any:
        rows = (
            select(local_day(H.created_at, dialect, self.timezone).label("day"), *_household_keys())
            .where(H.created_at >= since, H.created_at < until)
            .subquery()
        )
        return _grouped_into(HD, rows, {"households": func.count()})

    def _persons_in(self, dialect: str, since: datetime, until: datetime) -> Any:
        rows = (
            select(
                local_day(M.created_at, dialect, self.timezone).label("day"),
                *_household_keys(),
                func.coalesce(M.occupation, "").label("occupation"),
            )
            .select_from(M)
            .join(H, H.id == M.household_id)
            .where(M.created_at >= since, M.created_at < until)
            .subquery()
        )
        return _grouped_into(PD, rows, {"persons": func.count()})

    def _payments_in(self, dialect: str, since: datetime, until: datetime) -> Any:
        # A payment's status and `settled_at` are set together, once (PaymentStatus only
        # moves forward): a closed day's succeeded payments stay what they were.
        rows = (
            select(
                local_day(PAY.settled_at, dialect, self.timezone).label("day"),
                *_household_keys(),
                PAY.provider,
                PAY.channel.label("paid_through"),
                PAY.amount,
            )
            .select_from(PAY)
            .join(H, H.id == PAY.household_id)
            .where(
                PAY.status == PaymentStatus.SUCCEEDED,
                PAY.settled_at >= since,
                PAY.settled_at < until,
            )
            .subquery()
        )
        totals = {"payments": func.count(), "amount": func.sum(rows.c.amount)}
        return _grouped_into(PYD, rows, totals, summed=("amount",))


def _household_keys() -> tuple[Any, ...]:
    """The household's columns every roll-up is kept by (a missing commune is "")."""
    return (H.mutual_id, func.coalesce(H.commune, "").label("commune"), H.product_id, H.channel)


def _grouped_into(table: Any, rows: Any, totals: dict[str, Any], summed: Sequence[str] = ()) -> Any:
    """INSERT INTO `table` the rows grouped by every column of `rows` but the `summed`
    ones, with `totals`. Grouped over a subquery: PostgreSQL does not see two bound time
    zones as one expression in SELECT and GROUP BY."""
    keys = [column for column in rows.c if column.name not in summed]
    return insert(table).from_select(
        [*(column.name for column in keys), *totals],
        select(*keys, *totals.values()).group_by(*keys),
    )


async def _claimed(session: AsyncSession, dialect: str) -> date | None:
    """The watermark, its row locked until the transaction ends (created when missing;
    two workers creating it at once both find it)."""
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(maker(MARK).values(name=NAME).on_conflict_do_nothing())
    return await session.scalar(
        select(MARK.rolled_until).where(MARK.name == NAME).with_for_update()
    )


async def _mark(session: AsyncSession, rolled_until: date | None, at: datetime) -> None:
    mark = await session.get(MARK, NAME)
    assert mark is not None  # created under the lock by `_claimed`
    mark.rolled_until = rolled_until
    mark.updated_at = at


async def reopen(session: AsyncSession, day: date) -> None:
    """A write changed what a folded day counts (a member moved to another household):
    the watermark goes back before that day, in the writer's transaction, so the worker
    counts it again; until then the figures count it live, exactly."""
    await session.execute(
        update(MARK)
        .where(MARK.name == NAME, MARK.rolled_until >= day)
        .values(rolled_until=day - timedelta(days=1))
    )


async def rolled_until(session: AsyncSession) -> date | None:
    return await session.scalar(select(MARK.rolled_until).where(MARK.name == NAME))


async def enrolment_rows(session: AsyncSession, sel: Selection) -> tuple[Rows, Rows]:
    """Households (mutual_id, commune, product_id, channel, count) and persons (the same
    and occupation, count) enrolled in the selection's period: the folded days from the
    roll-ups, the days after the watermark counted live. A missing commune or occupation
    is "" in both."""
    folded = await rolled_until(session)
    since, until = sel.filters.since, sel.filters.until
    households: Counter[tuple[Any, ...]] = Counter()
    persons: Counter[tuple[Any, ...]] = Counter()
    if folded is not None and (since is None or since <= folded):
        last = folded if until is None else min(until, folded)
        for table, into, column in ((HD, households, HD.households), (PD, persons, PD.persons)):
            keys = _keys(table)
            for *key, count in await session.execute(
                select(*keys, func.sum(column))
                .where(*sel.households(table), *_days(table.day, since, last))
                .group_by(*keys)
            ):
                into[tuple(key)] += int(count)
    if folded is None or until is None or until > folded:
        after = [] if folded is None else [instant(folded + timedelta(1), sel.timezone)]
        for *key, count in await session.execute(_live_households(sel, after)):
            households[_blank(key)] += int(count)
        for *key, count in await session.execute(_live_persons(sel, after)):
            persons[_blank(key)] += int(count)
    return (
        [(*key, count) for key, count in households.items()],
        [(*key, count) for key, count in persons.items()],
    )


def _keys(table: Any) -> list[Any]:
    keys = [table.mutual_id, table.commune, table.product_id, table.channel]
    return [*keys, table.occupation] if table is PD else keys


def _days(column: Any, since: date | None, until: date) -> list[ColumnElement[bool]]:
    return [column <= until, *([] if since is None else [column >= since])]


def _live_households(sel: Selection, after: Sequence[datetime]) -> Any:
    dims = (H.mutual_id, H.commune, H.product_id, H.channel)
    return (
        select(*dims, func.count())
        .where(*sel.households(), *sel.during(H.created_at), *(H.created_at >= a for a in after))
        .group_by(*dims)
    )


def _live_persons(sel: Selection, after: Sequence[datetime]) -> Any:
    dims = (H.mutual_id, H.commune, H.product_id, H.channel, M.occupation)
    return (
        select(*dims, func.count())
        .select_from(M)
        .join(H, H.id == M.household_id)
        .where(*sel.households(), *sel.during(M.created_at), *(M.created_at >= a for a in after))
        .group_by(*dims)
    )


def _blank(key: Sequence[Any]) -> tuple[Any, ...]:
    """A live row's key as the roll-up keeps it: a missing commune or occupation is ""."""
    return tuple("" if value is None else value for value in key)


async def collected_rows(session: AsyncSession, sel: Selection) -> Rows:
    """Succeeded payments settled in the period: (provider, channel, payments, amount),
    the folded days from the roll-up, the days after counted live."""
    folded = await rolled_until(session)
    since, until = sel.filters.since, sel.filters.until
    sums: dict[tuple[Any, Any], list[int]] = {}
    parts = []
    if folded is not None and (since is None or since <= folded):
        last = folded if until is None else min(until, folded)
        parts.append(
            select(PYD.provider, PYD.paid_through, func.sum(PYD.payments), func.sum(PYD.amount))
            .where(*sel.households(PYD), *_days(PYD.day, since, last))
            .group_by(PYD.provider, PYD.paid_through)
        )
    if folded is None or until is None or until > folded:
        after = [] if folded is None else [instant(folded + timedelta(1), sel.timezone)]
        parts.append(
            select(PAY.provider, PAY.channel, func.count(), func.sum(PAY.amount))
            .select_from(PAY)
            .join(H, H.id == PAY.household_id)
            .where(
                PAY.status == PaymentStatus.SUCCEEDED,
                *sel.households(),
                *sel.during(PAY.settled_at),
                *(PAY.settled_at >= a for a in after),
            )
            .group_by(PAY.provider, PAY.channel)
        )
    for query in parts:
        for provider, channel, count, amount in await session.execute(query):
            total = sums.setdefault((provider, channel), [0, 0])
            total[0] += int(count)
            total[1] += int(amount or 0)
    return [(*key, count, amount) for key, (count, amount) in sums.items()]


async def daily_rows(session: AsyncSession, sel: Selection, last: date) -> Rows:
    """The folded days of the period up to `last`: (day, households, persons, payments,
    amount), for the time series."""
    since = sel.filters.since
    totals: dict[date, list[int]] = {}
    for column, table, sums in (
        (0, HD, (func.sum(HD.households),)),
        (1, PD, (func.sum(PD.persons),)),
        (2, PYD, (func.sum(PYD.payments), func.sum(PYD.amount))),
    ):
        for day, *values in await session.execute(
            select(table.day, *sums)
            .where(*sel.households(table), *_days(table.day, since, last))
            .group_by(table.day)
        ):
            row = totals.setdefault(_day_of(day, sel.timezone), [0, 0, 0, 0])
            for i, value in enumerate(values):
                row[column + i] += int(value or 0)
    return [(day, *values) for day, values in sorted(totals.items())]
