"""Retention as it was first counted: every cover year of the scope's households, their
first year found by joining that set to itself. Kept as the reference the faster
`renewals.retention` is checked against (tests/stats/test_retention.py) and as the
baseline of bench/dashboard_cold.py; the API no longer calls it (on PostgreSQL its
self-join ran into the statement timeout from about 9,500 households).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement

from db import models
from gateway.staff.scope import Scope
from gateway.stats.filters import Filters
from gateway.stats.renewals import cohorts_of
from gateway.stats.selection import Source, reading, select_for
from menus.values import CoverageStatus

H = models.Household
P = models.CoveragePeriod


async def retention(source: Source, scope: Scope, filters: Filters, today: date) -> dict[str, Any]:
    """Retention over the years: households by the year they were first covered (their
    cohort: the first cover year, not cancelled, whose rights opened), and how many of
    them are covered again each year after, up to this year. A cover year belongs to the
    year its cover starts: the scheme year's fixed start, else the day rights opened
    (`covered_from`), so a rolling renewal paid before the end counts in the next year.
    `rate` = covered that year ÷ the cohort.

    `from`/`to` keep the cohorts of those years; `mutual`, `commune`, `product` and
    `channel` are the household's (its current product, how it first came)."""
    year = func.extract("year", func.coalesce(P.cover_starts_on, P.covered_from))
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        years = (
            select(P.household_id.label("household_id"), year.label("year"))
            .select_from(P)
            .join(H, H.id == P.household_id)
            .where(
                P.covered_from.is_not(None),
                P.status != CoverageStatus.CANCELLED,
                *sel.households(),
            )
            .distinct()
            .subquery()
        )
        first = (
            select(years.c.household_id, func.min(years.c.year).label("cohort"))
            .group_by(years.c.household_id)
            .subquery()
        )
        cohort_filter: list[ColumnElement[bool]] = []
        if filters.since is not None:
            cohort_filter.append(first.c.cohort >= filters.since.year)
        if filters.until is not None:
            cohort_filter.append(first.c.cohort <= filters.until.year)
        rows = (
            await session.execute(
                select(first.c.cohort, years.c.year, func.count())
                .select_from(years)
                .join(first, first.c.household_id == years.c.household_id)
                .where(*cohort_filter)
                .group_by(first.c.cohort, years.c.year)
            )
        ).all()
    return cohorts_of(rows, today)
