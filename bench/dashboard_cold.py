"""Dashboard figures counted cold: every statistics figure computed straight from the
database (no Redis cache, no warm-up), on a large register on PostgreSQL, for the whole
scheme and for one mutual's manager, and the retention figure against its former query
(kept in `gateway.stats.retention_cold`) and the overview and coverage against theirs
(each household's latest cover year as "no later year exists", every year joined to its
household: `overview_cold` and `coverage_cold` below) in the same run: first every call
with no roll-up (the cold computation from the base tables), then `Rollup.rebuild`, then
every call again, with the ratio and whether the answers are the same.

    python bench/dashboard_cold.py [--members 1000000] [--runs 3]
                                   [--database-url URL] [--reseed] [--json]

Seeds with bench/dashboard_load.py's set-based seed (households of five on the three demo
mutuals over a year; a third renewing an older year), reused when it is there. "Cold"
here means no cache of ours; PostgreSQL's own buffers are warm after the first run, as on
a server that keeps running: the first run is printed apart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchkit import loop_factory, progress, run_cli
from dashboard_load import ensure_database, seed, seeded
from sqlalchemy import case, exists, func, select, text
from sqlalchemy.orm import aliased

from db import models
from db.engine import create_engine_async, session_factory
from gateway.staff.scope import Scope
from gateway.stats import retention_cold
from gateway.stats.board import FIGURES
from gateway.stats.figures import _statuses, coverage_answer
from gateway.stats.filters import Filters
from gateway.stats.money import collected_by, collected_rows, premium_rows, premiums_by
from gateway.stats.rollup import Rollup, enrolment_rows
from gateway.stats.selection import Selection, Source, reading, select_for
from menus.values import CoverageStatus

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/alafia_bench_cold"
TARGET_MS = 300.0  # issue 17: every dashboard call ≤ 300 ms cold on 1 M members

Figure = Callable[[Source, Scope, Filters, date], Awaitable[dict[str, Any]]]


H = models.Household
P = models.CoveragePeriod


def _latest_periods_cold(sel: Selection) -> list[Any]:
    """Each household's latest cover year as the figures found it before migration 0018:
    no later year exists (a hash anti join of the years against themselves), every year
    joined to its household."""
    later = aliased(P)
    return [
        H.id == P.household_id,
        ~exists().where(later.household_id == P.household_id, later.starts_on > P.starts_on),
        *sel.households(),
        *sel.days(P.starts_on),
    ]


async def overview_cold(
    source: Source, scope: Scope, filters: Filters, today: date
) -> dict[str, Any]:
    """`figures.overview` as it was before migration 0018: the baseline."""
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        household_rows, person_rows = await enrolment_rows(session, sel)
        statuses = (
            await session.execute(
                select(P.status, func.count()).where(*_latest_periods_cold(sel)).group_by(P.status)
            )
        ).all()
        premiums = await premium_rows(session, sel)
        collected = await collected_rows(session, sel)
    return {
        "households": sum(int(row[-1]) for row in household_rows),
        "persons": sum(int(row[-1]) for row in person_rows),
        "households_by_status": _statuses({status: count for status, count in statuses}),
        "premiums": premiums_by(premiums, lambda row: None, total_only=True)[0],
        "collected": collected_by(collected, lambda row: None, total_only=True)[0],
    }


async def coverage_cold(
    source: Source, scope: Scope, filters: Filters, today: date
) -> dict[str, Any]:
    """`figures.coverage` as it was before migration 0018: the baseline."""
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        rows = (
            await session.execute(
                select(H.mutual_id, P.status, func.count(), func.sum(P.persons))
                .where(*_latest_periods_cold(sel))
                .group_by(H.mutual_id, P.status)
            )
        ).all()
        renewal = P.renewal_of_id.is_not(None)
        opened = (
            await session.execute(
                select(func.count(), func.sum(case((renewal, 1), else_=0)))
                .select_from(P)
                .join(H, H.id == P.household_id)
                .where(
                    *sel.households(), *sel.days(P.starts_on), P.status != CoverageStatus.CANCELLED
                )
            )
        ).one()
    return coverage_answer(sel, rows, opened)


# The baselines: the former queries, run in the pass without roll-ups.
COLD: dict[str, Figure] = {
    "retention": retention_cold.retention,
    "overview": overview_cold,
    "coverage": coverage_cold,
}


def cases(today: date) -> list[tuple[str, str, Scope, Filters]]:
    """(label, figure, scope, filters): the calls the dashboard's pages make."""
    admin = Scope("central_admin", None)
    manager = Scope("mutual_manager", "RMS-BJ/ZS-PARAKOU/MS-PARAKOU")
    quarter_ago = today - timedelta(days=90)
    listed = [(f"{name}", name, admin, Filters()) for name in FIGURES]
    listed += [
        (
            "timeseries 52 weeks",
            "timeseries",
            admin,
            Filters(since=today - timedelta(days=364), interval="week"),
        ),
        ("enrolment agent 90 d", "enrolment", admin, Filters(since=quarter_ago, channel="agent")),
        ("renewals FAMILLE 90 d", "renewals", admin, Filters(since=quarter_ago, product="FAMILLE")),
        ("retention agent", "retention", admin, Filters(channel="agent")),
        ("enrolment, a manager", "enrolment", manager, Filters()),
        ("overview, a manager", "overview", manager, Filters()),
        ("retention FAMILLE", "retention", admin, Filters(product="FAMILLE")),
    ]
    return listed


async def timed(
    figure: Figure, source: Source, scope: Scope, wanted: Filters, today: date, runs: int
) -> tuple[float, list[float], dict[str, Any]]:
    """The first run's ms, the later runs' ms, and the figure."""
    times: list[float] = []
    result: dict[str, Any] = {}
    for _ in range(runs + 1):
        began = time.perf_counter()
        result = await figure(source, scope, wanted, today)
        times.append((time.perf_counter() - began) * 1000)
    return times[0], times[1:], result


async def measure(url: str, runs: int) -> dict[str, Any]:
    """Every call without the roll-ups (the cold computation: nothing folded, every day
    counted from the base tables; retention by its former query), then the roll-ups
    rebuilt, then every call again; the answers must be the same."""
    engine = create_engine_async(url.replace("postgresql://", "postgresql+psycopg://"))
    sessions = session_factory(engine)
    # The figures' own time limit is lifted: the cold computation is the baseline.
    source = Source(sessions, timeout_ms=600_000)
    today = date.today()
    rollup = Rollup(sessions, source.timezone, lambda: datetime.now(UTC))
    listed = cases(today)
    rows: list[dict[str, Any]] = []
    try:
        async with sessions() as session, session.begin():
            for table in ("stats_household_days", "stats_person_days", "stats_rollup_marks"):
                await session.execute(text(f"DELETE FROM {table}"))
        progress("without roll-ups (the cold computation)")
        before = []
        for label, name, scope, wanted in listed:
            figure = COLD.get(name, FIGURES[name])
            before.append(await timed(figure, source, scope, wanted, today, runs))
            progress(f"  {label}: {before[-1][1]}")
        began = time.perf_counter()
        days = await rollup.rebuild()
        rebuild_s = round(time.perf_counter() - began, 1)
        progress(f"roll-ups rebuilt: {days} days in {rebuild_s} s")
        for (label, name, scope, wanted), (_, b_later, b_result) in zip(
            listed, before, strict=True
        ):
            first, later, result = await timed(FIGURES[name], source, scope, wanted, today, runs)
            row: dict[str, Any] = {
                "call": label,
                "before_ms": round(statistics.median(b_later), 1),
                "first_ms": round(first, 1),
                "after_ms": round(statistics.median(later), 1),
                "same_answer": result == b_result,
            }
            row["ratio"] = round(row["before_ms"] / max(row["after_ms"], 0.01), 1)
            rows.append(row)
            progress(f"  {label}: {row}")
    finally:
        await engine.dispose()
    return {"calls": rows, "rebuild": {"days": days, "seconds": rebuild_s}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    ensure_database(args.database_url)
    with tempfile.TemporaryDirectory() as workdir:
        env = {
            **os.environ,
            "ALAFIA_DATA_DIR": str(Path(workdir) / "data"),
            "DATABASE_URL": args.database_url,
            "LOG_LEVEL": "WARNING",
        }
        seeding = None if args.reseed else seeded(args.database_url, args.members)
        with (Path(workdir) / "setup.log").open("w") as log:
            if seeding is None:
                progress(f"seeding {args.members} members (set-based SQL)")
                seeding = seed(args.database_url, args.members, env, log)
            else:
                run_cli(["db", "upgrade"], env, log)  # a seed of an older schema
    progress(f"seeded in {seeding['seconds']} s")
    load_before = os.getloadavg()
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        document = runner.run(measure(args.database_url, args.runs))
    document.update(
        members=args.members,
        households=args.members // 5,
        load_average_before=[round(x, 2) for x in load_before],
        load_average_after=[round(x, 2) for x in os.getloadavg()],
    )
    if args.json:
        json.dump(document, sys.stdout, indent=2)
        return 0
    print(
        f"\n{document['households']} households, {args.members} members; "
        f"load average {document['load_average_before']} -> {document['load_average_after']}; "
        f"roll-ups rebuilt in {document['rebuild']['seconds']} s "
        f"({document['rebuild']['days']} days)"
    )
    print(f"{'call':24} {'before ms':>10} {'after ms':>9} {'ratio':>6} {'first ms':>9}  ≤ 300")
    for row in document["calls"]:
        print(
            f"{row['call']:24} {row['before_ms']:10.1f} {row['after_ms']:9.1f} "
            f"{row['ratio']:6.1f} {row['first_ms']:9.1f}  "
            f"{'yes' if row['after_ms'] <= TARGET_MS else 'NO'}"
            + ("" if row["same_answer"] else "  ANSWERS DIFFER")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
