"""The dashboard's renewal pages (`/admin/stats/renewals`, `renewals_due`, `retention`)
against the renewal statistics' known data set (`tests/stats/test_renewals.py`): the
page says what the API says, the home page shows the renewal rate, a viewer gets the
households to visit with their phones masked, a manager's CSV carries the phones and
is audited."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import models
from db.values import StaffRole
from tests.staff.test_stats_pages import number, page_of, rows_of
from tests.stats import test_renewals as data

cover_years = data.cover_years
login = data.login


async def test_the_renewals_page_equals_the_api(cover_years: dict[str, int], login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    page = await page_of(admin, "/admin/stats/renewals", lang="en")
    api = await admin.figures("renewals")

    (total,) = page.tables["renewal_rate"][1:]
    assert [number(cell) for cell in total[:3]] == [api["due"], api["renewed"], api["paid"]]
    assert total[3] == f"{api['renewal_rate'] * 100:.1f}%"
    by_mutual = rows_of(page, "renewal_rate_by_mutual")
    assert {key: [number(c) for c in cells[:3]] for key, cells in by_mutual.items()} == {
        "MS-PARAKOU": [4, 2, 1],
        "MS-NDALI": [1, 0, 0],
        "MS-KANDI": [3, 1, 1],
    }
    assert set(rows_of(page, "renewal_rate_by_channel")) == {"Agent", "USSD (self)"}
    assert page.svgs >= 4


async def test_the_home_page_shows_the_renewal_rate(
    cover_years: dict[str, int], login: Any
) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    page = await page_of(admin, "/admin", lang="en")

    # With no date typed: the 8 years whose renewal window has opened by today (one of
    # them, D's, not ended yet), 3 renewed (review 13 #6: it was 0/0 until they ended).
    (total,) = page.tables["renewal_rate"][1:]
    assert [number(cell) for cell in total[:2]] == [8, 3]
    assert total[3] == f"{3 / 8 * 100:.1f}%"


async def test_a_viewer_sees_the_households_to_visit_masked(
    cover_years: dict[str, int], login: Any
) -> None:
    viewer = await login(StaffRole.VIEWER, "ZS-PARAKOU")

    page = await page_of(viewer, "/admin/stats/renewals_due", lang="en")

    rows = page.tables["renewals_due"][1:]
    assert [row[1] for row in rows] == ["A. R.", "A. R."]
    assert [row[2] for row in rows] == ["+229********06", "+229********03"]
    assert "+2290197000806" not in str(page.tables)
    assert rows_of(page, "renewals_due_by_commune") == {"N'Dali": ["1"], "Parakou": ["1"]}


async def test_a_managers_csv_of_households_to_visit_has_the_phones_and_is_audited(
    cover_years: dict[str, int], login: Any, db: Session
) -> None:
    manager = await login(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")

    answer = await manager.http.get("/admin/export/renewals_due.csv")

    assert answer.status_code == 200
    lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0][:3] == ["N° de membre", "Chef de ménage", "Téléphone"]
    # A leading + is written as text, never as a formula (gateway.staff.csv_export).
    assert [line[1:3] for line in lines[1:]] == [["ASSOGBA Rose", "'+2290197000806"]]
    db.expire_all()
    (entry,) = db.scalars(
        select(models.AuditEntry).where(models.AuditEntry.action == "export")
    ).all()
    assert entry.details["table"] == "renewals_due"
    assert entry.details["rows"] == 1


async def test_the_retention_page(cover_years: dict[str, int], login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    page = await page_of(admin, "/admin/stats/retention", lang="en")

    rows = rows_of(page, "retention")
    assert rows["2024"][:3] == ["1", "100.0%", "0.0%"]
    assert rows["2025"][:2] == ["6", "16.7%"]
    assert rows["2025"][2] == "—"  # 2027 has not come yet
