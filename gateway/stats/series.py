"""The dashboard's time series: what happened per day (or week) of the period."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from db import models
from db.values import PaymentStatus
from gateway.staff.scope import Scope
from gateway.stats import rollup
from gateway.stats.filters import Filters
from gateway.stats.selection import Selection, Source, day_key, reading, select_for

H = models.Household
M = models.Member
PAY = models.Payment


async def timeseries(source: Source, scope: Scope, filters: Filters, today: date) -> dict[str, Any]:
    """Per day (or week, from Monday) of the period: households and persons enrolled,
    payments collected and their amount. Every bucket is present, with zeros; without
    `from`/`to`, the last 30 days (or 12 weeks) up to `today`."""
    filters = filters.series_period(today)
    households: Counter[str] = Counter()
    persons: Counter[str] = Counter()
    payments: Counter[str] = Counter()
    collected: Counter[str] = Counter()
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        since, until = filters.since, filters.until
        assert since is not None and until is not None  # set by `series_period`
        # The folded days from the roll-ups, the days after counted live.
        folded = await rollup.rolled_until(session)
        if folded is not None and since <= folded:
            for day, *counts in await rollup.daily_rows(session, sel, min(until, folded)):
                bucket = _bucket_of(day, sel)
                households[bucket] += counts[0]
                persons[bucket] += counts[1]
                payments[bucket] += counts[2]
                collected[bucket] += counts[3]
        if folded is None or until > folded:
            after = [] if folded is None else [rollup.instant(folded + timedelta(1), sel.timezone)]
            live = await _per_bucket(
                session, sel, H.created_at, select(func.count()).select_from(H), after
            )
            households.update({bucket: int(row[0]) for bucket, row in live.items()})
            live = await _per_bucket(
                session,
                sel,
                M.created_at,
                select(func.count()).select_from(M).join(H, H.id == M.household_id),
                after,
            )
            persons.update({bucket: int(row[0]) for bucket, row in live.items()})
            live = await _per_bucket(
                session,
                sel,
                PAY.settled_at,
                select(func.count(), func.sum(PAY.amount))
                .select_from(PAY)
                .join(H, H.id == PAY.household_id)
                .where(PAY.status == PaymentStatus.SUCCEEDED),
                after,
            )
            payments.update({bucket: int(row[0]) for bucket, row in live.items()})
            collected.update({bucket: int(row[1] or 0) for bucket, row in live.items()})
    series = [
        {
            "start": bucket,
            "households": households[bucket],
            "persons": persons[bucket],
            "payments": payments[bucket],
            "collected": collected[bucket],
        }
        for bucket in _buckets(sel)
    ]
    return {"interval": filters.interval, "series": series}


def _bucket_of(day: date, sel: Selection) -> str:
    """The bucket of a folded day: itself, or the Monday of its week."""
    if sel.filters.interval == "week":
        day -= timedelta(days=day.weekday())
    return day.isoformat()


async def _per_bucket(
    session: Any, sel: Selection, column: Any, query: Any, after: list[Any]
) -> dict[str, tuple[Any, ...]]:
    bucket = sel.bucket(column)
    rows = (
        await session.execute(
            query.add_columns(bucket)
            .where(*sel.households(), *sel.during(column), *(column >= a for a in after))
            .group_by(bucket)
        )
    ).all()
    return {day_key(row[-1]): tuple(row[:-1]) for row in rows}


def _buckets(sel: Selection) -> list[str]:
    since, until = sel.filters.since, sel.filters.until
    assert since is not None and until is not None  # set by Filters.series_period
    if sel.filters.interval == "week":
        since -= timedelta(days=since.weekday())
        step = timedelta(days=7)
    else:
        step = timedelta(days=1)
    days = []
    while since <= until:
        days.append(since.isoformat())
        since += step
    return days
