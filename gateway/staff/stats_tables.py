"""The tables of the statistics pages, built from the figures of `gateway.stats.figures`.

One definition per table serves the page (table and chart) and its CSV export, so the
two cannot disagree. Each table has a name, the one in its export's URL
(`/admin/export/enrolment_by_mutual.csv`), and the figure it is read from:

    spec = TABLES["enrolment_by_mutual"]
    table = spec.build(await figure(...spec.figure...), Audience("fr"))
    table.rows  # [{"key": "MS-PARAKOU", "households": 3, "persons": 6}, ...]

Rows hold raw numbers; `gateway.staff.tables.cell` writes them for a page,
`gateway.staff.csv_export` for a spreadsheet. Labels (statuses, channels) are written
in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.staff import language
from gateway.staff.tables import (
    Audience,
    CellKind,
    Chart,
    Column,
    Table,
    TableSpec,
    label,
)
from menus.values import CoverageStatus

# The tables, by page.


def _overview(result: dict[str, Any], who: Audience) -> Table:
    premiums = result["premiums"]
    return Table(
        "overview",
        "stats.table.overview",
        (
            Column("households", "stats.households"),
            Column("persons", "stats.persons"),
            Column("premium_due", "stats.premium_due", CellKind.XOF),
            Column("premium_paid", "stats.premium_paid", CellKind.XOF),
            Column("collection_rate", "stats.collection_rate", CellKind.RATE),
            Column("collected", "stats.collected", CellKind.XOF),
        ),
        [
            {
                "households": result["households"],
                "persons": result["persons"],
                "premium_due": premiums["premium_due"],
                "premium_paid": premiums["premium_paid"],
                "collection_rate": premiums["collection_rate"],
                "collected": result["collected"]["amount"],
            }
        ],
    )


def _statuses(counts: dict[str, int], persons: dict[str, int] | None, lang: str) -> list[Any]:
    return [
        {
            "key": label(lang, "status", status),
            "households": counts[status],
            **({"persons": persons[status]} if persons is not None else {}),
        }
        for status in CoverageStatus
    ]


def _overview_status(result: dict[str, Any], who: Audience) -> Table:
    return Table(
        "overview_status",
        "stats.table.status",
        (Column("key", "stats.status", CellKind.LABEL), Column("households", "stats.households")),
        _statuses(result["households_by_status"], None, who.lang),
        (Chart("households"),),
    )


def _enrolment_by(
    dimension: str, prefix: str | None
) -> Callable[[dict[str, Any], Audience], Table]:
    def build(result: dict[str, Any], who: Audience) -> Table:
        rows = [
            {**row, "key": label(who.lang, prefix, row["key"]) if prefix else row["key"]}
            for row in result[f"by_{dimension}"]
        ]
        return Table(
            f"enrolment_by_{dimension}",
            f"stats.table.enrolment_by_{dimension}",
            (
                Column("key", f"stats.{dimension}", CellKind.LABEL),
                Column("households", "stats.households"),
                Column("persons", "stats.persons"),
            ),
            rows,
            (Chart("persons"),),
        )

    return build


def _enrolment_by_occupation(result: dict[str, Any], who: Audience) -> Table:
    return Table(
        "enrolment_by_occupation",
        "stats.table.enrolment_by_occupation",
        (Column("key", "stats.occupation", CellKind.LABEL), Column("persons", "stats.persons")),
        [
            {
                "key": who.occupations.get(row["key"])
                or label(who.lang, "stats.occupation", row["key"]),
                "persons": row["persons"],
            }
            for row in result["by_occupation"]
        ],
        (Chart("persons"),),
    )


def _coverage_status(result: dict[str, Any], who: Audience) -> Table:
    return Table(
        "coverage_by_status",
        "stats.table.status",
        (
            Column("key", "stats.status", CellKind.LABEL),
            Column("households", "stats.households"),
            Column("persons", "stats.persons"),
        ),
        _statuses(result["households_by_status"], result["persons_by_status"], who.lang),
        (Chart("households"),),
    )


def _coverage_by_mutual(result: dict[str, Any], who: Audience) -> Table:
    return Table(
        "coverage_by_mutual",
        "stats.table.coverage_by_mutual",
        (
            Column("key", "stats.mutual", CellKind.LABEL),
            *(Column(status, f"status.{status}") for status in CoverageStatus),
        ),
        list(result["by_mutual"]),
    )


def _renewals(result: dict[str, Any], who: Audience) -> Table:
    opened = result["periods_opened"]
    return Table(
        "coverage_renewals",
        "stats.table.renewals",
        (Column("key", "stats.cover_year", CellKind.LABEL), Column("periods", "stats.periods")),
        [
            {"key": language.translate(who.lang, "stats.first_year"), "periods": opened["first"]},
            {"key": language.translate(who.lang, "stats.renewal"), "periods": opened["renewals"]},
        ],
        (Chart("periods"),),
    )


_PREMIUM_COLUMNS = (
    Column("premium_due", "stats.premium_due", CellKind.XOF),
    Column("premium_paid", "stats.premium_paid", CellKind.XOF),
    Column("collection_rate", "stats.collection_rate", CellKind.RATE),
    Column("sponsor_share", "stats.sponsor_share", CellKind.XOF),
    Column("sponsor_paid", "stats.sponsor_paid", CellKind.XOF),
)


def _premiums_by(dimension: str) -> Callable[[dict[str, Any], Audience], Table]:
    def build(result: dict[str, Any], who: Audience) -> Table:
        return Table(
            f"premiums_by_{dimension}",
            f"stats.table.premiums_by_{dimension}",
            (Column("key", f"stats.{dimension}", CellKind.LABEL), *_PREMIUM_COLUMNS),
            sorted(result[f"premiums_by_{dimension}"], key=lambda row: str(row["key"])),
            (Chart("premium_paid", total="premium_due", heading="stats.chart.paid_of_due"),),
        )

    return build


def _collected_by(dimension: str, prefix: str) -> Callable[[dict[str, Any], Audience], Table]:
    def build(result: dict[str, Any], who: Audience) -> Table:
        rows = sorted(result[f"collected_by_{dimension}"], key=lambda row: str(row["key"]))
        return Table(
            f"collected_by_{dimension}",
            f"stats.table.collected_by_{dimension}",
            (
                Column("key", f"stats.{dimension}", CellKind.LABEL),
                Column("payments", "stats.payments"),
                Column("amount", "stats.amount", CellKind.XOF),
            ),
            [{**row, "key": label(who.lang, prefix, row["key"])} for row in rows],
            (Chart("amount"),),
        )

    return build


def _timeseries(result: dict[str, Any], who: Audience) -> Table:
    return Table(
        "timeseries",
        f"stats.table.timeseries_{result['interval']}",
        (
            Column("start", f"stats.{result['interval']}", CellKind.LABEL),
            Column("households", "stats.households"),
            Column("persons", "stats.persons"),
            Column("payments", "stats.payments"),
            Column("collected", "stats.collected", CellKind.XOF),
        ),
        list(result["series"]),
        (
            Chart("households", series=True, heading="stats.chart.households_over_time"),
            Chart("collected", series=True, heading="stats.chart.collected_over_time"),
        ),
    )


def _agents(result: dict[str, Any], who: Audience) -> Table:
    # Names come masked for viewers from the figures themselves (`agent_initials`).
    rows = list(result["agents"])
    return Table(
        "agents",
        "stats.table.agents",
        (
            Column("name", "stats.agent", CellKind.LABEL),
            Column("mutual", "stats.mutual", CellKind.LABEL),
            Column("households", "stats.households"),
            Column("members", "stats.members"),
            Column("cash_payments", "stats.cash_payments"),
            Column("cash_collected", "stats.cash_collected", CellKind.XOF),
        ),
        rows,
        (Chart("households", heading="stats.chart.agent_households"),),
    )


def _counts(
    name: str, source: str, heading: str, prefix: str | None
) -> Callable[[dict[str, Any], Audience], Table]:
    """A table of `{code: count}`."""

    def build(result: dict[str, Any], who: Audience) -> Table:
        return Table(
            name,
            f"stats.table.{name}",
            (Column("key", heading, CellKind.LABEL), Column("count", "stats.count")),
            [
                {"key": label(who.lang, prefix, key) if prefix else key, "count": count}
                for key, count in result[source].items()
            ],
            (Chart("count"),),
        )

    return build


def _funnel(result: dict[str, Any], who: Audience) -> Table:
    duration = result["average_duration_ms"]
    return Table(
        "funnel",
        "stats.table.funnel",
        (
            Column("sessions", "stats.sessions"),
            Column("enrolled", "stats.enrolled"),
            Column("payment_started", "stats.payment_started"),
            Column("average_hops", "stats.average_hops", CellKind.DECIMAL),
            Column("average_seconds", "stats.average_seconds", CellKind.DECIMAL),
        ),
        [
            {
                **{key: result[key] for key in ("sessions", "enrolled", "payment_started")},
                "average_hops": result["average_hops"],
                "average_seconds": None if duration is None else duration / 1000,
            }
        ],
    )


def _funnel_by_mutual(result: dict[str, Any], who: Audience) -> Table:
    """Sessions by the caller's mutual; the row of no known mutual is there only for
    staff who see the whole scheme (funnel.funnel leaves it out for the others)."""
    unknown = language.translate(who.lang, "stats.funnel.no_mutual")
    return Table(
        "funnel_by_mutual",
        "stats.table.funnel_by_mutual",
        (
            Column("key", "stats.mutual", CellKind.LABEL),
            Column("sessions", "stats.sessions"),
            Column("enrolled", "stats.enrolled"),
            Column("payment_started", "stats.payment_started"),
        ),
        [
            {**row, "key": unknown if row["key"] is None else row["key"]}
            for row in result["by_mutual"]
        ],
        (Chart("sessions"),),
    )


def _funnel_stops(result: dict[str, Any], who: Audience) -> Table:
    return Table(
        "funnel_stops",
        "stats.table.funnel_stops",
        (Column("node", "stats.screen", CellKind.LABEL), Column("sessions", "stats.sessions")),
        list(result["stopped_at"]),
        (Chart("sessions"),),
    )


_RENEWAL_COLUMNS = (
    Column("due", "stats.due"),
    Column("renewed", "stats.renewed"),
    Column("paid", "stats.renewed_paid"),
    Column("renewal_rate", "stats.renewal_rate", CellKind.RATE),
    Column("paid_rate", "stats.paid_rate", CellKind.RATE),
)
RETENTION_YEARS = 5  # columns of years after; older cohorts' later years are in the API


def _renewal_rate(result: dict[str, Any], who: Audience) -> Table:
    return Table(
        "renewal_rate",
        "stats.table.renewal_rate",
        _RENEWAL_COLUMNS,
        [{key: result[key] for key in ("due", "renewed", "paid", "renewal_rate", "paid_rate")}],
    )


def _renewal_rate_by(dimension: str) -> Callable[[dict[str, Any], Audience], Table]:
    def build(result: dict[str, Any], who: Audience) -> Table:
        return Table(
            f"renewal_rate_by_{dimension}",
            f"stats.table.renewal_rate_by_{dimension}",
            (Column("key", f"stats.{dimension}", CellKind.LABEL), *_RENEWAL_COLUMNS),
            list(result[f"by_{dimension}"]),
            (Chart("renewed", total="due", heading="stats.chart.renewed_of_due"),),
        )

    return build


def _renewal_channels(result: dict[str, Any], who: Audience) -> Table:
    return Table(
        "renewal_rate_by_channel",
        "stats.table.renewal_rate_by_channel",
        (
            Column("key", "stats.channel", CellKind.LABEL),
            Column("renewed", "stats.renewed"),
            Column("paid", "stats.renewed_paid"),
            Column("share", "stats.renewal_share", CellKind.RATE),
        ),
        [
            {**row, "key": label(who.lang, "stats.channel", row["key"])}
            for row in result["by_channel"]
        ],
        (Chart("renewed"),),
    )


def _renewals_due_total(result: dict[str, Any], who: Audience) -> Table:
    period = result["period"]
    return Table(
        "renewals_due_total",
        "stats.table.renewals_due_total",
        (
            Column("from", "stats.ending_from", CellKind.LABEL),
            Column("to", "stats.ending_to", CellKind.LABEL),
            Column("due", "stats.due_not_renewed"),
        ),
        [{"from": period["from"], "to": period["to"], "due": result["due"]}],
    )


def _renewals_due_by_commune(result: dict[str, Any], who: Audience) -> Table:
    return Table(
        "renewals_due_by_commune",
        "stats.table.renewals_due_by_commune",
        (Column("key", "stats.commune", CellKind.LABEL), Column("due", "stats.due_not_renewed")),
        list(result["by_commune"]),
        (Chart("due"),),
    )


def _renewals_due(result: dict[str, Any], who: Audience) -> Table:
    # Names and phones come masked for viewers from the figure itself.
    return Table(
        "renewals_due",
        "stats.table.renewals_due",
        (
            Column("member_no", "stats.member_no", CellKind.LABEL),
            Column("name", "stats.head", CellKind.LABEL),
            Column("phone", "stats.phone", CellKind.LABEL),
            Column("mutual", "stats.mutual", CellKind.LABEL),
            Column("commune", "stats.commune", CellKind.LABEL),
            Column("village", "stats.village", CellKind.LABEL),
            Column("product", "stats.product", CellKind.LABEL),
            Column("ends_on", "stats.ends_on", CellKind.LABEL),
            Column("grace_until", "stats.grace_until", CellKind.LABEL),
            Column("status", "stats.status", CellKind.LABEL),
        ),
        [
            {**row, "status": label(who.lang, "status", row["status"])}
            for row in result["households"]
        ],
    )


def _retention(result: dict[str, Any], who: Audience) -> Table:
    rows = []
    for cohort in result["cohorts"]:
        row: dict[str, Any] = {"key": str(cohort["year"]), "households": cohort["households"]}
        for later in cohort["still_covered"]:
            if later["after_years"] <= RETENTION_YEARS:
                row[f"after_{later['after_years']}"] = later["rate"]
        rows.append(row)
    return Table(
        "retention",
        "stats.table.retention",
        (
            Column("key", "stats.cohort", CellKind.LABEL),
            Column("households", "stats.households"),
            *(
                Column(f"after_{n}", f"stats.retention.after_{n}", CellKind.RATE)
                for n in range(1, RETENTION_YEARS + 1)
            ),
        ),
        rows,
        (Chart("after_1", heading="stats.chart.retention_after_1"),),
    )


def _specs() -> list[TableSpec]:
    specs = [
        TableSpec("overview", "overview", _overview),
        TableSpec("overview_status", "overview", _overview_status),
    ]
    for dimension, prefix in (
        ("mutual", None),
        ("commune", None),
        ("product", None),
        ("channel", "stats.channel"),
    ):
        specs.append(
            TableSpec(f"enrolment_by_{dimension}", "enrolment", _enrolment_by(dimension, prefix))
        )
    specs += [
        TableSpec("enrolment_by_occupation", "enrolment", _enrolment_by_occupation),
        TableSpec("coverage_by_status", "coverage", _coverage_status),
        TableSpec("coverage_by_mutual", "coverage", _coverage_by_mutual),
        TableSpec("coverage_renewals", "coverage", _renewals),
        TableSpec("premiums_by_mutual", "collection", _premiums_by("mutual")),
        TableSpec("premiums_by_product", "collection", _premiums_by("product")),
        TableSpec(
            "collected_by_provider", "collection", _collected_by("provider", "stats.provider")
        ),
        TableSpec("collected_by_channel", "collection", _collected_by("channel", "stats.channel")),
        TableSpec("timeseries", "timeseries", _timeseries),
        TableSpec("agents", "agents", _agents),
        TableSpec(
            "sms_by_status",
            "sms",
            _counts("sms_by_status", "by_status", "stats.status", "stats.sms"),
        ),
        TableSpec(
            "sms_by_delivery",
            "sms",
            _counts("sms_by_delivery", "by_delivery_status", "stats.report", None),
        ),
        TableSpec(
            "sms_by_purpose",
            "sms",
            _counts("sms_by_purpose", "by_purpose", "stats.purpose", "stats.purpose"),
        ),
        TableSpec("funnel", "funnel", _funnel),
        TableSpec("funnel_by_mutual", "funnel", _funnel_by_mutual),
        TableSpec(
            "funnel_by_journey",
            "funnel",
            _counts("funnel_by_journey", "by_journey", "stats.journey", "stats.journey"),
        ),
        TableSpec(
            "funnel_by_status",
            "funnel",
            _counts("funnel_by_status", "by_status", "stats.session_status", None),
        ),
        TableSpec("funnel_stops", "funnel", _funnel_stops),
        TableSpec("renewal_rate", "renewals", _renewal_rate),
        *(
            TableSpec(f"renewal_rate_by_{dimension}", "renewals", _renewal_rate_by(dimension))
            for dimension in ("mutual", "commune", "product")
        ),
        TableSpec("renewal_rate_by_channel", "renewals", _renewal_channels),
        TableSpec("renewals_due_total", "renewals_due", _renewals_due_total),
        TableSpec("renewals_due_by_commune", "renewals_due", _renewals_due_by_commune),
        TableSpec("renewals_due", "renewals_due", _renewals_due),
        TableSpec("retention", "retention", _retention),
    ]
    return specs


TABLES: dict[str, TableSpec] = {spec.name: spec for spec in _specs()}
