"""The dashboard's statistics pages and CSV exports against the statistics API's known
data set (see `tests/stats/test_api.py`): every number on a page equals the API's JSON
and the database's own count; the CSV says the same; who may see what; what a bad filter
or a stranger gets; every export audited."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.values import StaffRole
from gateway.staff import csv_export
from gateway.staff.sessions import COOKIE
from gateway.staff.stats_pages import PAGES
from gateway.staff.stats_tables import TABLES
from gateway.staff.tables import CellKind, Column, Table
from tests.stats import test_api as api_data

# The API's fixtures: the known data set and a logged-in client per role.
known = api_data.known
login = api_data.login
by_key = api_data.by_key
sql = api_data.sql
ZONE = api_data.ZONE


class _Tables(HTMLParser):
    """The `<table data-table=...>` of a page (and the headline tiles) as lists of cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.tiles: dict[str, str] = {}
        self.svgs = 0
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._tiles = False
        self._term: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs).get("data-table")
        if tag == "table" and named:
            self._table = named
            self.tables[named] = []
        elif tag == "dl" and named:
            self._tiles = True
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th", "dt", "dd") and (self._row is not None or self._tiles):
            self._cell = []
        elif tag == "svg":
            self.svgs += 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag in ("dt", "dd") and self._tiles and self._cell is not None:
            value = "".join(self._cell).strip()
            if tag == "dt":
                self._term = value
            elif self._term is not None:
                self.tiles[self._term] = value
            self._cell = None
        elif tag == "tr" and self._table and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "dl":
            self._tiles = False


def read_page(page: httpx.Response) -> _Tables:
    assert page.status_code == 200, page.text[:500]
    parser = _Tables()
    parser.feed(page.text)
    return parser


def rows_of(page: _Tables, table: str) -> dict[str, list[str]]:
    """Body rows by their first cell (the header row left out)."""
    rows = page.tables[table]
    return {row[0]: row[1:] for row in rows[1:]}


def number(cell: str) -> int:
    """1 575 FCFA, 1,575 and 1575 alike."""
    digits = re.sub(r"[^\d-]", "", cell)
    assert digits, cell
    return int(digits)


async def page_of(staff: Any, path: str, **query: str) -> _Tables:
    return read_page(await staff.http.get(path, params=query))


async def test_the_enrolment_page_equals_the_api_and_the_database(
    known: None, login: Any, db: Session
) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    page = await page_of(admin, "/admin/stats/enrolment", lang="en")
    api = await admin.figures("enrolment")

    for dimension in ("mutual", "commune", "product"):
        shown = rows_of(page, f"enrolment_by_{dimension}")
        assert {key: (number(h), number(p)) for key, (h, p) in shown.items()} == by_key(
            api[f"by_{dimension}"], "households", "persons"
        )
    channels = rows_of(page, "enrolment_by_channel")
    assert {key: number(persons) for key, (_, persons) in channels.items()} == {
        "USSD (self)": 7,
        "Agent": 4,
        "Import (paper forms)": 1,
    }
    occupations = {
        key: number(persons[0]) for key, persons in rows_of(page, "enrolment_by_occupation").items()
    }
    assert occupations == {"Farmer": 5, "Trader": 1, "Not given": 6}
    assert sum(occupations.values()) == sql(db, "SELECT COUNT(*) FROM members") == api["persons"]
    parakou = rows_of(page, "enrolment_by_mutual")["MS-PARAKOU"]
    assert number(parakou[0]) == sql(
        db,
        "SELECT COUNT(*) FROM households h JOIN scheme_units u ON u.id = h.mutual_id"
        " WHERE u.code = 'MS-PARAKOU'",
    )


async def test_the_home_page_shows_the_headline_figures(known: None, login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    page = await page_of(admin, "/admin", lang="en")
    api = await admin.figures("overview")

    assert number(page.tiles["Households"]) == api["households"] == 5
    assert number(page.tiles["Persons"]) == api["persons"] == 12
    assert number(page.tiles["Premiums paid"]) == api["premiums"]["premium_paid"]
    assert number(page.tiles["Money received"]) == api["collected"]["amount"] == 12025
    rate = api["premiums"]["collection_rate"]
    assert page.tiles["Collection rate"] == f"{rate * 100:.1f}%"
    statuses = {key: number(row[0]) for key, row in rows_of(page, "overview_status").items()}
    assert statuses == {
        "Waiting for payment": 2,
        "Waiting period": 1,
        "Covered": 1,
        "Grace period": 0,
        "Rights closed": 1,
        "Cancelled": 0,
    }
    assert page.svgs >= 2  # the statuses and the last 30 days


async def test_the_coverage_page(known: None, login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    page = await page_of(admin, "/admin/stats/coverage", lang="en")
    api = await admin.figures("coverage")

    statuses = rows_of(page, "coverage_by_status")
    assert number(statuses["Covered"][0]) == api["households_by_status"]["active"] == 1
    assert number(statuses["Waiting for payment"][1]) == api["persons_by_status"]["pending_payment"]
    renewals = {key: number(row[0]) for key, row in rows_of(page, "coverage_renewals").items()}
    assert renewals == {"First year": 5, "Renewal": 1}
    ndali = rows_of(page, "coverage_by_mutual")["MS-NDALI"]
    assert [number(cell) for cell in ndali] == [0, 0, 1, 0, 0, 0]


async def test_the_collection_page_in_french(known: None, login: Any, db: Session) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    page = await page_of(admin, "/admin/stats/collection", lang="fr")
    api = await admin.figures("collection")

    shown = rows_of(page, "premiums_by_mutual")
    for row in api["premiums_by_mutual"]:
        due, paid, rate, *_ = shown[row["key"]]
        assert (number(due), number(paid)) == (row["premium_due"], row["premium_paid"])
        assert due.endswith("\u00a0FCFA")
        if row["collection_rate"] is not None:
            assert rate == f"{row['collection_rate'] * 100:.1f}".replace(".", ",") + "\u00a0%"
    providers = {key: number(row[1]) for key, row in rows_of(page, "collected_by_provider").items()}
    assert providers == {"Espèces (agent)": 5725, "MTN MoMo": 6300}
    assert sum(providers.values()) == sql(
        db, "SELECT SUM(amount) FROM payments WHERE status = 'succeeded'"
    )


async def test_the_time_series_page_follows_the_interval(known: None, login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)
    period = {"from": "2026-11-01", "to": "2026-11-30"}

    days = await page_of(admin, "/admin/stats/timeseries", **period)
    weeks = await page_of(admin, "/admin/stats/timeseries", **period, interval="week")
    api = await admin.figures("timeseries", **period, interval="week")

    assert len(rows_of(days, "timeseries")) == 30
    assert number(rows_of(days, "timeseries")["2026-11-03"][3]) == 4725
    shown = rows_of(weeks, "timeseries")
    assert list(shown) == [row["start"] for row in api["series"]]
    for row in api["series"]:
        assert [number(cell) for cell in shown[row["start"]]] == [
            row["households"],
            row["persons"],
            row["payments"],
            row["collected"],
        ]
    assert days.svgs == weeks.svgs == 2


async def test_a_viewer_sees_agents_without_their_names(known: None, login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)
    viewer = await login(StaffRole.VIEWER)

    named = rows_of(await page_of(admin, "/admin/stats/agents"), "agents")
    masked = await viewer.http.get("/admin/stats/agents")
    exported = await viewer.http.get("/admin/export/agents.csv")

    assert named["Awa"][0] == "MS-PARAKOU" and number(named["Awa"][4]) == 5725
    assert "Awa" not in masked.text and "Chabi" not in masked.text
    assert any(key.startswith("A. #") for key in rows_of(read_page(masked), "agents"))
    assert "Awa" not in exported.content.decode("utf-8-sig")


async def test_the_sms_and_funnel_pages(known: None, login: Any, db: Session) -> None:
    for n, (node, status) in enumerate(
        [
            ("enrol.done", "Success"),
            ("enrol.dep_birth", "Incomplete"),
            ("enrol.dep_birth", "Failed"),
        ]
    ):
        db.add(
            models.UssdSessionEnd(
                session_id=f"ATUid_{n}",
                service_code="*384*22#",
                status=status,
                duration_ms=60000,
                hops=6,
                journey="enrol",
                last_node=node,
                ended_at=datetime(2026, 11, 20, 9, tzinfo=ZONE),
            )
        )
    db.commit()
    admin = await login(StaffRole.CENTRAL_ADMIN)

    sms = await page_of(admin, "/admin/stats/sms", lang="en")
    funnel = await page_of(admin, "/admin/stats/funnel", lang="en")
    api = await admin.figures("funnel")

    assert {key: number(row[0]) for key, row in rows_of(sms, "sms_by_status").items()} == {
        "Delivered": 1,
        "Sent": 1,
        "Not delivered": 1,
    }
    summary = funnel.tables["funnel"][1]
    assert (
        [number(cell) for cell in summary[:3]]
        == [3, 1, 0]
        == [
            api["sessions"],
            api["enrolled"],
            api["payment_started"],
        ]
    )
    assert rows_of(funnel, "funnel_stops") == {"enrol.dep_birth": ["2"]}
    assert rows_of(funnel, "funnel_by_journey") == {"Enrolment": ["3"]}


@pytest.mark.parametrize("path", ["/admin", *(page.href for page in PAGES)])
async def test_every_page_draws_its_charts_on_an_empty_scheme(path: str, login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    page = await admin.http.get(path)

    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text  # the CSP allows none inline: charts need none
    assert read_page(page).svgs >= 1


async def test_the_csv_equals_the_page_and_is_audited(known: None, login: Any, db: Session) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)
    query = {"from": "2025-01-01", "to": "2026-11-30", "channel": "agent"}

    answer = await admin.http.get("/admin/export/premiums_by_mutual.csv", params=query)
    page = await page_of(admin, "/admin/stats/collection", **query)
    api = await admin.figures("collection", **query)

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="alafia-premiums_by_mutual-2026-11-23.csv"'
    )
    assert answer.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == [
        "Mutuelle",
        "Cotisations dues",
        "Cotisations payées",
        "Taux de recouvrement",
        "Part des partenaires",
        "Payé par les partenaires",
    ]
    body = {line[0]: line[1:] for line in lines[1:]}
    shown = rows_of(page, "premiums_by_mutual")
    assert set(body) == set(shown) == {row["key"] for row in api["premiums_by_mutual"]}
    for row in api["premiums_by_mutual"]:
        due, paid, rate = body[row["key"]][:3]
        assert (int(due), int(paid)) == (row["premium_due"], row["premium_paid"])
        assert (int(due), int(paid)) == tuple(number(cell) for cell in shown[row["key"]][:2])
        assert rate == f"{row['collection_rate'] * 100:.1f}".replace(".", ",")
    db.expire_all()
    entries = db.scalars(
        select(models.AuditEntry).where(models.AuditEntry.action == "export")
    ).all()
    assert len(entries) == 1
    assert entries[0].actor.startswith("staff:")
    assert entries[0].details["table"] == "premiums_by_mutual"
    assert entries[0].details["filters"]["channel"] == "agent"
    assert entries[0].details["filters"]["from"] == "2025-01-01"
    assert entries[0].details["rows"] == len(body)


async def test_every_table_has_a_csv(login: Any, db: Session) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)
    names = []
    for path in ["/admin", *(page.href for page in PAGES)]:
        names += re.findall(
            r'href="/admin/export/([a-z_]+)\.csv', (await admin.http.get(path)).text
        )

    for name in names:
        answer = await admin.http.get(f"/admin/export/{name}.csv")
        assert answer.status_code == 200, name
        assert answer.content.startswith(b"\xef\xbb\xbf") and b";" in answer.content, name
    assert set(names) == set(TABLES)  # the home page's time series is the series page's too
    assert sql(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'export'") == len(names)


async def test_export_links_carry_the_page_filters(known: None, login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    page = await admin.http.get(
        "/admin/stats/enrolment", params={"mutual": "MS-PARAKOU", "from": "", "lang": "en"}
    )

    assert 'href="/admin/export/enrolment_by_mutual.csv?mutual=MS-PARAKOU"' in page.text
    assert '<option value="MS-PARAKOU" selected>' in page.text


async def test_strangers_go_to_the_login(app: Starlette, clean: None) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://gateway.test") as http:
        for path in ["/admin/stats/enrolment?mutual=MS-PARAKOU", "/admin/export/agents.csv"]:
            answer = await http.get(path, headers={"Cookie": f"{COOKIE}=forged"})
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/admin/login?next=/admin/")
        index = await http.get("/admin/stats?from=2026-11-01")
        assert index.headers["location"] == "/admin/stats/enrolment?from=2026-11-01"


async def test_a_manager_sees_their_mutual_only(known: None, login: Any, db: Session) -> None:
    manager = await login(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")

    home = await page_of(manager, "/admin", lang="en")
    enrolment = await page_of(manager, "/admin/stats/enrolment")
    other_page = await manager.http.get("/admin/stats/coverage", params={"mutual": "MS-KANDI"})
    other_csv = await manager.http.get("/admin/export/agents.csv", params={"mutual": "MS-KANDI"})

    assert number(home.tiles["Households"]) == 3
    assert list(rows_of(enrolment, "enrolment_by_mutual")) == ["MS-PARAKOU"]
    assert (other_page.status_code, other_csv.status_code) == (403, 403)
    assert other_csv.headers["content-type"].startswith("text/html")
    assert sql(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'export'") == 0
    # The form offers their own mutual only.
    options = re.findall(r'<option value="(MS-[A-Z]+)"', (await manager.http.get("/admin")).text)
    assert options == ["MS-PARAKOU"]


@pytest.mark.parametrize(
    ("path", "query", "reason"),
    [
        ("/admin/stats/enrolment", {"from": "2026-13-01"}, "from must be a date"),
        ("/admin", {"channel": "sms"}, "channel must be one of"),
        ("/admin/stats/timeseries", {"interval": "month"}, "interval must be one of"),
        ("/admin/stats/coverage", {"mutual": "MS-NOWHERE"}, "no mutual with code MS-NOWHERE"),
        ("/admin/stats/funnel", {"product": "FAMILLE"}, "not broken down by product"),
        ("/admin/stats/sms", {"mutul": "x"}, "unknown parameter(s): mutul"),
        ("/admin/export/enrolment_by_mutual.csv", {"to": "soon"}, "to must be a date"),
    ],
)
async def test_bad_filters_get_a_400_page_with_the_reason(
    path: str, query: dict[str, str], reason: str, login: Any, db: Session
) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    answer = await admin.http.get(path, params=query)

    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert reason.replace("'", "&#39;") in answer.text
    assert sql(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'export'") == 0


async def test_unknown_pages_and_tables_are_not_found(login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    assert (await admin.http.get("/admin/stats/salaries")).status_code == 404
    assert (await admin.http.get("/admin/export/households.csv")).status_code == 404


async def test_a_viewer_may_read_and_export(known: None, login: Any) -> None:
    viewer = await login(StaffRole.VIEWER, "ZS-PARAKOU")

    page = await page_of(viewer, "/admin/stats/enrolment")
    answer = await viewer.http.get("/admin/export/enrolment_by_mutual.csv")

    assert set(rows_of(page, "enrolment_by_mutual")) == {"MS-PARAKOU", "MS-NDALI"}
    assert answer.status_code == 200


def test_a_formula_in_a_label_is_written_as_text() -> None:
    table = Table(
        "t",
        "stats.table.overview",
        (
            Column("key", "stats.commune", CellKind.LABEL),
            Column("due", "stats.premium_due", CellKind.XOF),
        ),
        [{"key": '=HYPERLINK("http://x")', "due": 1575}, {"key": "Bembèrèkè", "due": 0}],
    )

    written = csv_export.to_csv(table, "fr").decode("utf-8")

    assert written == (
        '\ufeffCommune;Cotisations dues\r\n"\'=HYPERLINK(""http://x"")";1575\r\nBembèrèkè;0\r\n'
    )


def test_a_rate_is_written_for_the_reader_s_spreadsheet() -> None:
    table = Table(
        "t",
        "x",
        (
            Column("key", "stats.mutual", CellKind.LABEL),
            Column("rate", "stats.collection_rate", CellKind.RATE),
        ),
        [{"key": "A", "rate": 0.4123}, {"key": "B", "rate": None}],
    )

    assert csv_export.to_csv(table, "fr").decode("utf-8-sig").splitlines()[1:] == ["A;41,2", "B;"]
    assert csv_export.to_csv(table, "en").decode("utf-8-sig").splitlines()[1:] == ["A;41.2", "B;"]
