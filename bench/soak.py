"""Soak: mixed traffic for a long time on the production path; errors, memory and latency.

    python bench/soak.py [--minutes 30] [--interval 60]
                         [--database-url postgresql://postgres@127.0.0.1:5432/scale17_bench_soak]
                         [--redis-url redis://127.0.0.1:6379/14] [--json]

Starts, on 127.0.0.1, `alafia serve --workers 2` (two gateway processes), two
`alafia worker` processes and the MoMo status peer (bench/status_peer.py), on a
PostgreSQL database it resets (its name must start with `scale17_bench`) and a Redis
server. Then, for --minutes, four kinds of traffic at once, each at a steady pace:

  ussd        virtual phones running the French enrolment journey (ENROLMENT_ANSWERS),
              a new phone and session per journey, --think-ms between hops
  callback    MTN MoMo payment callbacks for seeded pending payments, each once; the
              workers then confirm each payment with the status peer
  eligibility GET /api/v1/eligibility/{member} with a facility's API key
  dashboard   the staff dashboard's statistics calls with a logged-in central admin

Every --interval seconds it prints, per kind, requests, errors, p50 and p99, and the
resident memory of the gateway processes, the workers and Redis. At the end: the drift
between the first and the last interval, and whether every payment called back reached
a final status. The run is good (exit 0) when nothing failed and nothing was lost;
the drift is printed for a person to judge (the machine may be shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp
import psutil
import psycopg
from benchkit import HOST, ROOT, bounded, free_port, loop_factory, percentile, progress, run_cli
from benchkit import run_bench as run_benchmark
from callbacks_load import FINAL, Proc, database_name, libpq_url, seed, start, stop, wait_ready
from dashboard_load import CALLS, staff_cookies
from eligibility_load import add_facility
from psycopg import sql
from redis import Redis

from gateway.staff.sessions import COOKIE

DEMO_SCHEME = ROOT / "gateway" / "scheme" / "data" / "demo_scheme.yaml"
STATUS_PEER = ROOT / "bench" / "status_peer.py"
DATABASE_PREFIX = "scale17_bench"  # the only databases this script may wipe
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/scale17_bench_soak"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
AMOUNT = 1575
CURRENCY = "XOF"

# The enrolment journey, one hop's new input each (the first hop has empty text): French,
# join, the Parakou mutual, the head of household (name on one screen, birth year, no
# national ID), a household of four (only the family product fits, so it is not asked),
# three dependants (name, who they are, birth date), confirm: 17 answers. The deploy
# check (.ci/deploy_check) reads this constant too.
ENROLMENT_ANSWERS: tuple[str, ...] = (
    "", "1", "1", "3", "Houngbo Afi", "1990", "2", "4", "Houngbo Jean", "1", "15041988",
    "Marc", "3", "2016", "Ella", "4", "2019", "1",
)  # fmt: skip
ENROLMENT_FINAL = ("END Bienvenue",)
USSD_PHONE_PREFIX = "+2290196"  # + 6 digits; the seeded payers use +2290197
REQUEST_TIMEOUT_S = 30.0
MAX_ERROR_SAMPLES = 10
KINDS = ("ussd", "callback", "eligibility", "dashboard")


@dataclass
class Interval:
    """What one interval saw: latencies (ms) and errors per kind, memory at its end."""

    started: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    journeys: int = 0
    memory_mb: dict[str, float] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        kinds = {}
        for kind in KINDS:
            values = sorted(self.latencies.get(kind, []))
            kinds[kind] = {
                "requests": len(values) + self.errors.get(kind, 0),
                "errors": self.errors.get(kind, 0),
                "p50_ms": round(percentile(values, 0.50), 1),
                "p99_ms": round(percentile(values, 0.99), 1),
            }
        return {"kinds": kinds, "journeys": self.journeys, "memory_mb": self.memory_mb}


@dataclass
class Soak:
    """The traffic generator's shared state: the current interval and error samples."""

    base: str
    ussd_url: str
    payments: list[Any]  # callbacks_load.Seeded, called back in order, each once
    members: int
    facility_key: str
    cookie: str
    today: str
    intervals: list[Interval] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    next_payment: int = 0
    next_phone: int = 0

    @property
    def now(self) -> Interval:
        return self.intervals[-1]

    def record(self, kind: str, started: float, ok: bool, problem: str = "") -> None:
        if ok:
            self.now.latencies[kind].append((time.perf_counter() - started) * 1000)
            return
        self.now.errors[kind] += 1
        if len(self.samples) < MAX_ERROR_SAMPLES:
            self.samples.append(f"{kind}: {problem}")


async def ussd_user(soak: Soak, http: aiohttp.ClientSession, think: float, stop: float) -> None:
    """One phone after the other, each running the whole enrolment journey."""
    while time.perf_counter() < stop:
        soak.next_phone += 1
        phone = f"{USSD_PHONE_PREFIX}{soak.next_phone % 1_000_000:06d}"
        session = f"soak-{uuid.uuid4().hex}"
        typed: list[str] = []
        for index, answer in enumerate(ENROLMENT_ANSWERS):
            if index:
                typed.append(answer)
            form = {"sessionId": session, "phoneNumber": phone, "text": "*".join(typed)}
            started = time.perf_counter()
            try:
                async with http.post(soak.ussd_url, data=form) as response:
                    reply = await response.text()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                soak.record("ussd", started, False, f"{type(error).__name__}: {error}")
                break
            last = index == len(ENROLMENT_ANSWERS) - 1
            expected = ENROLMENT_FINAL if last else ("CON ",)
            if status != 200 or not reply.startswith(expected):
                soak.record("ussd", started, False, f"hop {index}: HTTP {status}: {reply[:100]!r}")
                break
            soak.record("ussd", started, True)
            if last:
                soak.now.journeys += 1
            await asyncio.sleep(think)


async def paced(rate: float, stop: float, call: Any) -> None:
    """`call()` started `rate` times a second whatever its latency (an open load), so a
    slow answer shows as latency instead of lowering the offered load."""
    tasks: set[asyncio.Task[None]] = set()
    period = 1.0 / rate
    due = time.perf_counter()
    while due < stop:
        task = asyncio.create_task(call())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        due += period
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
    await asyncio.gather(*tasks, return_exceptions=True)


async def get_or_send(
    soak: Soak, kind: str, http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> None:
    started = time.perf_counter()
    try:
        async with http.request(method, url, **kwargs) as response:
            body = await response.read()
            ok = response.status == 200
            soak.record(kind, started, ok, f"HTTP {response.status}: {body[:100]!r} ({url})")
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        soak.record(kind, started, False, f"{type(error).__name__}: {error} ({url})")


async def traffic(args: argparse.Namespace, soak: Soak, procs: dict[str, Proc]) -> None:
    from menus.identifiers import member_number

    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=args.ussd_users + 64)
    random_member = random.Random(7)
    paths = [f"/api/v1/stats/{path}" for _name, path in CALLS if "{" not in path]
    cursor = {"dashboard": 0}

    async def callback() -> None:
        if soak.next_payment >= len(soak.payments):
            return
        payment = soak.payments[soak.next_payment]
        soak.next_payment += 1
        url = f"{soak.base}/payments/momo/callback/{payment.reference}"
        headers = {"Content-Type": "application/json"}
        await get_or_send(
            soak, "callback", http, "PUT", url, data=payment.callback_body(), headers=headers
        )

    async def eligibility() -> None:
        member = member_number(random_member.randint(1, soak.members))
        url = f"{soak.base}/api/v1/eligibility/{member}?date={soak.today}"
        headers = {"Authorization": f"Bearer {soak.facility_key}"}
        await get_or_send(soak, "eligibility", http, "GET", url, headers=headers)

    async def dashboard() -> None:
        path = paths[cursor["dashboard"] % len(paths)]
        cursor["dashboard"] += 1
        headers = {"Cookie": f"{COOKIE}={soak.cookie}"}
        await get_or_send(soak, "dashboard", http, "GET", soak.base + path, headers=headers)

    async def intervals(stop: float) -> None:
        while True:
            await asyncio.sleep(max(0.0, min(args.interval, stop - time.perf_counter())))
            soak.now.memory_mb = memory(procs, args.redis_url)
            print_interval(len(soak.intervals), soak.now, sys.stderr)
            if time.perf_counter() >= stop - 0.01:
                return
            soak.intervals.append(Interval(time.perf_counter()))

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        stop_at = time.perf_counter() + args.minutes * 60
        soak.intervals.append(Interval(time.perf_counter()))
        think = args.think_ms / 1000
        await asyncio.gather(
            intervals(stop_at),
            *(ussd_user(soak, http, think, stop_at) for _ in range(args.ussd_users)),
            paced(args.callbacks_per_s, stop_at, callback),
            paced(args.checks_per_s, stop_at, eligibility),
            paced(args.dashboard_per_s, stop_at, dashboard),
        )


def memory(procs: dict[str, Proc], redis_url: str) -> dict[str, float]:
    """Resident memory (MB): the gateway's processes together, each worker, Redis."""
    found: dict[str, float] = {}
    for name, proc in procs.items():
        if name == "peer":
            continue
        try:
            root = psutil.Process(proc.process.pid)
            family = [root, *root.children(recursive=True)]
            found[name] = round(sum(p.memory_info().rss for p in family) / 2**20, 1)
        except psutil.Error:
            found[name] = float("nan")
    client = Redis.from_url(redis_url)
    try:
        found["redis"] = round(int(client.info("memory")["used_memory"]) / 2**20, 1)
    finally:
        client.close()
    return found


def print_interval(number: int, interval: Interval, out: TextIO) -> None:
    figures = interval.figures()
    parts = [
        f"{kind} {k['requests']} req {k['errors']} err p50 {k['p50_ms']} p99 {k['p99_ms']} ms"
        for kind, k in figures["kinds"].items()
    ]
    mem = " ".join(f"{name} {mb} MB" for name, mb in figures["memory_mb"].items())
    print(
        f"[soak] interval {number}: {figures['journeys']} journeys; " + "; ".join(parts),
        file=out,
        flush=True,
    )
    print(f"[soak]   memory: {mem}", file=out, flush=True)


# ---------------------------------------------------------------------------- set-up


def reset_database(url: str) -> str:
    name = database_name(url)
    if not name.startswith(DATABASE_PREFIX):
        raise RuntimeError(f"refusing to wipe {name!r}: its name must start with {DATABASE_PREFIX}")
    conninfo = libpq_url(url)
    with psycopg.connect(conninfo, dbname="postgres", autocommit=True, connect_timeout=5) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        version = admin.execute("SHOW server_version").fetchone()
    return str(version[0]) if version else "?"


def environment(args: argparse.Namespace, workdir: Path, ports: dict[str, int]) -> dict[str, str]:
    env = {
        **os.environ,
        "ALAFIA_DATA_DIR": str(workdir / "data"),
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "LOG_LEVEL": "WARNING",
        "REGISTER_ADAPTER": "local",
        "PAYMENT_PROVIDER": "momo",
        "MOMO_BASE_URL": f"http://{HOST}:{ports['peer']}",
        "MOMO_SUBSCRIPTION_KEY": "soak-subscription-key",
        "MOMO_API_USER": str(uuid.uuid4()),
        "MOMO_API_KEY": "soak-api-key",
        "MOMO_TARGET_ENVIRONMENT": "mtnbenin",
        "MOMO_CURRENCY": CURRENCY,
        "STATUS_PEER_AMOUNT": str(AMOUNT),
        "STATUS_PEER_CURRENCY": CURRENCY,
        "PUBLIC_BASE_URL": f"http://{HOST}:{ports['gateway']}",
        "FHIR_CANONICAL_BASE": "https://soak.invalid/fhir",
        "USSD_CALLBACK_TOKEN": secrets.token_urlsafe(24),
        "AT_CALLBACK_TOKEN": secrets.token_urlsafe(24),
        # One facility asks for all the checks: its per-minute limit would refuse them.
        "ELIGIBILITY_CHECKS_PER_MINUTE": "100000",
    }
    env.pop("FEDAPAY_BASE_URL", None)
    return env


def final_payments(url: str, references: list[str]) -> int:
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM payments WHERE reference = ANY(%s) AND status = ANY(%s)",
            (references, list(FINAL)),
        ).fetchone()
    return int(row[0]) if row else 0


def enrolled(url: str) -> int:
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM households WHERE phone LIKE %s", (USSD_PHONE_PREFIX + "%",)
        ).fetchone()
    return int(row[0]) if row else 0


def run(args: argparse.Namespace, workdir: Path, procs: dict[str, Proc]) -> dict[str, Any]:
    from gateway.settings import Settings

    ports = {name: free_port() for name in ("peer", "gateway")}
    env = environment(args, workdir, ports)
    base = f"http://{HOST}:{ports['gateway']}"
    progress(f"resetting database {database_name(args.database_url)!r}")
    server_version = reset_database(args.database_url)
    Redis.from_url(args.redis_url).flushdb()
    settings = Settings.from_env(env)
    with (workdir / "setup.log").open("w") as setup_log:
        run_cli(["db", "upgrade"], env, setup_log)
        run_cli(["scheme", "load", str(DEMO_SCHEME)], env, setup_log)
        key = add_facility(env, setup_log)
    count = int(args.callbacks_per_s * args.minutes * 60) + 100
    progress(f"seeding {count} households with a pending MoMo payment each")
    payments = seed(args.database_url, count, settings.timezone)
    cookie = staff_cookies(args.database_url, args.redis_url)["central_admin"]
    python = sys.executable
    peer = [python, str(STATUS_PEER), "--host", HOST, "--port", str(ports["peer"])]
    procs["peer"] = start("peer", peer, env, workdir / "peer.log")
    serve = ["serve", "--host", HOST, "--port", str(ports["gateway"]), "--workers", "2"]
    procs["gateway"] = start("gateway", [python, "-m", "gateway", *serve], env, workdir / "g.log")
    for n in (1, 2):
        name = f"worker-{n}"
        procs[name] = start(name, [python, "-m", "gateway", "worker"], env, workdir / f"{name}.log")

    today = datetime.now(ZoneInfo(settings.timezone)).date().isoformat()
    token = urlencode({"token": env["USSD_CALLBACK_TOKEN"]})
    soak = Soak(base, f"{base}/ussd?{token}", payments, count, key, cookie, today)

    async def main() -> None:
        await wait_ready(procs["peer"], f"http://{HOST}:{ports['peer']}/stats")
        await wait_ready(procs["gateway"], f"{base}/readyz")
        progress(f"soaking for {args.minutes:g} min, figures every {args.interval:g} s")
        await traffic(args, soak, procs)

    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(main())
    called = [p.reference for p in payments[: soak.next_payment]]
    deadline = time.monotonic() + args.drain_seconds
    confirmed = final_payments(args.database_url, called)
    while confirmed < len(called) and time.monotonic() < deadline:
        time.sleep(2)
        confirmed = final_payments(args.database_url, called)
    problems = {name: proc.log_problems() for name, proc in procs.items()}
    intervals = [i.figures() for i in soak.intervals]
    errors = sum(k["errors"] for i in intervals for k in i["kinds"].values())
    journeys = sum(i["journeys"] for i in intervals)
    households = enrolled(args.database_url)
    return {
        "config": {
            "minutes": args.minutes,
            "interval_s": args.interval,
            "ussd_users": args.ussd_users,
            "think_ms": args.think_ms,
            "callbacks_per_s": args.callbacks_per_s,
            "checks_per_s": args.checks_per_s,
            "dashboard_per_s": args.dashboard_per_s,
            "gateway_processes": 2,
            "workers": 2,
            "postgresql": server_version,
            "database": database_name(args.database_url),
            "redis": args.redis_url,
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
        "intervals": intervals,
        "drift": drift(intervals),
        "errors": errors,
        "error_samples": soak.samples,
        "journeys_completed": journeys,
        "households_enrolled": households,
        "callbacks_sent": len(called),
        "payments_final": confirmed,
        "log_problems": problems,
        "ok": errors == 0 and confirmed == len(called) and households >= journeys,
    }


def drift(intervals: list[dict[str, Any]]) -> dict[str, Any]:
    """The last interval against the first: p99 ratio per kind, memory change in MB."""
    if len(intervals) < 2:
        return {}
    first, last = intervals[0], intervals[-1]
    p99 = {
        kind: round(last["kinds"][kind]["p99_ms"] / first["kinds"][kind]["p99_ms"], 2)
        if first["kinds"][kind]["p99_ms"]
        else None
        for kind in KINDS
    }
    memory = {
        name: round(last["memory_mb"].get(name, 0.0) - mb, 1)
        for name, mb in first["memory_mb"].items()
    }
    return {"p99_last_over_first": p99, "memory_mb_last_minus_first": memory}


def report(doc: dict[str, Any], out: TextIO) -> None:
    config = doc["config"]
    out.write(
        f"Soak: {config['minutes']:g} min, 2 gateway processes + 2 workers, PostgreSQL "
        f"{config['postgresql']}, Redis {config['redis']}, {config['cpus']} CPUs, "
        f"load average at the end {', '.join(f'{x:.2f}' for x in config['load_average'])}\n"
        f"offered: {config['ussd_users']} USSD phones ({config['think_ms']} ms think time), "
        f"{config['callbacks_per_s']} callbacks/s, {config['checks_per_s']} checks/s, "
        f"{config['dashboard_per_s']} dashboard calls/s\n\n"
    )
    header = "interval " + " ".join(f"{k + ' req/err/p50/p99':>34}" for k in KINDS)
    out.write(header + "  memory MB\n")
    for number, interval in enumerate(doc["intervals"], 1):
        cells = " ".join(
            f"{k['requests']:>8}/{k['errors']:<3}/{k['p50_ms']:>7}/{k['p99_ms']:>8} ms"
            for k in interval["kinds"].values()
        )
        mem = " ".join(f"{name} {mb}" for name, mb in interval["memory_mb"].items())
        out.write(f"{number:>8} {cells}  {mem}\n")
    out.write(f"\ndrift, last interval against the first: {json.dumps(doc['drift'])}\n")
    out.write(
        f"errors {doc['errors']}; journeys completed {doc['journeys_completed']}, households "
        f"enrolled {doc['households_enrolled']}; callbacks {doc['callbacks_sent']}, payments "
        f"final {doc['payments_final']}; ERROR lines in logs {doc['log_problems']}\n"
    )
    for sample in doc["error_samples"]:
        out.write(f"  error: {sample}\n")
    out.write("OK\n" if doc["ok"] else "NOT OK\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=bounded(0.1, 24 * 60), default=30.0)
    parser.add_argument("--interval", type=bounded(5, 3600), default=60.0, help="seconds")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--ussd-users", type=bounded(1, 1000, int), default=8)
    parser.add_argument("--think-ms", type=bounded(0, 60_000), default=200.0)
    parser.add_argument("--callbacks-per-s", type=bounded(0.1, 10_000), default=5.0)
    parser.add_argument("--checks-per-s", type=bounded(0.1, 10_000), default=10.0)
    parser.add_argument("--dashboard-per-s", type=bounded(0.01, 1000), default=0.5)
    parser.add_argument(
        "--drain-seconds",
        type=bounded(0, 3600),
        default=120.0,
        help="how long the workers get, after the load, to confirm the last payments",
    )
    parser.add_argument("--keep-logs", type=Path)
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_benchmark(args, "alafia-soak-", run, report, stop, (psycopg.Error,))


if __name__ == "__main__":
    sys.exit(main())
