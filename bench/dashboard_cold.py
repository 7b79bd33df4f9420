"""Dashboard figures counted cold: every statistics figure computed straight from the
database (no Redis cache, no warm-up), on a large register on PostgreSQL, for the whole
scheme and for one mutual's manager, and the retention figure against its former query
(kept in `gateway.stats.retention_cold`) in the same run: first every call with no
roll-up (the cold computation from the base tables), then `Rollup.rebuild`, then every
call again, with the ratio and whether the answers are the same.

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
from sqlalchemy import text

from db.engine import create_engine_async, session_factory
from gateway.staff.scope import Scope
from gateway.stats import retention_cold
from gateway.stats.board import FIGURES
from gateway.stats.filters import Filters
from gateway.stats.rollup import Rollup
from gateway.stats.selection import Source

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/alafia_bench_cold"
TARGET_MS = 300.0  # issue 17: every dashboard call ≤ 300 ms cold on 1 M members

Figure = Callable[[Source, Scope, Filters, date], Awaitable[dict[str, Any]]]


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
            figure = retention_cold.retention if name == "retention" else FIGURES[name]
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
