"""The funnel page (`/admin/stats/funnel`) and its CSV per mutual, on the data set of
tests/stats/test_funnel_by_mutual.py: a manager's page shows their mutual only, a central
admin's every mutual and the sessions of no known mutual; numbers checked against plain
SQL."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx
from sqlalchemy.orm import Session

from db.values import StaffRole
from tests.staff.test_stats_pages import number, page_of, rows_of
from tests.stats import test_api as api_data
from tests.stats import test_funnel_by_mutual as funnel_data
from tests.stats.test_api import sql

# The fixtures: a logged-in client per role, and the sessions of two mutuals and strangers.
login = api_data.login
sessions = funnel_data.sessions
COUNT_BY_MUTUAL = funnel_data.COUNT_BY_MUTUAL
COUNT_UNKNOWN = funnel_data.COUNT_UNKNOWN


async def test_the_funnel_page_per_mutual(sessions: None, login: Any, db: Session) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)
    manager = await login(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")

    whole = await page_of(admin, "/admin/stats/funnel", lang="en")
    own = await page_of(manager, "/admin/stats/funnel", lang="en")
    html = (await manager.http.get("/admin/stats/funnel", params={"lang": "en"})).text

    assert rows_of(whole, "funnel_by_mutual") == {
        "MS-KANDI": ["2", "0", "0"],
        "MS-PARAKOU": ["4", "1", "1"],
        "No known mutual": [str(sql(db, COUNT_UNKNOWN)), "0", "0"],
    }
    assert rows_of(own, "funnel_by_mutual") == {"MS-PARAKOU": ["4", "1", "1"]}
    assert number(own.tables["funnel"][1][0]) == sql(db, COUNT_BY_MUTUAL, code="MS-PARAKOU")
    assert "count only for staff who see the whole network" in html
    # The form offers the mutual (the manager's own only), and no household filters.
    assert re.findall(r'<option value="(MS-[A-Z]+)"', html) == ["MS-PARAKOU"]
    assert all(f'name="{field}"' not in html for field in ("commune", "product", "channel"))


async def test_the_funnel_page_in_french_names_the_unknown(sessions: None, login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    page = await page_of(admin, "/admin/stats/funnel", lang="fr")

    assert "Mutuelle inconnue" in rows_of(page, "funnel_by_mutual")


async def test_the_funnel_by_mutual_csv(sessions: None, login: Any, db: Session) -> None:
    manager = await login(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    admin = await login(StaffRole.CENTRAL_ADMIN)

    own = await manager.http.get("/admin/export/funnel_by_mutual.csv")
    kandi = await admin.http.get(
        "/admin/export/funnel_by_mutual.csv", params={"mutual": "MS-KANDI"}
    )

    def lines(answer: httpx.Response) -> list[list[str]]:
        assert answer.status_code == 200
        return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))

    assert lines(own) == [
        ["Mutuelle", "Sessions", "Adhésions terminées", "Paiements lancés"],
        ["MS-PARAKOU", "4", "1", "1"],
    ]
    assert lines(kandi)[1:] == [
        ["MS-KANDI", str(sql(db, COUNT_BY_MUTUAL, code="MS-KANDI")), "0", "0"]
    ]
