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

from gateway.staff.scope import Scope
from gateway.stats.filters import Filters
from gateway.stats.renewals import cohorts_kept, cohorts_of, covered_years
from gateway.stats.selection import Source, reading, select_for


async def retention(source: Source, scope: Scope, filters: Filters, today: date) -> dict[str, Any]:
    """`renewals.retention`'s answer, each household's first year found by joining its
    covered years to their per-household minimum."""
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        years = covered_years(sel)
        first = (
            select(years.c.household_id, func.min(years.c.year).label("cohort"))
            .group_by(years.c.household_id)
            .subquery()
        )
        rows = (
            await session.execute(
                select(first.c.cohort, years.c.year, func.count())
                .select_from(years)
                .join(first, first.c.household_id == years.c.household_id)
                .where(*cohorts_kept(first.c.cohort, filters))
                .group_by(first.c.cohort, years.c.year)
            )
        ).all()
    return cohorts_of(rows, today)
