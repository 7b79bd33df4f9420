"""The dashboard's time series: what happened per day (or week) of the period."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from db import models
from db.values import PaymentStatus
from gateway.staff.scope import Scope
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
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        households = await _per_bucket(
            session, sel, H.created_at, select(func.count()).select_from(H)
        )
        persons = await _per_bucket(
            session,
            sel,
            M.created_at,
            select(func.count()).select_from(M).join(H, H.id == M.household_id),
        )
        payments = await _per_bucket(
            session,
            sel,
            PAY.settled_at,
            select(func.count(), func.sum(PAY.amount))
            .select_from(PAY)
            .join(H, H.id == PAY.household_id)
            .where(PAY.status == PaymentStatus.SUCCEEDED),
        )
    series = []
    for bucket in _buckets(sel):
        paid = payments.get(bucket, (0, 0))
        series.append(
            {
                "start": bucket,
                "households": int(households.get(bucket, (0,))[0]),
                "persons": int(persons.get(bucket, (0,))[0]),
                "payments": int(paid[0]),
                "collected": int(paid[1] or 0),
            }
        )
    return {"interval": filters.interval, "series": series}


async def _per_bucket(
    session: Any, sel: Selection, column: Any, query: Any
) -> dict[str, tuple[Any, ...]]:
    bucket = sel.bucket(column)
    rows = (
        await session.execute(
            query.add_columns(bucket).where(*sel.households(), *sel.during(column)).group_by(bucket)
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
