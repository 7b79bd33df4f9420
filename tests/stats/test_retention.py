"""Retention (gateway/stats/renewals.py) gives the answer of the query it replaced
(gateway/stats/retention_cold.py) on the same data, for filters and staff scopes: the
data set of test_renewals (eight households, cover years from 2024 to 2027, a cancelled
renewal, a scheme year) plus a household covered in three years with a gap."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.values import StaffRole
from gateway.staff.scope import Scope
from gateway.stats import renewals, retention_cold
from gateway.stats.filters import Filters
from gateway.stats.selection import Source
from tests.stats.test_renewals import cover_years
from tests.support.gateway import shared

__all__ = ["cover_years"]  # the fixture, shared with the renewals' tests

TODAY = date(2026, 11, 23)
ADMIN = Scope(StaffRole.CENTRAL_ADMIN, None)
PARAKOU = Scope(StaffRole.MUTUAL_MANAGER, "RMS-BJ/ZS-PARAKOU/MS-PARAKOU")
KANDI_VIEWER = Scope(StaffRole.VIEWER, "RMS-BJ/ZS-KANDI")

CASES = [
    (ADMIN, Filters()),
    (ADMIN, Filters(since=date(2025, 1, 1))),
    (ADMIN, Filters(until=date(2024, 12, 31))),
    (ADMIN, Filters(mutual="MS-KANDI")),
    (ADMIN, Filters(product="SCOLAIRE")),
    (ADMIN, Filters(product="NO-SUCH")),
    (ADMIN, Filters(channel="agent")),
    (ADMIN, Filters(commune="Parakou")),
    (PARAKOU, Filters()),
    (PARAKOU, Filters(channel="ussd", since=date(2025, 1, 1))),
    (KANDI_VIEWER, Filters()),
]


@pytest.fixture
def gap_year(cover_years: dict[str, int], db: Session) -> dict[str, int]:
    """H (MS-KANDI, covered 2024 and 2025) covered again in 2027 after a year without:
    its cohort stays 2024, 2026 counts it not."""
    first = db.scalar(
        select(models.CoveragePeriod).where(models.CoveragePeriod.household_id == cover_years["H"])
    )
    assert first is not None
    db.add(
        models.CoveragePeriod(
            household_id=cover_years["H"],
            product_id=first.product_id,
            starts_on=date(2027, 1, 5),
            persons=3,
            premium_due=4725,
            amount_paid=4725,
            paid_in_full_on=date(2027, 1, 5),
            waiting_days=0,
            cover_months=12,
            grace_days=30,
            covered_from=date(2027, 1, 5),
            covered_until=date(2028, 1, 4),
            status="waiting",
        )
    )
    db.commit()
    return cover_years


@pytest.mark.parametrize(("scope", "wanted"), CASES)
async def test_retention_answers_as_the_query_it_replaced(
    gap_year: dict[str, int], app: Starlette, scope: Scope, wanted: Filters
) -> None:
    runtime = shared(app)
    source = Source(runtime.dashboard_sessions, runtime.settings.timezone)

    answer = await renewals.retention(source, scope, wanted, TODAY)
    reference = await retention_cold.retention(source, scope, wanted, TODAY)

    assert answer == reference


async def test_a_gap_year_keeps_the_cohort(gap_year: dict[str, int], app: Starlette) -> None:
    runtime = shared(app)
    source = Source(runtime.dashboard_sessions, runtime.settings.timezone)

    wanted = Filters(mutual="MS-KANDI", until=date(2024, 12, 31))  # H's cohort alone

    cohorts = (await renewals.retention(source, ADMIN, wanted, TODAY))["cohorts"]

    assert [(c["year"], c["households"]) for c in cohorts] == [(2024, 1)]
    assert [(y["year"], y["households"]) for y in cohorts[0]["still_covered"]] == [
        (2025, 1),
        (2026, 0),
        (2027, 1),
    ]
