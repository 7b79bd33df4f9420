"""Dashboard benchmark: the statistics API on one million members, and the USSD latency
while staff use it.

    python bench/dashboard_load.py [--members 1000000] [--runs 5] [--seconds 15]
                                   [--database-url URL] [--redis-url URL] [--reseed] [--json]

1. Seeds PostgreSQL (`alafia_bench` by default, created if missing) in set-based SQL:
   households of five on the three demo mutuals, spread over a year, channels, products,
   agents and occupations; one cover year each (a third renewing an older one), in every
   status; payments, SMS and USSD session ends. A second run reuses the seed.
2. Starts `alafia serve` (one worker) on it and times every statistics call through HTTP
   with a central admin's and a mutual manager's session: median and max over --runs,
   against the 500 ms target.
3. Runs the USSD enrolment load of bench/ussd_load.py (moderate: users pause between
   hops) alone, then again while two staff members call the dashboard without pause,
   and prints both p99 and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import psycopg
from benchkit import (
    HOST,
    ROOT,
    bounded,
    free_port,
    loop_factory,
    progress,
    run_bench,
    run_cli,
)
from redis.asyncio import Redis
from ussd_load import (
    DEMO_SCHEME,
    PHONE_SPACE,
    Phones,
    Server,
    measure,
    start_server,
    stop_server,
    summarise,
    wait_ready,
)

from gateway.staff.sessions import COOKIE, StaffSessions

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/alafia_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/8"
SEED_TABLE = "bench_dashboard_seed_v2"  # v2: older years covered and renewed (0014)
PERSONS = 5  # per household
AGENTS = 300
TARGET_MS = 500.0
TARGET_P99_RATIO = 1.2  # "unchanged": within the noise of a shared two-core machine

# (name, path and query) of the calls the dashboard's pages make.
CALLS: tuple[tuple[str, str], ...] = (
    ("overview", "overview"),
    ("enrolment", "enrolment"),
    ("coverage", "coverage"),
    ("collection", "collection"),
    ("timeseries 30 days", "timeseries"),
    ("timeseries 52 weeks", "timeseries?interval=week&from={year_ago}"),
    ("agents", "agents"),
    ("sms", "sms"),
    ("funnel", "funnel"),
    ("enrolment, agent channel, 90 days", "enrolment?channel=agent&from={quarter_ago}"),
    ("collection, FAMILLE, 90 days", "collection?product=FAMILLE&from={quarter_ago}"),
    ("renewals", "renewals"),
    ("renewals due", "renewals_due"),
    ("retention", "retention"),
    ("renewals, FAMILLE, 90 days", "renewals?product=FAMILLE&from={quarter_ago}"),
)

HOUSEHOLDS_SQL = """
INSERT INTO households (id, mutual_id, product_id, phone, language, channel, commune,
                        agent_id, request_key, created_at)
SELECT h, u.id, CASE WHEN h % 20 = 0 AND u.code <> 'MS-KANDI' THEN %(school)s
                     ELSE %(family)s END,
       '+2290196' || lpad(h::text, 6, '0'), 'fr',
       (ARRAY['ussd','ussd','ussd','ussd','ussd','ussd','agent','agent','agent','import'])
           [h % 10 + 1],
       u.commune,
       CASE WHEN h % 10 IN (6, 7, 8) THEN %(first_agent)s + h % %(agents)s END,
       'bench-dashboard:' || h,
       %(today)s::timestamptz - make_interval(days => h % 365, mins => h % 600 + 420)
FROM generate_series(1, %(households)s) h
JOIN (SELECT id, code, commune, row_number() OVER (ORDER BY id) - 1 AS n
      FROM scheme_units WHERE level = 'mutual') u ON u.n = h % 3
"""

MEMBERS_SQL = """
INSERT INTO members (id, member_no, household_id, last_name, first_names, sex, birth_date,
                     birth_year, birth_year_only, relationship_to_head, occupation, agent_id,
                     created_at)
SELECT m, 'B' || m, h.id, 'HOUNGBO', 'Afi', CASE WHEN m % 2 = 0 THEN 'F' ELSE 'M' END,
       date '1990-01-01', 1990, true,
       CASE WHEN (m - 1) % 5 = 0 THEN 'head' ELSE 'child' END,
       (ARRAY['farmer','trader','artisan','moto_taxi','pupil','other',NULL])[m % 7 + 1],
       h.agent_id, h.created_at
FROM generate_series(1, %(members)s) m
JOIN households h ON h.id = (m - 1) / 5 + 1
"""

# One cover year per household opened when it enrolled, in every status; a third of the
# households renew an older year that lapsed.
PERIODS_SQL = """
INSERT INTO coverage_periods (id, household_id, product_id, starts_on, persons, premium_due,
                              amount_paid, sponsor_share, sponsor_paid, waits_for_sponsor,
                              waiting_days, cover_months, grace_days, status)
SELECT h.id, h.id, h.product_id, h.created_at::date, 5, 5 * 1575,
       CASE WHEN h.id % 10 < 6 THEN 5 * 1575 WHEN h.id % 10 < 8 THEN 1575 ELSE 0 END,
       0, 0, false, 30, 12, 30,
       (ARRAY['active','active','active','waiting','grace','lapsed','pending_payment',
              'pending_payment','pending_payment','cancelled'])[h.id % 10 + 1]
FROM households h
"""

OLDER_PERIODS_SQL = """
INSERT INTO coverage_periods (id, household_id, product_id, starts_on, persons, premium_due,
                              amount_paid, paid_in_full_on, sponsor_share, sponsor_paid,
                              waits_for_sponsor, waiting_days, cover_months, grace_days, status,
                              covered_from, covered_until, grace_until, channel)
SELECT %(households)s + h.id, h.id, h.product_id, h.created_at::date - 400, 5, 5 * 1575,
       5 * 1575, h.created_at::date - 400, 0, 0, false, 30, 12, 30, 'lapsed',
       h.created_at::date - 370, h.created_at::date - 6, h.created_at::date + 24, h.channel
FROM households h WHERE h.id % 3 = 0
"""

# The renewing third: their current year renews the older one (the renewal statistics).
RENEWALS_SQL = """
UPDATE coverage_periods SET renewal_of_id = %(households)s + household_id, channel = 'ussd'
WHERE id = household_id AND household_id % 3 = 0
"""

PAYMENTS_SQL = """
INSERT INTO payments (reference, household_id, period_id, provider, amount, currency, status,
                      channel, agent_id, created_at, settled_at, checks, unclear)
SELECT gen_random_uuid()::text, p.household_id, p.id,
       CASE WHEN h.agent_id IS NOT NULL THEN 'cash' ELSE 'momo' END,
       p.amount_paid, 'XOF',
       CASE WHEN p.household_id % 17 = 0 THEN 'failed' ELSE 'succeeded' END,
       CASE WHEN h.agent_id IS NOT NULL THEN 'agent' ELSE 'ussd' END, h.agent_id,
       h.created_at + interval '1 day', h.created_at + interval '1 day', 0, false
FROM coverage_periods p JOIN households h ON h.id = p.household_id
WHERE p.amount_paid > 0
"""

MESSAGES_SQL = """
INSERT INTO messages (household_id, phone, language, purpose, template, params, text,
                      encoding, segments, quiet, status, delivery_status, not_before,
                      created_at, attempts)
SELECT h.id, h.phone, 'fr',
       (ARRAY['confirmation','receipt','reminder','campaign'])[h.id % 4 + 1], 't', '{}', '.',
       'gsm7', 1, false,
       (ARRAY['delivered','delivered','delivered','sent','undelivered','expired'])[h.id % 6 + 1],
       (ARRAY['Success','Success','Success',NULL,'Failed',NULL])[h.id % 6 + 1],
       h.created_at, h.created_at, 1
FROM households h
"""

SESSION_ENDS_SQL = """
INSERT INTO ussd_session_ends (session_id, service_code, network_code, status, duration_ms,
                               hops, journey, last_node, ended_at)
SELECT 'ATUid_bench_' || s, '*384*22#', '61603',
       (ARRAY['Success','Incomplete','Incomplete','Failed'])[s % 4 + 1], 30000 + s % 90000,
       3 + s % 22, split_part(node, '.', 1), node,
       %(today)s::timestamptz - make_interval(days => s % 365, mins => s % 900)
FROM generate_series(1, %(sessions)s) s,
     LATERAL (SELECT (ARRAY['enrol.done','enrol.done','pay.prompted','enrol.dep_birth',
                            'enrol.head_name','main.home','pay.cancelled','rights.show'])
                     [s % 8 + 1] AS node) n
"""


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(libpq(admin), autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        progress(f"creating database {name}")
        connection.execute(f'CREATE DATABASE "{name}"')


def seeded(url: str, members: int) -> dict[str, Any] | None:
    with psycopg.connect(libpq(url)) as connection:
        exists = connection.execute("SELECT to_regclass(%s)", (SEED_TABLE,)).fetchone()
        if not exists or exists[0] is None:
            return None
        row = connection.execute(f"SELECT members, seconds, steps FROM {SEED_TABLE}").fetchone()
    if row is None or row[0] != members:
        return None
    return {"members": row[0], "seconds": row[1], "steps_s": row[2], "reused": True}


def seed(url: str, members: int, env: dict[str, str], log: TextIO) -> dict[str, Any]:
    """An empty schema, migrated, the demo scheme, then everything in set-based SQL."""
    began = time.perf_counter()
    with psycopg.connect(libpq(url), autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")
    run_cli(["db", "upgrade"], env, log)
    run_cli(["scheme", "load", str(DEMO_SCHEME)], env, log)
    households = members // PERSONS
    today = time.strftime("%Y-%m-%d")
    steps: dict[str, float] = {}
    with psycopg.connect(libpq(url)) as connection:
        product = dict(connection.execute("SELECT code, id FROM products").fetchall())
        mutual = connection.execute(
            "SELECT id FROM scheme_units WHERE level = 'mutual' ORDER BY id LIMIT 1"
        ).fetchone()
        assert mutual is not None
        connection.execute(
            "INSERT INTO agents (id, phone, name, mutual_id, pin_failures, created_at)"
            " SELECT a, '+2290195' || lpad(a::text, 6, '0'), 'Agent ' || a,"
            " (SELECT id FROM scheme_units WHERE level = 'mutual' ORDER BY id"
            "  OFFSET a %% 3 LIMIT 1), 0, now()"
            " FROM generate_series(1, %(agents)s) a",
            {"agents": AGENTS},
        )
        params = {
            "households": households,
            "members": households * PERSONS,
            "family": product["FAMILLE"],
            "school": product["SCOLAIRE"],
            "first_agent": 1,
            "agents": AGENTS,
            "today": today,
            "sessions": households,
        }
        for name, statement in (
            ("households", HOUSEHOLDS_SQL),
            ("members", MEMBERS_SQL),
            ("periods", PERIODS_SQL),
            ("older periods", OLDER_PERIODS_SQL),
            ("renewals", RENEWALS_SQL),
            ("payments", PAYMENTS_SQL),
            ("messages", MESSAGES_SQL),
            ("ussd session ends", SESSION_ENDS_SQL),
        ):
            step = time.perf_counter()
            connection.execute(statement.replace("%", "%%").replace("%%(", "%("), params)
            steps[name] = round(time.perf_counter() - step, 1)
            progress(f"  {name}: {steps[name]} s")
        for table in ("households", "members", "coverage_periods", "agents"):
            # Explicit ids leave the sequences behind; the USSD load inserts after them.
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
    step = time.perf_counter()
    with psycopg.connect(libpq(url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        steps["vacuum analyze"] = round(time.perf_counter() - step, 1)
        seconds = round(time.perf_counter() - began, 1)
        connection.execute(f"CREATE TABLE {SEED_TABLE} (members int, seconds real, steps jsonb)")
        connection.execute(
            f"INSERT INTO {SEED_TABLE} VALUES (%s, %s, %s)",
            (households * PERSONS, seconds, json.dumps(steps)),
        )
    return {"members": households * PERSONS, "seconds": seconds, "steps_s": steps}


def staff_cookies(url: str, redis_url: str) -> dict[str, str]:
    """A central admin and the Parakou mutual's manager, logged in (sessions in Redis)."""
    with psycopg.connect(libpq(url)) as connection:
        connection.execute("DELETE FROM staff_accounts WHERE email LIKE 'bench-%%'")
        ids = {}
        for role, unit in (("central_admin", None), ("mutual_manager", "MS-PARAKOU")):
            row = connection.execute(
                "INSERT INTO staff_accounts (email, role, scope_unit_id, password_hash,"
                " failed_logins, created_at)"
                " VALUES (%s, %s, (SELECT id FROM scheme_units WHERE code = %s), 'x', 0, now())"
                " RETURNING id",
                (f"bench-{role}@alafia.invalid", role, unit),
            ).fetchone()
            assert row is not None
            ids[role] = row[0]

    async def open_all() -> dict[str, str]:
        redis = Redis.from_url(redis_url)
        try:
            return {role: (await StaffSessions(redis).open(i))[0] for role, i in ids.items()}
        finally:
            await redis.aclose()

    return asyncio.run(open_all())


def call_paths() -> list[tuple[str, str]]:
    today = time.time()
    year_ago = time.strftime("%Y-%m-%d", time.localtime(today - 364 * 86400))
    quarter_ago = time.strftime("%Y-%m-%d", time.localtime(today - 89 * 86400))
    return [
        (name, "/api/v1/stats/" + path.format(year_ago=year_ago, quarter_ago=quarter_ago))
        for name, path in CALLS
    ]


async def time_calls(base: str, cookies: dict[str, str], runs: int) -> list[dict[str, Any]]:
    rows = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        for role, token in cookies.items():
            headers = {"Cookie": f"{COOKIE}={token}"}
            for name, path in call_paths():
                times = []
                for _ in range(runs):
                    began = time.perf_counter()
                    async with http.get(base + path, headers=headers) as response:
                        body = await response.read()
                        if response.status != 200:
                            raise RuntimeError(f"{path}: HTTP {response.status}: {body[:200]!r}")
                    times.append((time.perf_counter() - began) * 1000)
                rows.append(
                    {
                        "role": role,
                        "call": name,
                        "median_ms": round(statistics.median(times), 1),
                        "max_ms": round(max(times), 1),
                    }
                )
                progress(f"  {role} {name}: median {rows[-1]['median_ms']} ms")
    return rows


async def dashboard_users(base: str, cookies: dict[str, str], stop: asyncio.Event) -> int:
    """Staff members clicking through the dashboard without pause: calls made."""
    calls = 0

    async def user(token: str) -> None:
        nonlocal calls
        headers = {"Cookie": f"{COOKIE}={token}"}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            while not stop.is_set():
                for _, path in call_paths():
                    if stop.is_set():
                        return
                    async with http.get(base + path, headers=headers) as response:
                        await response.read()
                    calls += 1

    await asyncio.gather(*(user(token) for token in cookies.values()))
    return calls


async def ussd_with_and_without(
    server: Server, base: str, cookies: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    # Phones from a random point: a number enrolled by an earlier run on this database
    # would end its journey as a duplicate, not "Bienvenue".
    phones = Phones(random.randrange(PHONE_SPACE))
    sessions = iter(range(1, 1 << 62))
    pause = args.pause_ms / 1000
    results: dict[str, Any] = {}
    for round_no in range(args.rounds):
        progress(f"USSD load alone, round {round_no + 1}")
        alone = await measure(
            server, "moderate", args.users, args.seconds, 2, pause, phones, sessions
        )
        results.setdefault("alone", []).append(alone)
        progress(f"USSD load with the dashboard in use, round {round_no + 1}")
        stop = asyncio.Event()
        staff = asyncio.create_task(dashboard_users(base, cookies, stop))
        busy = await measure(
            server, "moderate", args.users, args.seconds, 2, pause, phones, sessions
        )
        stop.set()
        calls = await staff
        results.setdefault("with_dashboard", []).append(busy)
        results.setdefault("dashboard_calls", []).append(calls)
    alone_summary = summarise(results["alone"])
    busy_summary = summarise(results["with_dashboard"])
    keep = ("hops_per_s", "p50_ms", "p99_ms", "max_ms", "hops", "errors")
    return {
        "alone": {k: alone_summary[k] for k in keep},
        "with_dashboard": {k: busy_summary[k] for k in keep},
        "dashboard_calls": sum(results["dashboard_calls"]),
        "p99_ratio": busy_summary["p99_ms"] / alone_summary["p99_ms"],
    }


def run(args: argparse.Namespace, workdir: Path, procs: dict[str, Any]) -> dict[str, Any]:
    env = {
        **os.environ,
        "ALAFIA_DATA_DIR": str(workdir / "data"),
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "LOG_LEVEL": "WARNING",
        # `serve` refuses a loopback canonical FHIR base (its extensions' URLs): a bench
        # names one of its own unless the caller does.
        "FHIR_CANONICAL_BASE": os.environ.get("FHIR_CANONICAL_BASE", "https://bench.invalid/fhir"),
    }
    ensure_database(args.database_url)
    with (workdir / "setup.log").open("w") as log:
        seeding = None if args.reseed else seeded(args.database_url, args.members)
        if seeding is None:
            progress(f"seeding {args.members} members (set-based SQL)")
            seeding = seed(args.database_url, args.members, env, log)
        else:
            progress("reusing the seeded database; migrating it")
            run_cli(["db", "upgrade"], env, log)
    progress(f"seeded in {seeding['seconds']} s")
    port = free_port()
    server = start_server(
        "gateway",
        [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env,
        workdir / "gateway.log",
        port,
        "/readyz",
    )
    procs["gateway"] = server
    base = f"http://{HOST}:{port}"
    cookies = staff_cookies(args.database_url, args.redis_url)

    async def measure_all() -> dict[str, Any]:
        await wait_ready(server)
        progress(f"timing the dashboard's calls, {args.runs} runs each")
        # The first pass counts every figure (what STATS_CACHE_SECONDS=0 would cost on every
        # call); the timed runs are then served as staff get them, from the minute-old cache
        # that the worker keeps warm.
        counted = await time_calls(base, cookies, 1)
        calls = await time_calls(base, cookies, args.runs)
        for row, first in zip(calls, counted, strict=True):
            row["counted_ms"] = first["median_ms"]
        ussd = await ussd_with_and_without(server, base, cookies, args)
        return {"calls": calls, "ussd": ussd}

    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        figures = runner.run(measure_all())
    slowest = max(row["median_ms"] for row in figures["calls"])
    return {
        "config": {
            "members": seeding["members"],
            "runs": args.runs,
            "users": args.users,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "pause_ms": args.pause_ms,
            "cpus": os.cpu_count(),
        },
        "seeding": seeding,
        **figures,
        "ok": slowest <= TARGET_MS and figures["ussd"]["p99_ratio"] <= TARGET_P99_RATIO,
    }


def report(document: dict[str, Any], out: TextIO) -> None:
    config, seeding = document["config"], document["seeding"]
    out.write(
        f"\nDashboard on {config['members']:,} members (seeded in {seeding['seconds']} s"
        f"{', reused' if seeding.get('reused') else ''}); {config['cpus']} CPUs\n\n"
    )
    out.write(
        f"{'role':<16}{'call':<38}{'counted ms':>11}{'served median':>14}{'max ms':>8}"
        "  target 500 ms\n"
    )
    for row in document["calls"]:
        verdict = "ok" if row["median_ms"] <= TARGET_MS else "OVER"
        counted = row.get("counted_ms")
        out.write(
            f"{row['role']:<16}{row['call']:<38}"
            f"{counted if counted is not None else float('nan'):>11.1f}"
            f"{row['median_ms']:>14.1f}{row['max_ms']:>8.1f}  {verdict}\n"
        )
    out.write(
        "(counted: the first call, which counts the figures; served: later calls, as staff\n"
        " get them from the cache the worker keeps warm, at most STATS_CACHE_SECONDS old)\n"
    )
    ussd = document["ussd"]
    out.write(
        f"\nUSSD moderate load ({config['users']} users, {config['pause_ms']} ms pauses, "
        f"{config['rounds']} x {config['seconds']} s each):\n"
    )
    for name in ("alone", "with_dashboard"):
        row = ussd[name]
        out.write(
            f"  {name:<16} {row['hops_per_s']:>7.0f} hops/s  p50 {row['p50_ms']:>6.1f} ms  "
            f"p99 {row['p99_ms']:>6.1f} ms  max {row['max_ms']:>7.1f} ms  errors {row['errors']}\n"
        )
    out.write(
        f"  p99 with / without the dashboard: {ussd['p99_ratio']:.2f} "
        f"(target <= {TARGET_P99_RATIO}); {ussd['dashboard_calls']} dashboard calls meanwhile\n"
        f"\nverdict: {'all targets met' if document['ok'] else 'a target is missed'}\n"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=bounded(1000, 5_000_000, int), default=1_000_000)
    parser.add_argument("--runs", type=bounded(1, 50, int), default=5)
    parser.add_argument("--users", type=bounded(1, 256, int), default=32)
    parser.add_argument("--seconds", type=bounded(1, 600), default=15.0)
    parser.add_argument("--rounds", type=bounded(1, 10, int), default=2)
    parser.add_argument("--pause-ms", type=bounded(0, 5000), default=20.0)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--reseed", action="store_true", help="seed again even if seeded")
    parser.add_argument("--keep-logs", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    args.database_url = args.database_url or DEFAULT_DATABASE
    return args


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(run_bench(parse_args(None), "alafia-dashboard-", run, report, stop_server))
