"""The USSD funnel, from Africa's Talking's end-of-session notices (`ussd_session_ends`):
where people get to and where they give up, whole-scheme and per mutual."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, case, func, select

from db import models
from gateway.staff.scope import Scope
from gateway.stats.figures import sum_by
from gateway.stats.filters import BadFilter, Filters
from gateway.stats.selection import Source, reading, select_for
from menus.journeys import nodes_with
from menus.nodes import Outcome

STOPS_SHOWN = 15  # the most common last screens of the other sessions


async def funnel(source: Source, scope: Scope, filters: Filters) -> dict[str, Any]:
    """The USSD funnel from Africa's Talking's end-of-session notifications in the period:
    sessions (one notification each), by journey and by the aggregator's status; those
    that ended on a screen marked `Outcome.ENROLLED` and `Outcome.PAYMENT_STARTED` in
    the journeys; the screens the others ended on, most common first; and the same
    counts by mutual (`by_mutual`).

    A session belongs to the caller's mutual when the session knew it: a known
    household's, a field agent's, or the one chosen while enrolling. Sessions of no known
    mutual (`key` null in `by_mutual`: a stranger who stopped before choosing) count only
    for staff who see the whole scheme, and not under a `mutual` filter. Only `from`,
    `to` and `mutual` apply: a session has no commune, product or channel."""
    narrowed = [name for name in ("commune", "product", "channel") if getattr(filters, name)]
    if narrowed:
        raise BadFilter(f"the USSD funnel is not broken down by {', '.join(narrowed)}")
    end = models.UssdSessionEnd
    enrolled, payment_started = nodes_with(Outcome.ENROLLED), nodes_with(Outcome.PAYMENT_STARTED)
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        kept = (*sel.in_mutuals(end.mutual_id), *sel.during(end.ended_at))
        rows = (
            await session.execute(
                select(end.journey, end.last_node, end.status, func.count())
                .where(*kept)
                .group_by(end.journey, end.last_node, end.status)
            )
        ).all()
        # Per mutual, with the sums the averages are made of: one more grouped scan.
        per_mutual = (
            await session.execute(
                select(
                    end.mutual_id,
                    func.sum(_one_if(end.last_node.in_(sorted(enrolled)))),
                    func.sum(_one_if(end.last_node.in_(sorted(payment_started)))),
                    func.sum(end.hops),
                    func.count(end.hops),
                    func.sum(end.duration_ms),
                    func.count(end.duration_ms),
                    func.count(),
                )
                .where(*kept)
                .group_by(end.mutual_id)
            )
        ).all()
    stops = sum_by(
        [row for row in rows if row[1] not in enrolled | payment_started],
        lambda row: row[1] or "unknown",
    )
    journeys = sum_by(rows, lambda row: row[0] or "unknown")
    by_mutual = [
        {
            "key": None if mutual_id is None else sel.mutual_code(mutual_id),
            "sessions": int(count),
            "enrolled": int(enrolled_count or 0),
            "payment_started": int(started_count or 0),
        }
        for mutual_id, enrolled_count, started_count, *_, count in per_mutual
    ]
    by_mutual.sort(key=lambda row: (row["key"] is None, row["key"] or ""))
    return {
        "sessions": sum(row[-1] for row in rows),
        "enrolled": sum(row[-1] for row in rows if row[1] in enrolled),
        "payment_started": sum(row[-1] for row in rows if row[1] in payment_started),
        "by_journey": dict(sorted(journeys.items())),
        "by_status": dict(sorted(sum_by(rows, lambda row: row[2]).items())),
        "stopped_at": [
            {"node": node, "sessions": count}
            for node, count in sorted(stops.items(), key=lambda item: (-item[1], item[0]))[
                :STOPS_SHOWN
            ]
        ],
        "by_mutual": by_mutual,
        "average_hops": _average(per_mutual, 3),
        "average_duration_ms": _average(per_mutual, 5),
    }


def _one_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _average(rows: Sequence[Any], at: int) -> float | None:
    """The average of a column from per-group sums (at `at`) and counts (at `at + 1`)."""
    total = sum(int(row[at] or 0) for row in rows)
    count = sum(int(row[at + 1]) for row in rows)
    return round(total / count, 1) if count else None
