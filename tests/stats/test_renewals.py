"""Renewal statistics (gateway/stats/renewals.py) against a known data set: the renewal
rate, the households still to visit, retention over the years, and the coverage
figure's renewals counted the same way. Figures worked out by hand below.

TODAY is 2026-11-23. Each household's cover years (the second renews the first, by
`renewal_of_id`):

    household mutual      product   cover years, covered from..until          renewal
    A         MS-PARAKOU  FAMILLE   2025-11-01..2026-10-31, 2026-11-01..2027-10-31  ussd, paid
    B         MS-PARAKOU  FAMILLE   2025-11-11..2026-11-10, then opened, unpaid  agent
    C         MS-PARAKOU  SCOLAIRE  scheme year 2025-09-01..2026-08-31          none
    D         MS-NDALI    FAMILLE   2025-12-16..2026-12-15                      none (not ended,
                                                                                window open)
    E         MS-KANDI    FAMILLE   2025-10-01..2026-09-30, then cancelled      ussd (cancelled)
    F         MS-PARAKOU  FAMILLE   never paid (no end)                         -
    G         MS-PARAKOU  FAMILLE   2025-11-21..2026-11-20 (in grace)           none
    H         MS-KANDI    FAMILLE   2024-03-01..2025-02-28, 2025-03-01..2026-02-28  agent, paid;
                                                                                then none

A year is due once its renewal window has opened (its end less the product's 60
`renewal_opens_days`). Due up to today (windows opened by 2026-11-23, so ending by
2027-01-22): A's first year, B, C, D, E, G, H's two years = 8; renewed A, B, H (2024) = 3;
paid A, H = 2. D has not ended, yet it counts: its household may renew since 2026-10-16.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from db import models
from db.values import StaffRole
from gateway.enrolment.service import EnrolmentService
from tests.stats.test_api import Staff, by_key, login, sql
from tests.support.households import enrol_household

__all__ = ["login"]  # the fixture, shared with the API's tests

HOUSEHOLDS = {
    # key: mutual, product, channel
    "A": ("MS-PARAKOU", "FAMILLE", "ussd"),
    "B": ("MS-PARAKOU", "FAMILLE", "agent"),
    "C": ("MS-PARAKOU", "SCOLAIRE", "import"),
    "D": ("MS-NDALI", "FAMILLE", "ussd"),
    "E": ("MS-KANDI", "FAMILLE", "ussd"),
    "F": ("MS-PARAKOU", "FAMILLE", "ussd"),
    "G": ("MS-PARAKOU", "FAMILLE", "ussd"),
    "H": ("MS-KANDI", "FAMILLE", "agent"),
}


def d(day: str) -> date:
    return date.fromisoformat(day)


def _covered(start: str, end: str, *, status: str = "active") -> dict[str, Any]:
    """A cover year paid in full whose rights ran from `start` to `end`."""
    return {
        "starts_on": d(start),
        "paid_in_full_on": d(start),
        "amount_paid": 4725,
        "covered_from": d(start),
        "covered_until": d(end),
        "grace_until": date.fromordinal(d(end).toordinal() + 30),
        "status": status,
    }


@pytest.fixture
async def cover_years(db: Session, enrolment: EnrolmentService, clean: None) -> dict[str, int]:
    """The data set of the module docstring: each household enrolled, its first cover
    year moved in time, its later years added. Returns each household's id."""
    ids: dict[str, int] = {}
    for n, (key, (mutual, product, channel)) in enumerate(HOUSEHOLDS.items()):
        phone = f"+22901970008{n:02d}"
        persons = 1 if product == "SCOLAIRE" else 3  # a pupil's cover is their own
        await enrol_household(
            enrolment, phone, persons=persons, mutual=mutual, product=product, day=d("2025-09-01")
        )
        ids[key] = household = db.scalar(
            select(models.Household.id).where(models.Household.phone == phone)
        )
        db.execute(
            update(models.Household).where(models.Household.id == household).values(channel=channel)
        )
        db.commit()  # the next enrolment writes through a connection of its own

    def first_year(key: str) -> models.CoveragePeriod:
        found = db.scalar(
            select(models.CoveragePeriod).where(models.CoveragePeriod.household_id == ids[key])
        )
        assert found is not None
        return found

    def later_year(key: str, renews: models.CoveragePeriod, **values: Any) -> models.CoveragePeriod:
        year = models.CoveragePeriod(
            household_id=ids[key],
            product_id=renews.product_id,
            persons=3,
            premium_due=4725,
            waiting_days=0,
            cover_months=12,
            grace_days=30,
            renewal_of_id=renews.id,
            **values,
        )
        db.add(year)
        db.flush()
        return year

    def move(year: models.CoveragePeriod, **values: Any) -> None:
        for name, value in values.items():
            setattr(year, name, value)
        db.flush()

    a, b, c, d_, e, g, h = (first_year(key) for key in "ABCDEGH")
    move(a, **_covered("2025-11-01", "2026-10-31"))
    later_year("A", a, channel="ussd", **_covered("2026-11-01", "2027-10-31", status="waiting"))
    move(b, **_covered("2025-11-11", "2026-11-10"))
    later_year("B", b, channel="agent", starts_on=d("2026-11-05"), status="pending_payment")
    move(
        c,
        **_covered("2025-09-01", "2026-08-31", status="lapsed"),
        cover_starts_on=d("2025-09-01"),
        cover_ends_on=d("2026-08-31"),
    )
    move(d_, **_covered("2025-12-16", "2026-12-15"))
    move(e, **_covered("2025-10-01", "2026-09-30", status="lapsed"))
    later_year(
        "E", e, channel="ussd", starts_on=d("2026-09-01"), status="cancelled",
        cancelled_on=d("2026-09-10"),
    )  # fmt: skip
    move(g, **_covered("2025-11-21", "2026-11-20", status="grace"))
    move(h, **_covered("2024-03-01", "2025-02-28", status="lapsed"))
    later_year("H", h, channel="agent", **_covered("2025-03-01", "2026-02-28", status="lapsed"))
    db.commit()
    return ids


async def test_the_renewal_rate_by_mutual_commune_product_and_channel(
    cover_years: dict[str, int], login: Any, db: Session
) -> None:
    admin: Staff = await login(StaffRole.CENTRAL_ADMIN)

    figures = await admin.figures("renewals")

    assert figures["period"] == {"from": None, "to": "2026-11-23"}
    assert (figures["due"], figures["renewed"], figures["paid"]) == (8, 3, 2)
    assert figures["renewal_rate"] == round(3 / 8, 4)
    assert figures["paid_rate"] == round(2 / 8, 4)
    assert by_key(figures["by_mutual"], "due", "renewed", "paid") == {
        "MS-PARAKOU": (4, 2, 1),
        "MS-NDALI": (1, 0, 0),  # D: not ended, its window open
        "MS-KANDI": (3, 1, 1),
    }
    assert by_key(figures["by_commune"], "due", "renewed") == {
        "Parakou": (4, 2),
        "N'Dali": (1, 0),
        "Kandi": (3, 1),
    }
    assert by_key(figures["by_product"], "due", "renewed", "paid", "renewal_rate") == {
        "FAMILLE": (7, 3, 2, round(3 / 7, 4)),
        "SCOLAIRE": (1, 0, 0, 0.0),
    }
    # By the renewal's own channel; the shares add up to the rate.
    assert by_key(figures["by_channel"], "renewed", "paid", "share") == {
        "agent": (2, 1, round(2 / 8, 4)),
        "ussd": (1, 1, round(1 / 8, 4)),
    }
    # Cross-checked in plain SQL: the years that renew a year, not cancelled.
    renewed = sql(
        db,
        "SELECT COUNT(*) FROM coverage_periods r JOIN coverage_periods p"
        " ON p.id = r.renewal_of_id WHERE r.status != 'cancelled'"
        " AND COALESCE(p.cover_ends_on, p.covered_until) <= '2027-01-22'",
    )
    assert renewed == figures["renewed"]


async def test_the_period_the_channel_and_the_scope_narrow_the_rate(
    cover_years: dict[str, int], login: Any
) -> None:
    admin: Staff = await login(StaffRole.CENTRAL_ADMIN)
    manager: Staff = await login(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")

    this_year = await admin.figures("renewals", **{"from": "2026-01-01"})
    september = await admin.figures("renewals", **{"from": "2026-09-01", "to": "2026-09-30"})
    by_agents = await admin.figures("renewals", channel="agent")
    school = await admin.figures("renewals", product="SCOLAIRE")
    parakou = await manager.figures("renewals")

    # Windows opened this year: A, B, C, D, E, G (H's second year's opened on 2025-12-30).
    assert (this_year["due"], this_year["renewed"], this_year["paid"]) == (6, 2, 1)
    # Windows opened in September (cover ending from 2026-10-31 to 2026-11-29): A and B
    # (renewed), G (not); D's opened in October.
    assert (september["due"], september["renewed"]) == (3, 2)
    assert (by_agents["due"], by_agents["renewed"], by_agents["paid"]) == (8, 2, 1)
    assert (school["due"], school["renewed"]) == (1, 0)
    assert (parakou["due"], parakou["renewed"], parakou["paid"]) == (4, 2, 1)
    assert [row["key"] for row in parakou["by_mutual"]] == ["MS-PARAKOU"]
    kandi = await manager.get("renewals", mutual="MS-KANDI")
    assert kandi.status_code == 403


async def test_nothing_due_is_a_rate_of_none(login: Any, clean: None) -> None:
    admin: Staff = await login(StaffRole.CENTRAL_ADMIN)

    figures = await admin.figures("renewals")

    assert (figures["due"], figures["renewal_rate"], figures["by_channel"]) == (0, None, [])


async def test_households_still_to_visit(cover_years: dict[str, int], login: Any) -> None:
    admin: Staff = await login(StaffRole.CENTRAL_ADMIN)
    manager: Staff = await login(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")

    soon = await admin.figures("renewals_due")
    this_year = await admin.figures("renewals_due", **{"from": "2026-01-01", "to": "2026-12-31"})
    parakou = await manager.figures("renewals_due")

    # By default windows opened in the last 90 days up to today (with 60-day windows, cover
    # ending from 30 days ago to 60 days ahead): A and B renewed, G in grace, D ending.
    assert soon["period"] == {"from": "2026-08-25", "to": "2026-11-23"}
    assert soon["due"] == 2
    assert by_key(soon["by_commune"], "due") == {"N'Dali": 1, "Parakou": 1}
    rows = soon["households"]
    assert [row["household_id"] for row in rows] == [cover_years["G"], cover_years["D"]]
    assert rows[0] | {"member_no": None} == {
        "household_id": cover_years["G"],
        "member_no": None,
        "name": "ASSOGBA Rose",
        "phone": "+2290197000806",
        "mutual": "MS-PARAKOU",
        "commune": "Parakou",
        "village": rows[0]["village"],
        "product": "FAMILLE",
        "ends_on": "2026-11-20",
        "grace_until": "2026-12-20",
        "status": "grace",
    }
    assert rows[0]["member_no"]
    # Windows opened this year; H's second year's opened on 2025-12-30.
    assert [row["ends_on"] for row in this_year["households"]] == [
        "2026-08-31",
        "2026-09-30",
        "2026-11-20",
        "2026-12-15",
    ]
    assert [row["household_id"] for row in parakou["households"]] == [cover_years["G"]]


async def test_a_viewer_sees_phones_masked_and_no_name(
    cover_years: dict[str, int], login: Any
) -> None:
    viewer: Staff = await login(StaffRole.VIEWER, "ZS-PARAKOU")

    rows = (await viewer.figures("renewals_due"))["households"]

    assert [row["household_id"] for row in rows] == [cover_years["G"], cover_years["D"]]
    assert rows[0]["name"] == "A. R."
    assert rows[0]["phone"] == "+229********06"
    assert rows[0]["village"] is None
    assert rows[0]["member_no"]  # what an agent asks the household for


async def test_retention_over_the_years(cover_years: dict[str, int], login: Any) -> None:
    admin: Staff = await login(StaffRole.CENTRAL_ADMIN)

    cohorts = (await admin.figures("retention"))["cohorts"]
    since_2025 = (await admin.figures("retention", **{"from": "2025-01-01"}))["cohorts"]
    school = (await admin.figures("retention", product="SCOLAIRE"))["cohorts"]

    assert cohorts == [
        {
            "year": 2024,
            "households": 1,
            "still_covered": [
                {"year": 2025, "after_years": 1, "households": 1, "rate": 1.0},
                {"year": 2026, "after_years": 2, "households": 0, "rate": 0.0},
            ],
        },
        {
            "year": 2025,
            "households": 6,  # A, B, C, D, E, G; F never covered
            "still_covered": [
                # A only: B's renewal is not paid, D's year is not over.
                {"year": 2026, "after_years": 1, "households": 1, "rate": round(1 / 6, 4)},
            ],
        },
    ]
    assert [cohort["year"] for cohort in since_2025] == [2025]
    assert [(c["year"], c["households"]) for c in school] == [(2025, 1)]


async def test_the_coverage_figure_counts_renewals_by_what_they_renew(
    cover_years: dict[str, int], login: Any, db: Session
) -> None:
    admin: Staff = await login(StaffRole.CENTRAL_ADMIN)

    opened = (await admin.figures("coverage"))["periods_opened"]

    # A's, B's and H's second years; E's renewal was cancelled.
    assert opened == {"first": 8, "renewals": 3}
    assert opened["renewals"] == sql(
        db,
        "SELECT COUNT(*) FROM coverage_periods"
        " WHERE renewal_of_id IS NOT NULL AND status != 'cancelled'",
    )
    # A year opened later without `renewal_of_id` is a first year, not a renewal.
    db.execute(text("UPDATE coverage_periods SET renewal_of_id = NULL WHERE channel = 'agent'"))
    db.commit()
    # (Another view of the figure: the first one is kept for a minute.)
    again = await admin.figures("coverage", **{"from": "2020-01-01"})
    assert again["periods_opened"] == {"first": 10, "renewals": 1}
