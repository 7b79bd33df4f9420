"""The overview's and coverage's statuses count each household's latest cover year
(`figures._latest_years`: DISTINCT ON over an index on PostgreSQL, "no later year" on
SQLite). Checked here against the same figures counted in Python from every cover year,
on the data set of test_renewals and test_retention (nine households, cover years from
2024 to 2027, a cancelled renewal, a gap year), for periods that keep a household's
older year but not its latest one, and for the filters and staff scopes."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from db import models
from gateway.staff.scope import Scope
from gateway.stats import figures
from gateway.stats.filters import Filters
from gateway.stats.selection import Selection, Source, reading, select_for
from menus.values import CoverageStatus
from tests.stats.test_renewals import cover_years
from tests.stats.test_retention import ADMIN, CASES, KANDI_VIEWER, PARAKOU, gap_year
from tests.support.gateway import shared

__all__ = ["cover_years", "gap_year"]  # the fixtures, shared with the renewals' tests

LATEST_CASES = [
    *CASES,
    # A's and B's latest years opened in November 2026, their first ones in 2025: a
    # period of 2025 counts neither household's status, a period of 2026 their latest.
    (ADMIN, Filters(since=date(2025, 1, 1), until=date(2025, 12, 31))),
    (ADMIN, Filters(since=date(2026, 1, 1))),
    (PARAKOU, Filters(until=date(2025, 12, 31))),
    (KANDI_VIEWER, Filters(since=date(2026, 1, 1), product="FAMILLE")),
]

P = models.CoveragePeriod
H = models.Household


def _kept(sel: Selection, household: Any) -> bool:
    """The households the selection keeps, as `Selection.households` says in SQL."""
    return (
        (sel.whole_scheme or household.mutual_id in sel.mutuals)
        and (sel.product_id is None or household.product_id == sel.product_id)
        and (sel.filters.commune is None or household.commune == sel.filters.commune)
        and (sel.filters.channel is None or household.channel == sel.filters.channel)
    )


def _in_period(sel: Selection, day: date) -> bool:
    since, until = sel.filters.since, sel.filters.until
    return (since is None or day >= since) and (until is None or day <= until)


def _statuses(counts: Counter[str]) -> dict[str, int]:
    return {status: counts.get(status, 0) for status in CoverageStatus}


async def counted_in_python(source: Source, scope: Scope, wanted: Filters) -> dict[str, Any]:
    """What the statuses, the years opened and the premiums are, from every cover year
    read one by one: each household's latest year is the one no later year follows."""
    async with reading(source) as session:
        sel = await select_for(session, source, scope, wanted)
        households = {h.id: h for h in (await session.execute(select(H))).scalars()}
        years = list((await session.execute(select(P))).scalars())
    latest: dict[int, Any] = {}
    for year in years:
        if year.household_id not in latest or year.starts_on > latest[year.household_id].starts_on:
            latest[year.household_id] = year
    by_status: Counter[str] = Counter()
    persons: Counter[str] = Counter()
    by_mutual: dict[str, Counter[str]] = {}
    for household_id, year in latest.items():
        household = households[household_id]
        if _kept(sel, household) and _in_period(sel, year.starts_on):
            by_status[year.status] += 1
            persons[year.status] += year.persons
            by_mutual.setdefault(sel.mutual_code(household.mutual_id), Counter())[year.status] += 1
    opened = [
        year
        for year in years
        if _kept(sel, households[year.household_id])
        and _in_period(sel, year.starts_on)
        and year.status != CoverageStatus.CANCELLED
    ]
    renewals = sum(1 for year in opened if year.renewal_of_id is not None)
    due = sum(year.premium_due for year in opened)
    paid = sum(year.amount_paid for year in opened)
    return {
        "coverage": {
            "households": sum(by_status.values()),
            "households_by_status": _statuses(by_status),
            "persons_by_status": _statuses(persons),
            "by_mutual": [
                {"key": key, **_statuses(counts)} for key, counts in sorted(by_mutual.items())
            ],
            "periods_opened": {"first": len(opened) - renewals, "renewals": renewals},
        },
        "households_by_status": _statuses(by_status),
        "premiums": {
            "key": None,
            "premium_due": due,
            "premium_paid": paid,
            "collection_rate": round(paid / due, 4) if due else None,
            "sponsor_share": sum(year.sponsor_share for year in opened),
            "sponsor_paid": sum(year.sponsor_paid for year in opened),
        },
    }


@pytest.mark.parametrize(("scope", "wanted"), LATEST_CASES)
async def test_the_latest_years_are_counted_as_one_by_one(
    gap_year: dict[str, int], app: Starlette, scope: Scope, wanted: Filters
) -> None:
    runtime = shared(app)
    source = Source(runtime.dashboard_sessions, runtime.settings.timezone)

    coverage = await figures.coverage(source, scope, wanted)
    overview = await figures.overview(source, scope, wanted)
    expected = await counted_in_python(source, scope, wanted)

    assert coverage == expected["coverage"]
    assert overview["households_by_status"] == expected["households_by_status"]
    assert overview["premiums"] == expected["premiums"]


async def test_an_older_year_in_the_period_is_not_the_state_now(
    gap_year: dict[str, int], app: Starlette
) -> None:
    runtime = shared(app)
    source = Source(runtime.dashboard_sessions, runtime.settings.timezone)
    # 2025 holds A's and B's first years, both followed by a year opened in 2026.
    year_2025 = Filters(since=date(2025, 1, 1), until=date(2025, 12, 31))

    everything = await figures.coverage(source, ADMIN, Filters())
    in_2025 = await figures.coverage(source, ADMIN, year_2025)

    assert everything["households"] == len(gap_year)  # one latest year each
    assert in_2025["households"] < everything["households"]
    assert (
        in_2025["periods_opened"]["first"] + in_2025["periods_opened"]["renewals"]
        > (in_2025["households"])
    )
