"""The soak's retention 503, reproduced: the register as bench/soak.py seeds it (households
of one mutual, bulk-inserted by bench/callbacks_load.py, their payments then confirmed so
that every cover year opens in the current year), and the retention figure counted by
its former query (`gateway.stats.retention_cold`) and by the current one, in one run.

    python bench/dashboard_retention_soak.py [--households 9500] [--limit-ms 20000]
                                             [--database-url URL]

The database (`alafia_bench_retention` by default) is emptied and seeded again each run.
The statistics PostgreSQL plans with are those of the seeded register (every year still
unpaid), as during the soak until autovacuum analyses the tables again: the former query
then joined the years to their minimum in a nested loop. With fresh statistics it takes
about 50 ms on this register (`ANALYZE` and run the two again to see it).
A query past `--limit-ms` is cancelled by PostgreSQL and printed as such.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from benchkit import progress, run_cli
from callbacks_load import seed
from dashboard_load import ensure_database
from sqlalchemy.exc import DBAPIError
from ussd_load import DEMO_SCHEME

from db.engine import create_engine_async, session_factory
from gateway.staff.scope import Scope
from gateway.stats import renewals, retention_cold
from gateway.stats.filters import Filters
from gateway.stats.selection import Source

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/alafia_bench_retention"


def seeded(url: str, households: int) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")
    with tempfile.TemporaryDirectory() as workdir:
        env = {
            **os.environ,
            "ALAFIA_DATA_DIR": str(Path(workdir) / "data"),
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
        }
        with (Path(workdir) / "setup.log").open("w") as log:
            run_cli(["db", "upgrade"], env, log)
            run_cli(["scheme", "load", str(DEMO_SCHEME)], env, log)
    seed(url, households, "Africa/Porto-Novo")
    with psycopg.connect(url, autocommit=True) as connection:
        # The statistics PostgreSQL keeps of the seeded register: no year covered yet.
        connection.execute("ANALYZE")
        # Then what the soak's callbacks do to each year (paid, rights open from today),
        # faster than autovacuum analyses again: the planner still believes no year is
        # covered, so it expects one row where there are thousands.
        connection.execute(
            "UPDATE coverage_periods SET covered_from = current_date,"
            " covered_until = current_date + 365, status = 'active'"
        )


async def timed(url: str, limit_ms: int) -> dict[str, Any]:
    engine = create_engine_async(url.replace("postgresql://", "postgresql+psycopg://"))
    source = Source(session_factory(engine), timeout_ms=limit_ms)
    scope, wanted, today = Scope("central_admin", None), Filters(), date.today()
    timings: dict[str, Any] = {}
    answers = []
    try:
        for name, figure in (("former", retention_cold.retention), ("now", renewals.retention)):
            began = time.perf_counter()
            try:
                answers.append(await figure(source, scope, wanted, today))
                timings[name] = round((time.perf_counter() - began) * 1000, 1)
            except DBAPIError:
                timings[name] = f"cancelled after {round(time.perf_counter() - began, 1)} s"
    finally:
        await engine.dispose()
    timings["same_answer"] = len(answers) == 2 and answers[0] == answers[1]
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=9500)
    parser.add_argument("--limit-ms", type=int, default=20_000)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    args = parser.parse_args()
    ensure_database(args.database_url)
    progress(f"seeding {args.households} households as the soak does")
    seeded(args.database_url, args.households)
    load = os.getloadavg()
    timings = asyncio.run(timed(args.database_url, args.limit_ms))
    print(
        f"{args.households} households; load average {[round(x, 2) for x in load]}\n"
        f"retention, former query: {timings['former']} ms\n"
        f"retention, one pass:     {timings['now']} ms\n"
        f"same answer: {timings['same_answer']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
