"""The statistics pages of the dashboard: `/admin` (the headline figures), one page per
figure under `/admin/stats/<figure>`, and a CSV file of every table under
`/admin/export/<table>.csv`. All take the statistics API's filters as their query string
and compute the same functions as the API (`gateway.stats.routes.ENDPOINTS`), so that a
page, its CSV and the JSON always say the same thing.

    /admin/stats/enrolment?from=2026-10-01&to=2026-11-30&mutual=MS-PARAKOU&channel=agent

A filter that cannot be read answers 400 with the reason (and the form to correct it), a
mutual outside the staff member's scope 403, a query the database gave up on 503.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from db import models
from db.engine import writing
from db.values import AuditAction, UnitLevel
from gateway import audit
from gateway.actors import staff_actor
from gateway.staff import charts, csv_export, language
from gateway.staff.auth import StaffUser
from gateway.staff.dashboard import Dashboard, dashboard_of
from gateway.staff.guard import Forbidden, NotFound, staff_page
from gateway.staff.pages import add_nav_link, render
from gateway.staff.scope import Scope
from gateway.staff.scope_sql import within_scope
from gateway.staff.stats_tables import TABLES
from gateway.staff.tables import Audience, Chart, Table, cell
from gateway.stats import filters
from gateway.stats.board import TooLong

PERIOD = ("from", "to")
PLACE = ("mutual", "commune", "product", "channel")
MAX_BARS = 25  # a chart of more rows is unreadable on a phone; the table has them all
FOLDED_ROWS = 12  # a longer table is folded under its chart


@dataclass(frozen=True)
class StatsPage:
    figure: str  # its URL, /admin/stats/<figure>, and the API's figure it shows
    tables: tuple[str, ...]
    fields: tuple[str, ...] = PERIOD + PLACE  # the filters its form offers

    @property
    def title(self) -> str:
        return f"stats.page.{self.figure}"

    @property
    def href(self) -> str:
        return f"/admin/stats/{self.figure}"


HOME = StatsPage(
    "overview", ("overview", "overview_status", "renewal_rate", "timeseries"), PERIOD + PLACE
)
PAGES = (
    StatsPage(
        "enrolment",
        tuple(
            f"enrolment_by_{name}"
            for name in ("mutual", "commune", "product", "channel", "occupation")
        ),
    ),
    StatsPage("coverage", ("coverage_by_status", "coverage_renewals", "coverage_by_mutual")),
    StatsPage(
        "collection",
        (
            "premiums_by_mutual",
            "premiums_by_product",
            "collected_by_provider",
            "collected_by_channel",
        ),
    ),
    StatsPage("timeseries", ("timeseries",), (*PERIOD, *PLACE, "interval")),
    StatsPage("agents", ("agents",)),
    StatsPage("sms", ("sms_by_status", "sms_by_delivery", "sms_by_purpose")),
    # A session has a mutual (when known) but no commune, product or channel.
    StatsPage(
        "funnel",
        ("funnel", "funnel_by_mutual", "funnel_by_journey", "funnel_by_status", "funnel_stops"),
        (*PERIOD, "mutual"),
    ),
    StatsPage(
        "renewals",
        (
            "renewal_rate",
            "renewal_rate_by_mutual",
            "renewal_rate_by_commune",
            "renewal_rate_by_product",
            "renewal_rate_by_channel",
        ),
    ),
    StatsPage("renewals_due", ("renewals_due_total", "renewals_due_by_commune", "renewals_due")),
    StatsPage("retention", ("retention",)),
)
BY_FIGURE = {page.figure: page for page in PAGES}

add_nav_link("/admin/stats", "stats.nav")


@dataclass(frozen=True)
class TableView:
    """A table as the template writes it: cells already in the reader's language."""

    name: str
    title: str
    headings: list[tuple[str, bool]]  # text, numeric
    rows: list[list[tuple[str, bool]]]
    charts: list[tuple[str | None, Markup]]  # a caption when the table's title won't do
    export: str  # the CSV's URL, with the page's filters
    folded: bool


@dataclass(frozen=True)
class Choices:
    """What the filter form offers within the staff member's scope."""

    mutuals: list[tuple[str, str]]  # code, name
    communes: list[str]
    products: list[tuple[str, str]]  # code, name in the page's language


@staff_page
async def home(request: Request, staff: StaffUser) -> Response:
    return await _stats_page(request, staff, HOME, "stats_home.html")


@staff_page
async def stats_page(request: Request, staff: StaffUser) -> Response:
    page = BY_FIGURE.get(request.path_params["figure"])
    if page is None:
        raise NotFound()
    return await _stats_page(request, staff, page, "stats_page.html")


async def stats_index(request: Request) -> Response:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"{PAGES[0].href}{query}", status_code=303)


@staff_page
async def export(request: Request, staff: StaffUser) -> Response:
    spec = TABLES.get(request.path_params["table"])
    if spec is None:
        raise NotFound()
    dashboard = dashboard_of(request)
    lang = language.language_of(request)
    try:
        wanted = await _wanted(request, staff)
        result = (await dashboard.board.figure(spec.figure, staff.scope, wanted)).figures
    except filters.BadFilter as error:
        return render(request, "stats_bad_filter.html", {"reason": str(error)}, status_code=400)
    except TooLong:
        return render(request, "stats_bad_filter.html", {"too_long": True}, status_code=503)
    table = spec.build(result, await _audience(dashboard, lang))
    async with writing(dashboard.sessions) as session:
        session.add(
            audit.entry(
                staff_actor(staff.id),
                AuditAction.EXPORT,
                dashboard.now(),
                details={"table": spec.name, "filters": wanted.as_json(), "rows": len(table.rows)},
            )
        )
    filename = f"alafia-{spec.name}-{dashboard.now().date().isoformat()}.csv"
    return Response(
        csv_export.to_csv(table, lang),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def _stats_page(
    request: Request, staff: StaffUser, page: StatsPage, template: str
) -> Response:
    dashboard = dashboard_of(request)
    lang = language.language_of(request)
    raw = _filter_query(request)
    context: dict[str, Any] = {
        "page": page,
        "pages": PAGES,
        "choices": await _choices(dashboard, staff.scope, lang),
        "query": raw,
        "tables": [],
    }
    try:
        wanted = await _wanted(request, staff)
        computed = {
            figure: await dashboard.board.figure(figure, staff.scope, wanted)
            for figure in dict.fromkeys(TABLES[name].figure for name in page.tables)
        }
    except filters.BadFilter as error:
        return render(request, template, {**context, "error": str(error)}, status_code=400)
    except TooLong:
        return render(request, template, {**context, "too_long": True}, status_code=503)
    results = {figure: done.figures for figure, done in computed.items()}
    # The figures may be up to STATS_CACHE_SECONDS old: the page says as of when.
    oldest = min(done.computed_at for done in computed.values())
    context["computed_at"] = oldest.astimezone(dashboard.now().tzinfo).strftime("%H:%M:%S")
    who = await _audience(dashboard, lang)
    export_query = urlencode({key: value for key, value in raw.items() if value})
    context["tables"] = [
        _view(TABLES[name].build(results[TABLES[name].figure], who), lang, export_query)
        for name in page.tables
    ]
    return render(request, template, context)


def _filter_query(request: Request) -> dict[str, str]:
    """The query string without `lang`, which is the page's, not a filter."""
    return {key: value for key, value in request.query_params.items() if key != "lang"}


async def _wanted(request: Request, staff: StaffUser) -> filters.Filters:
    dashboard = dashboard_of(request)
    wanted = filters.parse(_filter_query(request))
    try:
        await filters.authorise(dashboard.sessions, staff.scope, wanted)
    except filters.OutOfScope:
        raise Forbidden() from None
    return wanted


async def _choices(dashboard: Dashboard, scope: Scope, lang: str) -> Choices:
    unit = models.SchemeUnit
    async with dashboard.dashboard_sessions() as session:
        mutuals = (
            await session.execute(
                select(unit.code, unit.name, unit.commune)
                .where(unit.level == UnitLevel.MUTUAL, within_scope(scope, unit.path))
                .order_by(unit.name)
            )
        ).all()
        products = (
            await session.execute(
                select(models.Product.code, models.Product.names).order_by(models.Product.code)
            )
        ).all()
    return Choices(
        mutuals=[(code, name) for code, name, _ in mutuals],
        communes=sorted({commune for _, _, commune in mutuals if commune}),
        products=[
            (code, str(names.get(lang) or names.get(language.DEFAULT) or code))
            for code, names in products
        ],
    )


async def _audience(dashboard: Dashboard, lang: str) -> Audience:
    async with dashboard.dashboard_sessions() as session:
        occupations = (
            await session.execute(select(models.Occupation.code, models.Occupation.names))
        ).all()
    return Audience(
        lang,
        occupations={
            code: str(names.get(lang) or names.get(language.DEFAULT) or code)
            for code, names in occupations
        },
    )


def _view(table: Table, lang: str, export_query: str) -> TableView:
    numeric = [column.kind != "label" for column in table.columns]
    return TableView(
        name=table.name,
        title=language.translate(lang, table.title),
        headings=[
            (language.translate(lang, column.heading), numeric[index])
            for index, column in enumerate(table.columns)
        ],
        rows=[
            [
                (cell(row.get(column.key), column.kind, lang), numeric[index])
                for index, column in enumerate(table.columns)
            ]
            for row in table.rows
        ],
        charts=[_chart(table, chart, lang, index) for index, chart in enumerate(table.charts)],
        export=f"/admin/export/{table.name}.csv" + (f"?{export_query}" if export_query else ""),
        folded=len(table.rows) > FOLDED_ROWS,
    )


def _chart(table: Table, chart: Chart, lang: str, index: int) -> tuple[str | None, Markup]:
    """The chart of one column of a table, labelled by the table's first column, and its
    caption when it has a heading of its own."""
    label_key = table.columns[0].key
    kind = next(column.kind for column in table.columns if column.key == chart.value)
    title = language.translate(lang, chart.heading or table.title)
    chart_id = f"chart-{table.name}-{index}"
    caption = title if chart.heading else None
    if chart.series:
        points = [
            charts.Point(
                str(row[label_key]),
                float(row[chart.value] or 0),
                cell(row[chart.value], kind, lang),
            )
            for row in table.rows
        ]
        description = language.translate(
            lang,
            "stats.chart.series_desc",
            count=len(points),
            first=_end(points, 0),
            last=_end(points, -1),
        )
        return caption, charts.series_chart(chart_id, title, description, points)
    rows = table.rows[:MAX_BARS]
    bars = [
        charts.Bar(
            str(row[label_key]),
            float(row[chart.value] or 0),
            cell(row[chart.value], kind, lang),
            total=float(row[chart.total] or 0) if chart.total else None,
        )
        for row in rows
    ]
    description = language.translate(
        lang, "stats.chart.bars_desc", shown=len(bars), count=len(table.rows)
    )
    return caption, charts.bar_chart(chart_id, title, description, bars)


def _end(points: list[charts.Point], index: int) -> str:
    return points[index].label if points else "—"
