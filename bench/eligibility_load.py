"""Eligibility benchmark: checks per second over HTTP against a PostgreSQL database holding
one million members, and the latency a health facility sees at a paced rate.

    python bench/eligibility_load.py [--database-url postgresql://postgres@127.0.0.1:5432/alafia_bench_elig]
                                     [--members 1000000] [--reseed] [--workers 2]
                                     [--connections 64] [--seconds 15] [--rate 500] [--json]

What it does, all on 127.0.0.1:
1. the database (only one whose name starts with `alafia_bench`): when it already holds
   --members members seeded by this script less than a week ago, it is reused (seeding
   takes a while; --reseed forces it); otherwise it is created if missing, its `public`
   schema is reset, `alafia db upgrade` and the demo scheme run, and it is seeded in set-based
   SQL (INSERT ... SELECT generate_series): households of four members on the demo family
   product, members numbered like the gateway numbers them (`member_number(id)`, the Damm
   check digit computed in SQL and checked against Python's on a sample), one coverage
   period per household whose status on today's date is, by
   household: 60 % active, 10 % waiting, 20 % pending payment, 10 % lapsed (the dates and
   money consistent with gateway/enrolment/coverage.py, checked on a sample, and chosen so that the
   mix holds for a week), a third of the households with an older lapsed period too; then
   VACUUM ANALYZE. On reuse, `alafia db upgrade` and the scheme load still run (both do
   nothing on an up-to-date database). Either way the sample is checked again, the tables
   are read into the page cache (pg_prewarm) and eligibility_checks is emptied;
2. a facility and its API key: `alafia facilities add --code BENCH --name Bench` (an older
   BENCH facility is deleted first);
3. starts `alafia serve --workers N` (REGISTER_ADAPTER=local, LOG_LEVEL=WARNING, Redis at
   --redis-url, which the app needs to start) and the baseline below, N processes each;
4. capacity: a closed loop of --connections connections that each send the next check
   as soon as the last is answered, for --seconds after --warmup seconds, on the gateway
   then on the baseline;
5. latency: an open loop at --rate checks/s (default 500: half of the issue's 1,000), and
   at half the gateway's measured capacity when that differs by more than 10 %, each for
   --seconds on the gateway then the baseline. Latency is counted from the moment a check
   was due to leave, so a client that falls behind is not hidden (wrk2's way). Between
   phases it waits until the servers are idle (an overloaded gateway works on after the
   client gave up);
6. checks that eligibility_checks gained one row per check the gateway answered, by
   outcome (covered or not: 200, unknown member: 404, bad number: 400); a check the client
   gave up on (10 s) may have been logged too, and is allowed for.

CPU is measured per group of processes over each window: the target's, PostgreSQL's
(the postmaster, its helpers and the backends of this database only), this client's, and
"others" (whatever else the machine did); PostgreSQL's transactions and block reads per
check come from pg_stat_database.

The checks: GET /api/v1/eligibility/{member_no}?date=<today in the scheme's time zone>
with `Authorization: Bearer <key>`, for random members over the whole register; 1 % of
them valid numbers nobody holds (404 expected) and 1 % with a wrong check digit (400
expected), --odd-share. Every answer is checked: the HTTP status against the kind of
number, and for a member the coverage status against the one seeded for that household.
Anything else, or no answer, is an error.

The baseline is the least an eligibility endpoint can do: a Starlette route (uvicorn,
uvloop/httptools, same number of processes, no access log) that compares the Bearer
header with a constant, validates the number, runs ONE plain SQL query (member -> latest
period opened on or before the day -> product) through a fixed set of 20 psycopg
connections per process in autocommit (the gateway's pool: 10 + 10 overflow), and answers
the stored status as JSON, logging nothing. The gateway/baseline ratio prices the ORM,
the key check, the status computed in Python and the INSERT that logs every check.

Every process started here is stopped at the end, also on an error, Ctrl-C or SIGTERM.
Progress goes to stderr; the figures (or JSON with --json) to stdout. Exit status 1 on an
error (a wrong or missing answer) or a check not logged; missing a target is reported,
not an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import aiohttp
import psutil
import psycopg
from benchkit import (
    HOST,
    ROOT,
    bounded,
    free_port,
    loop_factory,
    percentile,
    progress,
    run_bench,
)
from callbacks_load import (
    Proc,
    cpu_snapshot,
    cpu_used,
    database_name,
    family,
    libpq_url,
    machine_busy_seconds,
    reset_database,
    start,
    stop,
    wait_ready,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEMO_SCHEME = ROOT / "gateway" / "scheme" / "data" / "demo_scheme.yaml"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/alafia_bench_elig"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
DATABASE_PREFIX = "alafia_bench"  # the only databases this script may wipe
# ... and `<name>_bench...`, one engineer's own bench databases on a shared machine.
DATABASE_NAMES = re.compile(r"^(alafia_bench|[a-z0-9]+_bench)")
SEED_TABLE = "bench_eligibility_seed"  # what was seeded, and when: the reuse test
FACILITY_CODE = "BENCH"
PRODUCT_CODE = "FAMILLE"  # the demo scheme's family product
MEMBERS_PER_HOUSEHOLD = 4

# Household id % 10 -> the status of its latest period on the seeding day (and for a week).
STATUS_BY_BUCKET = ("active",) * 6 + ("waiting",) + ("pending_payment",) * 2 + ("lapsed",)
COVERED_STATUSES = frozenset({"active", "grace"})
STABLE_DAYS = 7  # the mix holds from the seeding day to this many days later
REUSE_DAYS = STABLE_DAYS
MARGIN_DAYS = STABLE_DAYS + 1  # no date of the seeded periods falls closer to the seeding day

TARGET_CHECKS_PER_S = 1000.0  # from the issue: at full load
TARGET_P99_MS = 20.0  # from the issue: p99 at half that rate
REQUEST_TIMEOUT_S = 10.0
MAX_ERROR_SAMPLES = 5
BUSY_OTHERS = 0.5  # CPU share used outside the benchmark above which figures are suspect

BASELINE_CONNECTIONS = 20  # per process; db.engine.create_engine_async: pool 10 + overflow 10
BASELINE_KEY_ENV = "BENCH_BASELINE_KEY"
BASELINE_KEY = "bench-baseline-key"
BASELINE_QUERY = """
SELECT m.first_names, m.last_name, p.id, p.status, p.covered_from, p.covered_until,
       pr.copay_percent
FROM members m
LEFT JOIN LATERAL (
    SELECT c.id, c.status, c.covered_from, c.covered_until, c.product_id
    FROM coverage_periods c
    WHERE c.household_id = m.household_id AND c.starts_on <= %s
    ORDER BY c.starts_on DESC
    LIMIT 1
) p ON true
LEFT JOIN products pr ON pr.id = p.product_id
WHERE m.member_no = %s
"""

# ------------------------------------------------------------------------------ baseline


def baseline_app() -> Starlette:
    """The floor: key compared with a constant, number validated, one query, JSON."""
    from menus.identifiers import MemberNumberError, parse_member_number

    conninfo = libpq_url(os.environ["DATABASE_URL"])
    authorization = f"Bearer {os.environ[BASELINE_KEY_ENV]}"
    idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for _ in range(BASELINE_CONNECTIONS):
            idle.put_nowait(await psycopg.AsyncConnection.connect(conninfo, autocommit=True))
        try:
            yield
        finally:
            while not idle.empty():
                await idle.get_nowait().close()

    async def eligibility(request: Request) -> Response:
        if request.headers.get("authorization") != authorization:
            return JSONResponse({"error": "a valid key is required"}, status_code=401)
        typed = request.path_params["member_no"]
        try:
            raw_day = request.query_params.get("date")
            on = date.fromisoformat(raw_day) if raw_day else date.today()
            member_no = parse_member_number(typed)
        except (ValueError, MemberNumberError):
            return JSONResponse({"error": "invalid", "member_no": typed[:20]}, status_code=400)
        connection = await idle.get()
        try:
            cursor = await connection.execute(BASELINE_QUERY, (on, member_no))
            row = await cursor.fetchone()
        finally:
            idle.put_nowait(connection)
        if row is None:
            return JSONResponse({"error": "no member", "member_no": member_no}, status_code=404)
        first_names, last_name, _period, status, start_on, end_on, copay = row
        return JSONResponse(
            {
                "member_no": member_no,
                "date": on.isoformat(),
                "covered": status in COVERED_STATUSES,
                "status": status or "none",
                "period": {
                    "start": start_on.isoformat() if start_on else None,
                    "end": end_on.isoformat() if end_on else None,
                },
                "copay_percent": copay,
                "first_name": first_names.split()[0] if first_names else "",
                "initial": last_name[:1].upper(),
            }
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/api/v1/eligibility/{member_no}", eligibility, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def serve_baseline(port: int, workers: int) -> None:
    import uvicorn

    # Same server as `alafia serve` (uvloop/httptools, N processes), minus the access log.
    # With several processes uvicorn imports the app by name: bench/ is on sys.path.
    uvicorn.run(
        "eligibility_load:baseline_app",
        factory=True,
        host=HOST,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
    )


# ------------------------------------------------------------------------------ database

# member_number()'s check digit in SQL: Damm's quasigroup (menus/identifiers.py) as an array,
# walked over the eight digits of the body in one nested expression (a PL/pgSQL loop costs
# 6.7 s for a million numbers, this 1.7 s); checked against the Python function on a sample.
DAMM_TABLE = (
    "'{{0,3,1,7,5,9,8,6,4,2},{7,0,9,2,1,5,4,8,6,3},{4,2,0,6,8,7,1,3,5,9},"
    "{1,7,5,0,9,8,3,4,2,6},{6,1,2,3,0,4,5,9,7,8},{3,6,7,4,2,0,9,5,8,1},"
    "{5,8,6,9,7,2,0,1,3,4},{8,9,4,5,3,6,2,0,1,7},{9,4,3,8,6,1,7,2,0,5},"
    "{2,5,8,1,4,3,6,7,9,0}}'::int[]"
)


def damm_sql(body: str, digits: int = 8) -> str:
    """The check digit of `body` (an SQL text of `digits` digits), with `damm_t` in scope."""
    interim = "0"
    for position in range(1, digits + 1):
        interim = f"damm_t[{interim} + 1][ascii(substr({body}, {position}, 1)) - 47]"
    return f"({interim})::text"


HOUSEHOLDS_SQL = """
INSERT INTO households (id, mutual_id, product_id, phone, language, channel, commune,
                        request_key, created_at)
SELECT h, %(mutual_id)s, %(product_id)s,
       '+2290197' || lpad((h %% 1000000)::text, 6, '0'),  -- valid MTN Benin numbers
       'fr', 'import', 'Parakou', 'bench:' || h, now()
FROM generate_series(1, %(households)s) h
"""

MEMBERS_SQL = """
INSERT INTO members (id, member_no, household_id, last_name, first_names, sex, birth_date,
                     birth_year, birth_year_only, relationship_to_head, created_at)
SELECT m, b || DAMM_OF_B, (m - 1) / 4 + 1,
       (ARRAY['HOUNGBO','AGBO','DOSSOU','KPODO','ADJOVI','SOSSOU','BIO','ZINSOU'])[1 + m %% 8],
       (ARRAY['Afi','Jean','Marc','Ella','Koffi','Ama','Sèna','Rachidi','Bintou','Yao'])
           [1 + (m / 8) %% 10],
       CASE WHEN m %% 2 = 0 THEN 'F' ELSE 'M' END,
       birth, extract(year FROM birth)::int, false,
       CASE (m - 1) %% 4 WHEN 0 THEN 'head' WHEN 1 THEN 'spouse' ELSE 'child' END,
       now()
FROM (SELECT DAMM_TABLE AS damm_t) damm,
     generate_series(1, %(members)s) m,
     LATERAL (SELECT (10000000 + m)::text AS b,
                     CASE WHEN (m - 1) %% 4 < 2
                          THEN date '1960-01-01' + ((m * 7919::bigint) %% 12000)::int
                          ELSE date '1995-01-01' + ((m * 7919::bigint) %% 10000)::int
                     END AS birth) x
""".replace("DAMM_TABLE", DAMM_TABLE).replace("DAMM_OF_B", damm_sql("b"))

# The latest period of every household (id = household id), its status on %(today)s set
# by the household's bucket, and dates at least MARGIN_DAYS away from today, so that the
# status is the same for the next STABLE_DAYS days:
#   active   paid 0-199 days after the waiting period started, cover from today-199..today
#   waiting  paid 0..w-MARGIN-1 days ago: cover starts in MARGIN+1..w days
#   pending  not paid (a part paid by half of them), opened 0-59 days ago
#   lapsed   grace ended more than MARGIN days ago
PERIODS_SQL = """
WITH h AS (
    SELECT g AS household_id,
           (%(statuses)s::text[])[g %% 10 + 1] AS status,
           g %% 200 AS spread,
           LEAST(4, %(members)s - (g - 1) * 4) AS persons
    FROM generate_series(1, %(households)s) g
), p AS (
    SELECT household_id, status, spread, persons,
           CASE status
               WHEN 'active' THEN %(today)s - %(w)s - spread
               WHEN 'waiting' THEN %(today)s - spread %% (%(w)s - %(margin)s)
               WHEN 'lapsed' THEN (%(today)s - make_interval(months => %(c)s))::date
                                  - %(g)s - %(margin)s - 3 - spread - %(w)s
           END AS paid
    FROM h
)
INSERT INTO coverage_periods (id, household_id, product_id, starts_on, persons, premium_due,
                              amount_paid, paid_in_full_on, sponsor_share, sponsor_paid,
                              waits_for_sponsor, waiting_days, cover_months, grace_days,
                              status, covered_from, covered_until, grace_until)
SELECT household_id, household_id, %(product_id)s,
       COALESCE(paid - 5 - household_id %% 20, %(today)s - spread %% 60),
       persons, persons * %(premium)s,
       CASE WHEN paid IS NOT NULL THEN persons * %(premium)s
            WHEN persons > 1 AND household_id %% 2 = 0 THEN %(premium)s
            ELSE 0 END,
       paid, 0, 0, false, %(w)s, %(c)s, %(g)s, status,
       paid + %(w)s,
       (paid + %(w)s + make_interval(months => %(c)s))::date - 1,
       (paid + %(w)s + make_interval(months => %(c)s))::date - 1 + %(g)s
FROM p
"""

# An older period, lapsed long ago, for a third of the households (not the lapsed ones):
# the eligibility query must pick the latest.
OLDER_PERIODS_SQL = """
INSERT INTO coverage_periods (id, household_id, product_id, starts_on, persons, premium_due,
                              amount_paid, paid_in_full_on, sponsor_share, sponsor_paid,
                              waits_for_sponsor, waiting_days, cover_months, grace_days,
                              status, covered_from, covered_until, grace_until)
SELECT %(households)s + row_number() OVER (ORDER BY household_id), household_id, product_id,
       older, persons, premium_due, premium_due, older + 5, 0, 0, false,
       waiting_days, cover_months, grace_days, 'lapsed',
       older + 5 + waiting_days,
       (older + 5 + waiting_days + make_interval(months => cover_months))::date - 1,
       (older + 5 + waiting_days + make_interval(months => cover_months))::date - 1
           + grace_days
FROM (SELECT *, starts_on - 450 AS older FROM coverage_periods
      WHERE household_id %% 3 = 0 AND status <> 'lapsed') latest
"""


@dataclass(frozen=True)
class Product:
    id: int
    premium: int
    waiting_days: int
    cover_months: int
    grace_days: int


def admin_connect(conninfo: str) -> psycopg.Connection[Any]:
    return psycopg.connect(conninfo, dbname="postgres", autocommit=True, connect_timeout=5)


def seeded_state(url: str, members: int) -> dict[str, Any] | None:
    """What an earlier seeding left, when the database exists and holds `members` members."""
    conninfo = libpq_url(url)
    with admin_connect(conninfo) as admin:
        found = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database_name(url),)
        ).fetchone()
    if found is None:
        return None
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as connection:
        if connection.execute("SELECT to_regclass(%s)", (SEED_TABLE,)).fetchone() == (None,):
            return None
        row = connection.execute(
            f"SELECT members, households, periods, seeded_on, seconds, mix FROM {SEED_TABLE}"
        ).fetchone()
        if row is None or row[0] != members:
            return None
        counted = connection.execute("SELECT count(*) FROM members").fetchone()
        if counted is None or counted[0] != members:
            return None
    return {
        "members": row[0],
        "households": row[1],
        "periods": row[2],
        "seeded_on": row[3],
        "seconds": row[4],
        "mix": row[5],
    }


def seed(url: str, members: int, today: date) -> dict[str, Any]:
    """Households, members and periods in set-based SQL, in one transaction; then
    VACUUM ANALYZE. The schema was just reset and migrated, the demo scheme loaded."""
    conninfo = libpq_url(url)
    households = -(-members // MEMBERS_PER_HOUSEHOLD)
    timings: dict[str, float] = {}
    began = time.perf_counter()
    with psycopg.connect(conninfo) as connection:
        mutual = connection.execute(
            "SELECT id FROM scheme_units WHERE level = 'mutual' ORDER BY id LIMIT 1"
        ).fetchone()
        row = connection.execute(
            "SELECT id, premium_per_person, waiting_days, cover_months, grace_days"
            " FROM products WHERE code = %s",
            (PRODUCT_CODE,),
        ).fetchone()
        if mutual is None or row is None:
            raise RuntimeError(f"the demo scheme has no mutual or no product {PRODUCT_CODE}")
        product = Product(*row)
        if product.waiting_days <= MARGIN_DAYS:
            raise RuntimeError(
                f"product {PRODUCT_CODE}: a waiting period of {product.waiting_days} days is "
                f"too short for a waiting share that holds {STABLE_DAYS} days"
            )
        params = {
            "members": members,
            "households": households,
            "mutual_id": mutual[0],
            "product_id": product.id,
            "premium": product.premium,
            "w": product.waiting_days,
            "c": product.cover_months,
            "g": product.grace_days,
            "today": today,
            "margin": MARGIN_DAYS,
            "statuses": list(STATUS_BY_BUCKET),
        }
        for name, statement in (
            ("households", HOUSEHOLDS_SQL),
            ("members", MEMBERS_SQL),
            ("periods", PERIODS_SQL),
            ("older periods", OLDER_PERIODS_SQL),
        ):
            step = time.perf_counter()
            connection.execute(statement, params)
            timings[name] = round(time.perf_counter() - step, 1)
            progress(f"  {name}: {timings[name]} s")
        periods_row = connection.execute("SELECT count(*) FROM coverage_periods").fetchone()
        periods = int(periods_row[0]) if periods_row else 0
        for table, last in (
            ("households", households),
            ("members", members),
            ("coverage_periods", periods),
        ):
            # Explicit ids leave the sequences behind; later inserts must not collide.
            connection.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", (table, last))
        mix = dict(
            connection.execute(
                "SELECT status, count(*) FROM coverage_periods WHERE id <= %s GROUP BY status",
                (households,),
            ).fetchall()
        )
    step = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as connection:
        # Fresh statistics and visibility map, as a live database would have.
        connection.execute("VACUUM ANALYZE households, members, coverage_periods")
    timings["vacuum analyze"] = round(time.perf_counter() - step, 1)
    seconds = round(time.perf_counter() - began, 1)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(
            f"CREATE TABLE {SEED_TABLE} (members int, households int, periods int,"
            " seeded_on date, seconds real, mix jsonb, seeded_at timestamptz DEFAULT now())"
        )
        connection.execute(
            f"INSERT INTO {SEED_TABLE} (members, households, periods, seeded_on, seconds, mix)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (members, households, periods, today, seconds, json.dumps(mix)),
        )
    return {
        "members": members,
        "households": households,
        "periods": periods,
        "seeded_on": today,
        "seconds": seconds,
        "steps_s": timings,
        "mix": mix,
    }


def verify_seed(url: str, members: int, today: date, sample: int = 2000) -> dict[str, Any]:
    """The seeded data agrees with the gateway's rules, on a random sample: member numbers
    with menus.identifiers.member_number, periods with gateway.coverage (stored dates and
    status, today and STABLE_DAYS later), the latest period's status with the bucket."""
    from gateway.enrolment import coverage
    from menus.identifiers import member_number

    rng = random.Random(7)
    ids = sorted({1, members, *(rng.randint(1, members) for _ in range(sample))})
    households = sorted({(i - 1) // MEMBERS_PER_HOUSEHOLD + 1 for i in ids})
    problems: list[str] = []
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        numbers = connection.execute(
            "SELECT id, member_no FROM members WHERE id = ANY(%s)", (ids,)
        ).fetchall()
        periods = connection.execute(
            "SELECT id, household_id, starts_on, premium_due, amount_paid, paid_in_full_on,"
            " waiting_days, cover_months, grace_days, cancelled_on, status, covered_from,"
            " covered_until, grace_until FROM coverage_periods WHERE household_id = ANY(%s)"
            " ORDER BY household_id, starts_on",
            (households,),
        ).fetchall()
    if len(numbers) != len(ids):
        problems.append(f"{len(ids) - len(numbers)} sampled members missing")
    problems += [
        f"member {i}: {number} != {member_number(i)}"
        for i, number in numbers
        if number != member_number(i)
    ]
    latest: dict[int, str] = {}
    for row in periods:
        (pid, household, starts_on, due, paid, paid_on, w, c, g, cancelled, status) = row[:11]
        terms = coverage.PeriodTerms(due, paid, paid_on, w, c, g, cancelled)
        stored = tuple(row[11:])
        expected = (terms.covered_from, terms.covered_until, terms.grace_until)
        if stored != expected:
            problems.append(f"period {pid}: dates {stored} != {expected}")
        for day in (today, today + timedelta(days=STABLE_DAYS)):
            if coverage.status_on(terms, day) != status:
                problems.append(
                    f"period {pid}: stored {status}, {coverage.status_on(terms, day)} on {day}"
                )
        if starts_on <= today:
            latest[household] = status  # ordered by starts_on: the last one wins
    for household in households:
        if latest.get(household) != STATUS_BY_BUCKET[household % 10]:
            problems.append(f"household {household}: latest period {latest.get(household)}")
    return {
        "members_sampled": len(ids),
        "periods_sampled": len(periods),
        "problems": problems[:10],
        "ok": not problems,
    }


def prewarm(url: str) -> bool:
    """Read the tables and indexes the checks touch into the OS page cache (pg_prewarm's
    'read' mode), so a database reused after a reboot does not start cold. Best effort."""
    try:
        with psycopg.connect(libpq_url(url), autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            connection.execute(
                "SELECT pg_prewarm(c.oid, 'read') FROM pg_class c"
                " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i')"
                " AND (c.relname IN ('members', 'coverage_periods', 'products')"
                "      OR c.relname LIKE 'ix_members_%%' OR c.relname LIKE 'members_%%'"
                "      OR c.relname LIKE '%%coverage_periods%%')"
            )
        return True
    except psycopg.Error:
        return False


def reset_log(url: str) -> None:
    """An empty check log and no BENCH facility: every run counts from zero."""
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        connection.execute("SET lock_timeout = '10s'")
        connection.execute("TRUNCATE eligibility_checks")
        connection.execute(
            "DELETE FROM facility_phones WHERE facility_id IN"
            " (SELECT id FROM facilities WHERE code = %s)",
            (FACILITY_CODE,),
        )
        connection.execute("DELETE FROM facilities WHERE code = %s", (FACILITY_CODE,))


def logged_checks(url: str) -> dict[str, int]:
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT outcome, count(*) FROM eligibility_checks GROUP BY outcome"
        ).fetchall()
    return {str(outcome): int(n) for outcome, n in rows}


def server_version(url: str) -> str:
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


PG_COUNTERS = (
    "xact_commit",
    "xact_rollback",
    "blks_read",
    "blks_hit",
    "tup_inserted",
    "sessions",  # connections opened: a pool that churns shows here
)


class PgStats:
    """pg_stat_database counters of the benchmark database, for transactions and block
    reads per check. PostgreSQL publishes a backend's counters about once a second, so
    a 15 s window is right to within a few per cent."""

    def __init__(self, url: str) -> None:
        self.connection = psycopg.connect(libpq_url(url), autocommit=True)
        self.name = database_name(url)

    def server_pids(self) -> list[int]:
        """The PostgreSQL processes that work for this database: the postmaster of the
        cluster we are connected to, its shared helpers (WAL writer, checkpointer, ...) and
        the backends connected to this database; not the backends of other databases, nor
        other clusters (other jobs on the machine: they show up as "others")."""
        row = self.connection.execute("SELECT pg_backend_pid()").fetchone()
        try:
            postmaster = psutil.Process(int(row[0]) if row else 0).parent()
            if postmaster is None:
                return []
            pids = [postmaster.pid]
            for child in postmaster.children():
                with contextlib.suppress(psutil.Error):
                    title = " ".join(child.cmdline())
                    backend = "(" in title or "[local]" in title
                    if not backend or f" {self.name} " in title:
                        pids.append(child.pid)
            return pids
        except psutil.Error:
            return []

    def snapshot(self) -> dict[str, int]:
        self.connection.execute("SELECT pg_stat_clear_snapshot()")
        row = self.connection.execute(
            f"SELECT {', '.join(PG_COUNTERS)} FROM pg_stat_database WHERE datname = %s",
            (self.name,),
        ).fetchone()
        return dict(zip(PG_COUNTERS, (int(v) for v in row or ()), strict=False))

    def close(self) -> None:
        self.connection.close()


# --------------------------------------------------------------------------- processes


def run_cli_output(args: list[str], env: dict[str, str], log: TextIO) -> str:
    """An `alafia ...` command; its output (logged, and returned)."""
    result = subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=120,
        check=False,
    )
    output = result.stdout.decode("utf-8", "replace")
    key_hidden = re.sub(r"(alf_[0-9a-f]{12}_)\S+", r"\1...", output)
    log.write(f"$ alafia {' '.join(args)}\n{key_hidden}")
    if result.returncode != 0:
        raise RuntimeError(f"alafia {' '.join(args)} failed ({result.returncode}):\n{output}")
    return output


def add_facility(env: dict[str, str], log: TextIO) -> str:
    output = run_cli_output(
        ["facilities", "add", "--code", FACILITY_CODE, "--name", "Bench"], env, log
    )
    found = re.search(r"\balf_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}", output)
    if found is None:
        raise RuntimeError(f"no API key in the output of `alafia facilities add`:\n{output}")
    return found.group(0)


# --------------------------------------------------------------------------------- load


class Numbers:
    """Member numbers to check: random members of the whole register, and a share of
    odd ones: half valid numbers nobody holds, half with a wrong check digit."""

    def __init__(self, members: int, odd_share: float, seed: int) -> None:
        from menus.identifiers import member_number

        self.member_number = member_number
        self.members = members
        self.odd_share = odd_share
        self.rng = random.Random(seed)

    def next(self) -> tuple[str, int, str | None]:
        """(number, expected HTTP status, expected coverage status)."""
        rng = self.rng
        draw = rng.random()
        if draw < self.odd_share / 2:
            return self.member_number(self.members + rng.randint(1, 1_000_000)), 404, None
        serial = rng.randint(1, self.members)
        number = self.member_number(serial)
        if draw < self.odd_share:
            wrong = (int(number[-1]) + rng.randint(1, 9)) % 10  # Damm catches any one digit
            return number[:-1] + str(wrong), 400, None
        household = (serial - 1) // MEMBERS_PER_HOUSEHOLD + 1
        return number, 200, STATUS_BY_BUCKET[household % 10]


@dataclass
class Phase:
    """What the client saw during one measured window on one target."""

    target: str
    name: str  # capacity, or paced
    rate: float | None = None  # checks/s offered, paced phases only
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    late_ms: list[float] = field(default_factory=list)  # paced: sent after it was due
    statuses: Counter[int] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)  # coverage status of the 200s
    errors: int = 0
    warmup_errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    cpu_s: dict[str, float] = field(default_factory=dict)
    cpu_by_server_pid: dict[int, float] = field(default_factory=dict)
    pg: dict[str, int] = field(default_factory=dict)

    def error(self, problem: str, measured: bool) -> None:
        if measured:
            self.errors += 1
        else:
            self.warmup_errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(("" if measured else "(warm-up) ") + problem[:200])


@dataclass
class Target:
    name: str
    base_url: str
    headers: dict[str, str]
    proc: Proc
    answered: Counter[int] = field(default_factory=Counter)  # every answer, warm-ups too
    unanswered: int = 0  # checks the client gave up on (timeout, connection lost)


async def check_one(
    http: aiohttp.ClientSession,
    target: Target,
    phase: Phase,
    numbers: Numbers,
    day: str,
    due: float | None,
    measured_if: Callable[[float, float], bool],
) -> None:
    clock = time.perf_counter
    member_no, expected_status, expected_coverage = numbers.next()
    url = f"{target.base_url}/api/v1/eligibility/{member_no}?date={day}"
    started = clock()
    problem = None
    try:
        async with http.get(url, headers=target.headers) as response:
            status = response.status
            body = await response.read()
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        status, body = 0, b""
        problem = f"{member_no}: {type(error).__name__}: {error}"
    finished = clock()
    began = started if due is None else due
    measured = measured_if(began, finished)
    if status:
        target.answered[status] += 1
    else:
        target.unanswered += 1
    if problem is None and status != expected_status:
        problem = f"{member_no}: HTTP {status}, expected {expected_status}: {body[:120]!r}"
    if problem is None and status == 200:
        try:
            coverage = json.loads(body).get("status")
        except (ValueError, AttributeError):
            coverage = None
        if coverage != expected_coverage:
            problem = f"{member_no}: coverage {coverage!r}, seeded {expected_coverage!r}"
        elif measured:
            phase.answers[str(coverage)] += 1
    if measured:
        phase.latencies_ms.append((finished - began) * 1000)
        phase.statuses[status] += 1
        if due is not None:
            phase.late_ms.append(max(0.0, started - due) * 1000)
    if problem is not None:
        phase.error(problem, measured)


class Meter:
    """CPU per group of processes and PostgreSQL counters over the measured window."""

    def __init__(self, target: Target, pg: PgStats) -> None:
        self.target = target
        self.pg = pg

    def groups(self) -> dict[str, Iterable[int]]:
        return {"server": family(self.target.proc.process.pid), "postgres": self.pg.server_pids()}

    async def measure(self, phase: Phase, measure_from: float, stop_at: float) -> None:
        clock = time.perf_counter
        await asyncio.sleep(max(0.0, measure_from - clock()))
        before = cpu_snapshot(self.groups())
        pg_before = self.pg.snapshot()
        cpu_client, cpu_machine = time.process_time(), machine_busy_seconds()
        await asyncio.sleep(max(0.0, stop_at - clock()))
        after = cpu_snapshot(self.groups())
        phase.cpu_s = cpu_used(before, after)
        phase.cpu_s["client"] = time.process_time() - cpu_client
        phase.cpu_s["others"] = max(
            0.0, machine_busy_seconds() - cpu_machine - sum(phase.cpu_s.values())
        )
        phase.cpu_by_server_pid = {
            pid: round(cpu - before["server"].get(pid, 0.0), 2)
            for pid, cpu in after["server"].items()
        }
        pg_after = self.pg.snapshot()
        phase.pg = {k: pg_after.get(k, 0) - pg_before.get(k, 0) for k in PG_COUNTERS}


async def closed_loop(
    target: Target,
    numbers: Numbers,
    day: str,
    connections: int,
    warmup: float,
    seconds: float,
    pg: PgStats,
) -> Phase:
    """`connections` clients, each sending the next check as soon as its last is
    answered: capacity. Checks that start after the warm-up and end in the window count."""
    phase = Phase(target=target.name, name="capacity", seconds=seconds)
    clock = time.perf_counter
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        measure_from = clock() + warmup
        stop_at = measure_from + seconds

        def measured_if(began: float, finished: float) -> bool:
            return began >= measure_from and finished <= stop_at

        async def client() -> None:
            while clock() < stop_at:
                await check_one(http, target, phase, numbers, day, None, measured_if)

        tasks = [asyncio.create_task(client()) for _ in range(connections)]
        try:
            await Meter(target, pg).measure(phase, measure_from, stop_at)
            await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_S + 5)
        finally:
            # Also on Ctrl-C: no client may outlive the session it uses.
            for task in tasks:
                task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception) and not isinstance(outcome, asyncio.CancelledError):
                raise outcome  # a bug in the load generator, not a failed check
    return phase


async def open_loop(
    target: Target,
    numbers: Numbers,
    day: str,
    rate: float,
    warmup: float,
    seconds: float,
    pg: PgStats,
) -> Phase:
    """One check due every 1/rate s whatever the answers (a facility's desk does not
    wait for another's): latency at that rate, counted from when each check was due."""
    phase = Phase(target=target.name, name="paced", rate=rate, seconds=seconds)
    clock = time.perf_counter
    # Enough connections that checks never queue in the client for one.
    connector = aiohttp.TCPConnector(limit=512, limit_per_host=512)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        began = clock() + 0.05
        measure_from = began + warmup
        stop_at = measure_from + seconds
        total = round(rate * (warmup + seconds))

        def measured_if(due: float, finished: float) -> bool:
            return measure_from <= due < stop_at

        tasks: set[asyncio.Task[None]] = set()

        async def pace() -> None:
            for index in range(total):
                due = began + index / rate
                delay = due - clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(
                    check_one(http, target, phase, numbers, day, due, measured_if)
                )
                tasks.add(task)
                task.add_done_callback(tasks.discard)

        pacer = asyncio.create_task(pace())
        try:
            await Meter(target, pg).measure(phase, measure_from, stop_at)
            await pacer
            if tasks:
                await asyncio.wait(set(tasks), timeout=REQUEST_TIMEOUT_S + 5)
        finally:
            pacer.cancel()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(pacer, *tasks, return_exceptions=True)
    return phase


async def settle(targets: dict[str, Target], timeout: float = 30.0) -> float:
    """Wait until the servers are idle (under 10 % of a core over half a second): a server
    still working off the checks of an overloaded phase would slow the next one down."""
    began = time.perf_counter()
    pids = [pid for t in targets.values() for pid in family(t.proc.process.pid)]
    while time.perf_counter() - began < timeout:
        before = cpu_snapshot({"servers": pids})
        await asyncio.sleep(0.5)
        used = cpu_used(before, cpu_snapshot({"servers": pids}))["servers"]
        if used < 0.05:
            break
    return time.perf_counter() - began


# ------------------------------------------------------------------------------ figures


def summarise(phase: Phase) -> dict[str, Any]:
    latencies = sorted(phase.latencies_ms)
    late = sorted(phase.late_ms)
    checks = len(latencies)
    seconds = phase.seconds

    def per_check(value: float, scale: float = 1e6) -> float | None:
        return round(scale * value / checks, 1) if checks else None

    pg = phase.pg
    return {
        "target": phase.target,
        "phase": phase.name,
        "offered_per_s": phase.rate,
        "checks": checks,
        "seconds": seconds,
        "checks_per_s": round(checks / seconds, 1) if seconds else 0.0,
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "late_p99_ms": round(percentile(late, 0.99), 2) if late else None,
        "statuses": {str(k): v for k, v in sorted(phase.statuses.items())},
        "answers": dict(sorted(phase.answers.items())),
        "errors": phase.errors,
        "warmup_errors": phase.warmup_errors,
        "error_samples": phase.error_samples,
        # CPU seconds per wall second (1.0 = one core busy): who the bottleneck is.
        "cpu_share": {k: round(v / seconds, 2) for k, v in phase.cpu_s.items()} if seconds else {},
        "server_cpu_by_process_s": {str(k): v for k, v in phase.cpu_by_server_pid.items()},
        "server_cpu_us_per_check": per_check(phase.cpu_s.get("server", 0.0)),
        "postgres_cpu_us_per_check": per_check(phase.cpu_s.get("postgres", 0.0)),
        "client_cpu_us_per_check": per_check(phase.cpu_s.get("client", 0.0)),
        "pg_per_check": {k: per_check(v, 1.0) for k, v in pg.items()},
    }


# --------------------------------------------------------------------------------- run


def environment(args: argparse.Namespace, workdir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "ALAFIA_DATA_DIR": str(workdir / "data"),
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "LOG_LEVEL": args.log_level,
        "REGISTER_ADAPTER": "local",
        # One facility key sends the whole load: its limit (120 a minute) raised to the
        # most the setting allows, so that the limiter is still paid for on every check.
        "ELIGIBILITY_CHECKS_PER_MINUTE": "100000",
        BASELINE_KEY_ENV: BASELINE_KEY,
        # `alafia serve` refuses to start without its callbacks' secrets (unused here).
        "USSD_CALLBACK_TOKEN": os.environ.get("USSD_CALLBACK_TOKEN") or secrets.token_urlsafe(24),
        "AT_CALLBACK_TOKEN": os.environ.get("AT_CALLBACK_TOKEN") or secrets.token_urlsafe(24),
        "FHIR_CANONICAL_BASE": os.environ.get("FHIR_CANONICAL_BASE") or "https://fhir.example.org",
    }
    env.pop("PAYMENT_PROVIDER", None)  # no sandbox provider mounted: only eligibility here
    return env


def prepare(
    args: argparse.Namespace, env: dict[str, str], today: date, log: TextIO
) -> dict[str, Any]:
    """The seeded database, reused when it can be; the check log emptied."""
    name = database_name(args.database_url)
    if not DATABASE_NAMES.match(name):
        raise RuntimeError(
            f"refusing to use database {name!r}: its name must start with {DATABASE_PREFIX!r}"
        )
    state = None if args.reseed else seeded_state(args.database_url, args.members)
    if state is not None:
        age = (today - state["seeded_on"]).days
        if not 0 <= age <= REUSE_DAYS:
            progress(f"database {name!r} was seeded {age} days ago: seeding it again")
            state = None
    if state is not None:
        progress(
            f"reusing database {name!r}: {state['members']:,} members seeded on "
            f"{state['seeded_on']} in {state['seconds']:.0f} s (--reseed to seed it again)"
        )
        run_cli_output(["db", "upgrade"], env, log)
        run_cli_output(["scheme", "load", str(DEMO_SCHEME)], env, log)
        seeding = {**state, "reused": True, "seeded_on": state["seeded_on"].isoformat()}
    else:
        progress(f"resetting database {name!r} and seeding {args.members:,} members")
        reset_database(args.database_url)
        run_cli_output(["db", "upgrade"], env, log)
        run_cli_output(["scheme", "load", str(DEMO_SCHEME)], env, log)
        seeded = seed(args.database_url, args.members, today)
        progress(f"seeded in {seeded['seconds']:.1f} s")
        seeding = {**seeded, "reused": False, "seeded_on": today.isoformat()}
    seeding["verified"] = verify_seed(args.database_url, args.members, today)
    if not seeding["verified"]["ok"]:
        raise RuntimeError(f"the seeded data is not what it should be: {seeding['verified']}")
    seeding["prewarmed"] = prewarm(args.database_url)
    reset_log(args.database_url)
    return seeding


async def load(
    args: argparse.Namespace, targets: dict[str, Target], day: str, pg: PgStats
) -> list[Phase]:
    for target in targets.values():
        ready = "/readyz" if target.name == "gateway" else "/healthz"
        await wait_ready(target.proc, target.base_url + ready)
    phases: list[Phase] = []
    seed_counter = iter(range(1000, 10_000))  # other numbers in every phase: no cache gift

    def numbers() -> Numbers:
        return Numbers(args.members, args.odd_share, args.seed * 10_000 + next(seed_counter))

    capacity: dict[str, Phase] = {}
    for name, target in targets.items():
        progress(f"capacity {name}: {args.connections} connections, {args.seconds:g} s")
        phase = await closed_loop(
            target, numbers(), day, args.connections, args.warmup, args.seconds, pg
        )
        capacity[name] = phase
        phases.append(phase)
        await settle(targets)
        progress(
            f"  {len(phase.latencies_ms) / phase.seconds:.0f} checks/s, "
            f"{phase.errors + phase.warmup_errors} errors"
        )
    rates = [args.rate]
    half = len(capacity["gateway"].latencies_ms) / capacity["gateway"].seconds / 2
    if args.half_capacity and half >= 1 and abs(half - args.rate) > 0.1 * args.rate:
        rates.append(round(half))
    for rate in rates:
        for name, target in targets.items():
            progress(f"paced {name}: {rate:g} checks/s, {args.seconds:g} s")
            phase = await open_loop(target, numbers(), day, rate, args.warmup, args.seconds, pg)
            phases.append(phase)
            waited = await settle(targets)
            if waited > 2:
                progress(f"  ({waited:.0f} s until the servers were idle again)")
            late = percentile(sorted(phase.late_ms), 0.99) if phase.late_ms else 0.0
            progress(
                f"  p99 {percentile(sorted(phase.latencies_ms), 0.99):.1f} ms "
                f"(sent late by up to {late:.1f} ms at p99), "
                f"{phase.errors + phase.warmup_errors} errors"
            )
    return phases


def run(args: argparse.Namespace, workdir: Path, procs: dict[str, Proc]) -> dict[str, Any]:
    from gateway.settings import Settings

    env = environment(args, workdir)
    timezone = Settings.from_env(env).timezone
    today = datetime.now(ZoneInfo(timezone)).date()
    with (workdir / "setup.log").open("w") as setup_log:
        seeding = prepare(args, env, today, setup_log)
        key = add_facility(env, setup_log)

    ports = {"gateway": free_port(), "baseline": free_port()}
    python = sys.executable
    procs["gateway"] = start(
        "gateway",
        [
            *(python, "-m", "gateway", "serve", "--host", HOST),
            *("--port", str(ports["gateway"]), "--workers", str(args.workers)),
        ],
        env,
        workdir / "gateway.log",
    )
    procs["baseline"] = start(
        "baseline",
        [
            *(python, str(Path(__file__).resolve())),
            *("--serve-baseline", str(ports["baseline"]), "--workers", str(args.workers)),
        ],
        env,
        workdir / "baseline.log",
    )
    targets = {
        "gateway": Target(
            "gateway",
            f"http://{HOST}:{ports['gateway']}",
            {"Authorization": f"Bearer {key}"},
            procs["gateway"],
        ),
        "baseline": Target(
            "baseline",
            f"http://{HOST}:{ports['baseline']}",
            {"Authorization": f"Bearer {BASELINE_KEY}"},
            procs["baseline"],
        ),
    }
    pg = PgStats(args.database_url)
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            phases = runner.run(load(args, targets, today.isoformat(), pg))
    finally:
        pg.close()
    logged = logged_checks(args.database_url)
    log_problems = {name: p.log_problems() for name, p in procs.items()}

    answered = targets["gateway"].answered
    expected_log = {
        "covered or not_covered (HTTP 200)": answered.get(200, 0),
        "unknown_member (HTTP 404)": answered.get(404, 0),
        "bad_number (HTTP 400)": answered.get(400, 0),
    }
    found_log = {
        "covered or not_covered (HTTP 200)": logged.get("covered", 0)
        + logged.get("not_covered", 0),
        "unknown_member (HTTP 404)": logged.get("unknown_member", 0),
        "bad_number (HTTP 400)": logged.get("bad_number", 0),
    }
    other_answers = sum(n for status, n in answered.items() if status not in (200, 400, 404))
    # Every check answered is logged, by outcome. A check the client gave up on (or that
    # failed with a 5xx) may have been logged anyway: at most that many rows more.
    extra_rows = sum(found_log.values()) - sum(expected_log.values())
    may_be_logged = targets["gateway"].unanswered + other_answers
    log_ok = (
        all(found_log[k] >= v for k, v in expected_log.items())
        and extra_rows <= may_be_logged
        and sum(logged.values()) == sum(found_log.values())  # no other outcome
    )
    summaries = [summarise(p) for p in phases]
    by_key = {(s["target"], s["phase"], s["offered_per_s"]): s for s in summaries}
    gateway_capacity = by_key[("gateway", "capacity", None)]
    baseline_capacity = by_key[("baseline", "capacity", None)]
    ratio = (
        gateway_capacity["checks_per_s"] / baseline_capacity["checks_per_s"]
        if baseline_capacity["checks_per_s"]
        else 0.0
    )
    at_rate = by_key[("gateway", "paced", args.rate)]
    errors = sum(s["errors"] + s["warmup_errors"] for s in summaries)
    return {
        "config": {
            "members": args.members,
            "connections": args.connections,
            "seconds": args.seconds,
            "warmup_s": args.warmup,
            "rate": args.rate,
            "odd_share": args.odd_share,
            "workers": args.workers,
            "database": database_name(args.database_url),
            "postgresql": server_version(args.database_url),
            "redis": args.redis_url,
            "gateway_log_level": args.log_level,
            "date": today.isoformat(),
            "cpus": os.cpu_count(),
        },
        "seeding": seeding,
        "phases": summaries,
        "capacity_ratio": round(ratio, 3),
        "log": {
            "rows_added": sum(logged.values()),
            "by_outcome": logged,
            "gateway_answers": {str(k): v for k, v in sorted(answered.items())},
            "gateway_unanswered": targets["gateway"].unanswered,
            "extra_rows": extra_rows,
            "expected": expected_log,
            "found": found_log,
            "ok": log_ok,
        },
        "log_problems": log_problems,
        "targets": {
            "checks_per_s_at_full_load": {
                "target": TARGET_CHECKS_PER_S,
                "measured": gateway_capacity["checks_per_s"],
                "met": gateway_capacity["checks_per_s"] >= TARGET_CHECKS_PER_S,
            },
            f"p99_ms_at_{args.rate:g}_per_s": {
                "target": TARGET_P99_MS,
                "measured": at_rate["p99_ms"],
                "met": at_rate["p99_ms"] <= TARGET_P99_MS,
            },
        },
        "errors": errors,
        "ok": errors == 0 and log_ok,
    }


# -------------------------------------------------------------------------------- report


def report(doc: dict[str, Any], out: TextIO) -> None:
    config, seeding = doc["config"], doc["seeding"]
    print(
        f"\nEligibility checks over HTTP: {config['members']:,} members, {config['workers']} "
        f"server process(es) per target, checks for {config['date']}, "
        f"{config['odd_share']:.0%} unknown or mistyped numbers; PostgreSQL "
        f"{config['postgresql']}, {config['cpus']} CPU(s), load generator on the same machine",
        file=out,
    )
    how = "reused, seeded" if seeding["reused"] else "seeded"
    mix = seeding.get("mix") or {}
    total = sum(mix.values()) or 1
    print(
        f"Database {config['database']}: {how} on {seeding['seeded_on']} in "
        f"{seeding['seconds']:.1f} s: {seeding['households']:,} households, "
        f"{seeding['periods']:,} coverage periods; latest period by household: "
        + ", ".join(f"{k} {v / total:.0%}" for k, v in sorted(mix.items(), key=lambda i: -i[1])),
        file=out,
    )
    if "steps_s" in seeding:
        print(
            "  seeding steps: " + ", ".join(f"{k} {v} s" for k, v in seeding["steps_s"].items()),
            file=out,
        )
    print(
        f"  sample checked against member_number() and gateway.coverage: "
        f"{seeding['verified']['members_sampled']} members, "
        f"{seeding['verified']['periods_sampled']} periods, "
        f"{'ok' if seeding['verified']['ok'] else 'FAIL'}",
        file=out,
    )

    header = (
        f"{'phase':<16} {'target':<9} {'checks/s':>8} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'errors':>6} {'srv µs':>7} {'PG µs':>6} "
        f"{'PG xact':>7} {'srv CPU':>7} {'PG CPU':>6} {'cli CPU':>7} {'others':>6}"
    )
    print(
        f"\nCapacity: closed loop, {config['connections']} connections, "
        f"{config['seconds']:g} s after {config['warmup_s']:g} s of warm-up (latency there "
        "is mostly queueing). Paced: open loop, one check due every 1/rate s, latency from "
        "when it was due.",
        file=out,
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    for s in doc["phases"]:
        share = s["cpu_share"]
        label = "capacity" if s["phase"] == "capacity" else f"paced {s['offered_per_s']:g}/s"
        xact = s["pg_per_check"].get("xact_commit") or 0.0
        xact += s["pg_per_check"].get("xact_rollback") or 0.0
        print(
            f"{label:<16} {s['target']:<9} {s['checks_per_s']:>8.0f} {s['p50_ms']:>7.2f} "
            f"{s['p95_ms']:>7.2f} {s['p99_ms']:>7.2f} {s['max_ms'] or 0:>7.1f} "
            f"{s['errors'] + s['warmup_errors']:>6} {s['server_cpu_us_per_check'] or 0:>7.0f} "
            f"{s['postgres_cpu_us_per_check'] or 0:>6.0f} {xact:>7.1f} "
            f"{share.get('server', 0):>7.0%} {share.get('postgres', 0):>6.0%} "
            f"{share.get('client', 0):>7.0%} {share.get('others', 0):>6.0%}",
            file=out,
        )
        for sample in s["error_samples"]:
            print(f"{'':<17}error: {sample}", file=out)
        if s["late_p99_ms"] is not None and s["late_p99_ms"] > 1.0:
            print(
                f"{'':<17}(the client sent checks up to {s['late_p99_ms']:.1f} ms late at p99;"
                " that is in the latency)",
                file=out,
            )
    print(f"gateway / baseline checks/s at full load: x{doc['capacity_ratio']:.2f}", file=out)
    print(
        "(srv µs, PG µs: CPU of the target's processes and of PostgreSQL per check; PG xact:\n"
        " transactions per check; CPU shares: 100% = one core; others = the rest of the\n"
        " machine: kernel, other jobs)",
        file=out,
    )
    busy = [
        f"{s['target']} {s['phase']}"
        for s in doc["phases"]
        if s["cpu_share"].get("others", 0) > BUSY_OTHERS
    ]
    if busy:
        print(
            f"warning: other work used the machine during {', '.join(busy)}: rerun on a quiet "
            "machine",
            file=out,
        )
    gateway_answers = Counter[str]()
    for s in doc["phases"]:
        if s["target"] == "gateway":
            gateway_answers.update(s["answers"])
    answered = sum(gateway_answers.values()) or 1
    print(
        "answers of the gateway's members (measured): "
        + ", ".join(f"{k} {v / answered:.0%}" for k, v in gateway_answers.most_common()),
        file=out,
    )

    log = doc["log"]
    print(
        f"\nCheck log: eligibility_checks +{log['rows_added']:,} rows; the gateway answered "
        f"(warm-ups included) "
        + ", ".join(f"{k} {v:,}" for k, v in log["gateway_answers"].items())
        + f", and {log['gateway_unanswered']:,} checks went unanswered (client time-out)",
        file=out,
    )
    print(
        "  rows by outcome / answers: "
        + ", ".join(f"{k} {log['found'][k]:,}/{v:,}" for k, v in log["expected"].items()),
        file=out,
    )
    if not log["ok"]:
        verdict = "MISMATCH: checks answered but not logged, or rows nobody asked for"
    elif log["extra_rows"]:
        verdict = (
            f"every answered check logged; {log['extra_rows']:,} more rows for checks "
            "answered after the client gave up, or that failed"
        )
    else:
        verdict = "every check logged, once"
    print(f"  {verdict}", file=out)
    problems = ", ".join(f"{k} {v}" for k, v in doc["log_problems"].items())
    print(f"ERROR lines in the servers' logs: {problems}", file=out)

    print("\nTargets from the issue:", file=out)
    for name, t in doc["targets"].items():
        wording = (
            f">= {t['target']:,.0f} checks/s at full load"
            if name.startswith("checks")
            else f"p99 <= {t['target']:g} ms at {config['rate']:g} checks/s"
            + (" (half of 1,000)" if config["rate"] == TARGET_CHECKS_PER_S / 2 else "")
        )
        unit = "checks/s" if name.startswith("checks") else "ms"
        print(
            f"  {wording}: {t['measured']:,.1f} {unit}: {'met' if t['met'] else 'NOT MET'}",
            file=out,
        )
    print(f"  errors: {doc['errors']}", file=out)


# ----------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Eligibility checks per second over HTTP on a PostgreSQL database of a "
        "million members, against a one-query baseline; and p99 at a paced rate"
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"PostgreSQL; the database name must start with {DATABASE_PREFIX!r} (created if "
        "missing; reused when seeded with --members less than a week ago, else wiped)",
    )
    parser.add_argument("--members", type=bounded(4, 20_000_000, int), default=1_000_000)
    parser.add_argument("--reseed", action="store_true", help="seed even if it could be reused")
    parser.add_argument(
        "--workers",
        type=bounded(1, 16, int),
        default=2,
        help="processes of each server: `alafia serve --workers N`, and the baseline's",
    )
    parser.add_argument(
        "--connections",
        type=bounded(1, 1024, int),
        default=64,
        help="client connections of the closed loop (capacity)",
    )
    parser.add_argument(
        "--seconds", type=bounded(1, 600), default=15.0, help="measured seconds per phase"
    )
    parser.add_argument(
        "--warmup", type=bounded(0, 60), default=2.0, help="unmeasured seconds before each"
    )
    parser.add_argument(
        "--rate",
        type=bounded(1, 100_000),
        default=500.0,
        help="checks/s of the paced phase (default 500: half of the issue's 1,000)",
    )
    parser.add_argument(
        "--no-half-capacity",
        dest="half_capacity",
        action="store_false",
        help="do not also pace at half the gateway's measured capacity",
    )
    parser.add_argument(
        "--odd-share",
        type=bounded(0, 0.5),
        default=0.02,
        help="share of unknown (404) and mistyped (400) numbers, half each",
    )
    parser.add_argument("--seed", type=int, default=1, help="of the random member numbers")
    parser.add_argument(
        "--redis-url",
        default=DEFAULT_REDIS_URL,
        help="REDIS_URL of the gateway (it needs one to start; eligibility sends it nothing)",
    )
    parser.add_argument("--log-level", default="WARNING", help="LOG_LEVEL of the gateway")
    parser.add_argument(
        "--keep-logs", type=Path, metavar="DIR", help="copy the processes' logs to DIR"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_baseline is not None:
        serve_baseline(args.serve_baseline, args.workers)
        return 0
    return run_bench(args, "alafia-eligibility-bench-", run, report, stop, (psycopg.Error,))


if __name__ == "__main__":
    sys.exit(main())
