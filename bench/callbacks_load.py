"""Mobile-money callback benchmark: MoMo callbacks processed per second on PostgreSQL,
duplicates included, and proof that no payment is credited twice.

    python bench/callbacks_load.py [--database-url postgresql://postgres@127.0.0.1:5432/alafia_bench]
                                   [--payments 2000] [--copies 3] [--connections 64]
                                   [--workers 2] [--json]

What it does, all on 127.0.0.1:
1. creates the database if missing and resets its `public` schema (only a database whose
   name starts with `alafia_bench`), then `alafia db upgrade` and the demo scheme;
2. seeds --payments households, each with one member, a coverage period waiting for its
   premium and one MoMo payment already submitted to the provider, not due for a day;
3. starts bench/status_peer.py (MTN MoMo's token and status endpoints, every payment
   SUCCESSFUL), `alafia serve --workers 1` and a baseline endpoint (below);
4. phase A, intake: sends every payment's callback --copies times (PUT and POST mixed,
   the copies of a payment in flight together and in any order) over --connections
   connections, to the gateway and then to the baseline: callbacks/s, latency, non-200s;
5. phase B, confirmation: starts --workers `alafia worker` processes, which confirm each
   payment with a status GET to the peer and credit it; times until every payment is final
   (the workers pace their status calls, PAYMENT_STATUS_RATE or --status-rate: a cap here);
6. checks the ledger: every payment succeeded once, the money credited is exactly
   payments x 1575, one receipt per payment, every callback kept.

The baseline is the least a callback endpoint can do: a Starlette route that reads the
body, checks the reference and the JSON, and makes ONE INSERT (autocommit) into a
throwaway table shaped like `payment_notices`, on the same PostgreSQL, through a fixed
set of 20 psycopg connections (the gateway's pool: 10 + 10 overflow). Served by uvicorn,
one process, like the gateway. The gateway/baseline ratio prices everything the gateway
does beyond that: SQLAlchemy, the transaction, the UPDATE that makes the payment due.

Every process started here is stopped at the end, also on an error, Ctrl-C or SIGTERM.
Progress goes to stderr; the figures (or JSON with --json) to stdout. Exit status 1 when
the ledger is wrong or a callback was refused; missing the speed target is reported, not
an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID
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
    run_cli,
)
from psycopg import sql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEMO_SCHEME = ROOT / "gateway" / "scheme" / "data" / "demo_scheme.yaml"
STATUS_PEER = ROOT / "bench" / "status_peer.py"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/alafia_bench"
DATABASE_PREFIX = "alafia_bench"  # the only databases this script may wipe
# ... and `<name>_bench...`, one engineer's own bench databases on a shared machine.
DATABASE_NAMES = re.compile(r"^(alafia_bench|[a-z0-9]+_bench)")
LOCAL_REDIS = ("127.0.0.1", 6379)
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/11"

AMOUNT = 1575  # XOF, the demo product's premium for one person
CURRENCY = "XOF"
FINAL = ("succeeded", "failed", "needs_review")
TARGET_CALLBACKS_PER_S = 500.0  # from the payments issue
REQUEST_TIMEOUT_S = 30.0
BUSY_OTHERS = 0.5  # CPU share used outside the benchmark above which figures are suspect
MAX_ERROR_SAMPLES = 5

BASELINE_TABLE = "bench_baseline_callbacks"
BASELINE_CONNECTIONS = 20  # db.engine.create_engine_async: pool_size 10 + max_overflow 10
BASELINE_INSERT = (
    f"INSERT INTO {BASELINE_TABLE} (reference, provider, source, body, outcome)"
    " VALUES (%s, 'momo', 'callback', %s, 'to_confirm')"
)


# ------------------------------------------------------------------------------ baseline


def baseline_app() -> Starlette:
    """The floor: read, check, one INSERT, answer. DATABASE_URL says where."""
    conninfo = libpq_url(os.environ["DATABASE_URL"])
    # A fixed set of connections handed round through a queue: the least a pool can be.
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

    async def callback(request: Request) -> Response:
        raw = await request.body()
        try:
            reference = UUID(request.path_params["reference"])
            if not isinstance(json.loads(raw), dict):  # the gateway parses the body too
                raise ValueError("not a JSON object")
        except ValueError:
            return JSONResponse({"error": "malformed callback"}, status_code=400)
        connection = await idle.get()
        try:
            await connection.execute(
                BASELINE_INSERT, (str(reference), raw.decode("utf-8", "replace"))
            )
        finally:
            idle.put_nowait(connection)
        return JSONResponse({"status": "received"})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/payments/momo/callback/{reference}", callback, methods=["PUT", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def serve_baseline(port: int) -> None:
    import uvicorn

    # Same server as `alafia serve` (one process, uvloop/httptools), minus the access log.
    uvicorn.run(
        baseline_app,
        factory=True,
        host=HOST,
        port=port,
        workers=1,
        access_log=False,
        log_level="warning",
    )


# ------------------------------------------------------------------------------ database


def libpq_url(url: str) -> str:
    """SQLAlchemy spells it postgresql+psycopg://; libpq only knows postgresql://."""
    scheme, separator, rest = url.partition("://")
    if not separator or not scheme.startswith("postgres"):
        raise RuntimeError(f"not a PostgreSQL URL: {url!r}")
    return f"postgresql://{rest}"


def database_name(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(libpq_url(url)).get("dbname") or "")


def reset_database(url: str) -> str:
    """Create the database if missing and empty its schema; returns the server version."""
    name = database_name(url)
    if not DATABASE_NAMES.match(name):
        raise RuntimeError(
            f"refusing to wipe database {name!r}: its name must start with {DATABASE_PREFIX!r}"
        )
    conninfo = libpq_url(url)
    with psycopg.connect(conninfo, dbname="postgres", autocommit=True, connect_timeout=5) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as connection:
        # A leftover session from an interrupted run must not hang the reset forever.
        connection.execute("SET lock_timeout = '10s'")
        connection.execute("DROP SCHEMA IF EXISTS public CASCADE")
        connection.execute("CREATE SCHEMA public")
        version = connection.execute("SHOW server_version").fetchone()
    return str(version[0]) if version else "?"


def create_baseline_table(url: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        # The shape of payment_notices, index included: the same kind of write.
        connection.execute(
            f"CREATE TABLE {BASELINE_TABLE} (id bigserial PRIMARY KEY, reference varchar(36),"
            " provider varchar(16) NOT NULL, source varchar(16) NOT NULL, body text NOT NULL,"
            " outcome varchar(40) NOT NULL, received_at timestamptz NOT NULL DEFAULT now())"
        )
        connection.execute(f"CREATE INDEX ON {BASELINE_TABLE} (reference)")


@dataclass(frozen=True)
class Seeded:
    reference: str
    household_id: int
    phone: str

    def callback_body(self) -> bytes:
        # What MTN sends: the status body, without our reference and without a signature.
        return json.dumps(
            {
                "amount": str(AMOUNT),
                "currency": CURRENCY,
                "financialTransactionId": str(2_000_000_000 + self.household_id),
                "externalId": str(self.household_id),
                "payer": {"partyIdType": "MSISDN", "partyId": self.phone.removeprefix("+")},
                "payerMessage": "Cotisation mutuelle de sante",
                "payeeNote": str(self.household_id),
                "status": "SUCCESSFUL",
            },
            separators=(",", ":"),
        ).encode()


def seed(url: str, count: int, timezone: str) -> list[Seeded]:
    """Households, members, periods and submitted MoMo payments, in bulk, with explicit ids
    (the schema was just reset) so that rows can name each other without reading back."""
    from sqlalchemy import insert, select, text

    from db import models
    from db.engine import create_engine_sync
    from menus.identifiers import member_number

    now = datetime.now(ZoneInfo(timezone))
    today = now.date()
    engine = create_engine_sync(url)
    try:
        with engine.begin() as connection:
            mutual_id = connection.execute(
                select(models.SchemeUnit.id)
                .where(models.SchemeUnit.level == "mutual")
                .order_by(models.SchemeUnit.id)
                .limit(1)
            ).scalar_one()
            product = connection.execute(
                select(models.Product).order_by(models.Product.id).limit(1)
            ).one()
            ids = range(1, count + 1)
            phones = {i: f"+2290197{i:06d}" for i in ids}  # valid MTN Benin numbers
            connection.execute(
                insert(models.Household),
                [
                    {
                        "id": i,
                        "mutual_id": mutual_id,
                        "product_id": product.id,
                        "phone": phones[i],
                        "language": "fr",
                        "channel": "ussd",
                        "request_key": f"bench:{i}",
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
            connection.execute(
                insert(models.Member),
                [
                    {
                        "id": i,
                        "member_no": member_number(i),
                        "household_id": i,
                        "last_name": "BENCH",
                        "first_names": "Afi",
                        "sex": "F",
                        "birth_date": date(1990, 1, 1),
                        "birth_year": 1990,
                        "birth_year_only": False,
                        "relationship_to_head": "head",
                        "phone": phones[i],
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
            connection.execute(
                insert(models.CoveragePeriod),
                [
                    {
                        "id": i,
                        "household_id": i,
                        "product_id": product.id,
                        "starts_on": today,
                        "persons": 1,
                        "premium_due": AMOUNT,
                        "amount_paid": 0,
                        "sponsor_share": 0,
                        "sponsor_paid": 0,
                        "waits_for_sponsor": False,
                        "waiting_days": product.waiting_days,
                        "cover_months": product.cover_months,
                        "grace_days": product.grace_days,
                        "status": "pending_payment",
                    }
                    for i in ids
                ],
            )
            seeded = [Seeded(str(uuid.uuid4()), i, phones[i]) for i in ids]
            connection.execute(
                insert(models.Payment),
                [
                    {
                        "reference": s.reference,
                        "household_id": s.household_id,
                        "period_id": s.household_id,
                        "provider": "momo",
                        "operator": "mtn",
                        "payer_phone": s.phone,
                        "amount": AMOUNT,
                        "currency": CURRENCY,
                        "status": "pending",
                        "channel": "ussd",
                        "created_at": now,
                        "submitted_at": now,
                        # Not due for a day: the worker acts only once a callback arrives.
                        "next_check_at": now + timedelta(days=1),
                        "checks": 0,
                    }
                    for s in seeded
                ],
            )
            for table in ("households", "members", "coverage_periods"):
                # Explicit ids leave the sequences behind; later inserts must not collide.
                connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n)"),
                    {"n": count},
                )
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE")  # fresh statistics, as a live database would have
            )
    finally:
        engine.dispose()
    return seeded


def count_final(connection: psycopg.Connection[Any]) -> int:
    row = connection.execute(
        "SELECT count(*) FROM payments WHERE status = ANY(%s)", (list(FINAL),)
    ).fetchone()
    return int(row[0]) if row else 0


def verify(url: str, count: int, copies: int) -> dict[str, Any]:
    """What the ledger says after the run: the issue's "zero double credits", and more."""
    with psycopg.connect(libpq_url(url)) as connection:
        statuses: dict[str, int] = dict(
            connection.execute("SELECT status, count(*) FROM payments GROUP BY status").fetchall()
        )
        credited, paid_in_full = connection.execute(
            "SELECT coalesce(sum(amount_paid), 0), count(paid_in_full_on) FROM coverage_periods"
        ).fetchone() or (0, 0)
        # Each period against its succeeded payments: more is a double credit, less is
        # money received but not recorded.
        over_periods, over_amount, under_periods = connection.execute(
            """
            SELECT count(*) FILTER (WHERE c.amount_paid > coalesce(s.paid, 0)),
                   coalesce(sum(c.amount_paid - coalesce(s.paid, 0))
                            FILTER (WHERE c.amount_paid > coalesce(s.paid, 0)), 0),
                   count(*) FILTER (WHERE c.amount_paid < coalesce(s.paid, 0))
            FROM coverage_periods c
            LEFT JOIN (SELECT period_id, sum(amount) AS paid FROM payments
                       WHERE status = 'succeeded' GROUP BY period_id) s ON s.period_id = c.id
            """
        ).fetchone() or (0, 0, 0)
        receipts, distinct_receipts = connection.execute(
            "SELECT count(*), count(DISTINCT payment_reference) FROM messages"
            " WHERE purpose = 'receipt'"
        ).fetchone() or (0, 0)
        notices: dict[str, int] = dict(
            connection.execute(
                "SELECT outcome, count(*) FROM payment_notices GROUP BY outcome"
            ).fetchall()
        )
        kept = connection.execute(
            "SELECT count(*) FROM payment_notices n JOIN payments p ON p.reference = n.reference"
        ).fetchone()
    succeeded = int(statuses.get("succeeded", 0))
    double_credits = int(over_amount) // AMOUNT
    kept_callbacks = int(kept[0]) if kept else 0
    checks = {
        "every payment succeeded": succeeded == count and sum(statuses.values()) == count,
        f"money credited == payments x {AMOUNT}": int(credited) == count * AMOUNT,
        "zero double credits": int(over_amount) == 0,
        "no money received but not recorded": int(under_periods) == 0,
        "one receipt per payment": int(receipts) == count and int(distinct_receipts) == count,
        "every callback kept": kept_callbacks == count * copies,
    }
    return {
        "payment_statuses": {str(k): int(v) for k, v in statuses.items()},
        "credited_xof": int(credited),
        "expected_xof": count * AMOUNT,
        "double_credits": double_credits,
        "double_credited_periods": int(over_periods),
        "under_credited_periods": int(under_periods),
        "periods_paid_in_full": int(paid_in_full),
        "receipts": int(receipts),
        "distinct_receipts": int(distinct_receipts),
        "callbacks_kept": kept_callbacks,
        "notices_by_outcome": {str(k): int(v) for k, v in notices.items()},
        "checks": checks,
        "ok": all(checks.values()),
    }


# ----------------------------------------------------------------------------- processes


def local_redis_answers() -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        try:
            probe.connect(LOCAL_REDIS)
            probe.sendall(b"PING\r\n")
            return probe.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log_problems(self) -> int:
        """ERROR lines and tracebacks: the servers run at WARNING, so these stand out."""
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return 0
        return sum(1 for line in text.splitlines() if " ERROR " in line or "Traceback" in line)


def start(name: str, command: list[str], env: dict[str, str], log_path: Path) -> Proc:
    with log_path.open("wb") as log:
        # Own session: a Ctrl-C reaches only this script, which then stops everything in
        # order instead of the servers dying mid-request under the load.
        process = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Proc(name, process, log_path)


def stop(proc: Proc) -> None:
    if proc.process.poll() is not None:
        return
    proc.process.terminate()  # uvicorn and `alafia worker` stop cleanly on SIGTERM
    try:
        proc.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.process.kill()
        proc.process.wait(timeout=10)


async def wait_ready(proc: Proc, url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        while time.monotonic() < deadline:
            if proc.process.poll() is not None:
                raise RuntimeError(
                    f"{proc.name} exited with {proc.process.returncode}:\n{proc.log_tail()}"
                )
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{proc.name} not ready after {timeout:.0f} s:\n{proc.log_tail()}")


def postgres_pids() -> list[int]:
    # The server and its backends (one per connection); readable without privileges.
    return [
        p.pid
        for p in psutil.process_iter(["name"])
        if (p.info.get("name") or "").startswith(("postgres", "postmaster"))
    ]


def family(pid: int) -> list[int]:
    """A process and its children: uvicorn's worker processes, an embedded Redis."""
    try:
        return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    except psutil.Error:
        return [pid]


def cpu_snapshot(groups: dict[str, Iterable[int]]) -> dict[str, dict[int, float]]:
    snapshot: dict[str, dict[int, float]] = {}
    for name, pids in groups.items():
        snapshot[name] = {}
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                snapshot[name][pid] = float(times.user + times.system)
    return snapshot


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used (all cores, idle excluded)."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def cpu_used(
    before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]
) -> dict[str, float]:
    """CPU seconds per group between two snapshots. A process that ended in between is
    lost (PostgreSQL backends live as long as their pooled connection, here the run)."""
    return {
        name: sum(cpu - before.get(name, {}).get(pid, 0.0) for pid, cpu in pids.items())
        for name, pids in after.items()
    }


# --------------------------------------------------------------------------------- load

Call = tuple[str, str, bytes]  # method, reference, body


def callback_order(
    payments: Sequence[Seeded], copies: int, window: int, together: bool, rng: random.Random
) -> list[Call]:
    """Every payment's callback `copies` times, PUT and POST mixed.

    `together`: a payment's copies are laid side by side and then shuffled within windows
    of `window` requests (the connections), so they are in flight at the same time, race
    for the payment's row and arrive in any order; otherwise all copies are shuffled
    across the whole run (duplicates spread out, as retries hours apart would be).
    """
    shuffled = list(payments)
    rng.shuffle(shuffled)
    calls: list[Call] = []
    for index, payment in enumerate(shuffled):
        body = payment.callback_body()
        for copy in range(copies):
            calls.append(("PUT" if (index + copy) % 2 == 0 else "POST", payment.reference, body))
    if not together:
        rng.shuffle(calls)
        return calls
    for start_at in range(0, len(calls), window):
        chunk = calls[start_at : start_at + window]
        rng.shuffle(chunk)
        calls[start_at : start_at + window] = chunk
    return calls


@dataclass
class Load:
    """What the sender saw during one phase-A run against one target."""

    target: str
    sent: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: int = 0  # no HTTP answer at all (timeout, connection reset)
    unsent: int = 0  # left when the phase deadline passed
    error_samples: list[str] = field(default_factory=list)
    cpu_s: dict[str, float] = field(default_factory=dict)

    def problem(self, text: str) -> None:
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(text[:200])

    @property
    def not_ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200) + self.failures


async def send_all(
    base_url: str,
    target: str,
    calls: Sequence[Call],
    connections: int,
    deadline_s: float,
    cpu_groups: Callable[[], dict[str, Iterable[int]]] | None = None,
) -> Load:
    """Closed loop: `connections` senders, each sending the next call as soon as its last
    one is answered. Throughput is capacity; latency is mostly queueing."""
    load = Load(target=target)
    calls_left = iter(calls)
    clock = time.perf_counter
    headers = {"Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        stop_at = clock() + deadline_s

        async def sender() -> None:
            for method, reference, body in calls_left:  # one shared iterator: each call once
                if clock() >= stop_at:
                    load.unsent += 1
                    continue
                url = f"{base_url}/payments/momo/callback/{reference}"
                started = clock()
                try:
                    async with http.request(method, url, data=body, headers=headers) as response:
                        status = response.status
                        reply = await response.read()
                except (aiohttp.ClientError, TimeoutError, OSError) as error:
                    load.failures += 1
                    load.problem(f"{method} {reference}: {type(error).__name__}: {error}")
                    continue
                load.latencies_ms.append((clock() - started) * 1000)
                load.statuses[status] += 1
                load.sent += 1
                if status != 200:
                    load.problem(f"{method} {reference}: HTTP {status}: {reply[:120]!r}")

        before = cpu_snapshot(cpu_groups()) if cpu_groups else {}
        cpu_client, cpu_machine = time.process_time(), machine_busy_seconds()
        began = clock()
        tasks = [asyncio.create_task(sender()) for _ in range(connections)]
        try:
            await asyncio.gather(*tasks)
        finally:
            # Also on Ctrl-C: no sender may outlive the client session it uses.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        load.seconds = clock() - began
        if cpu_groups:
            load.cpu_s = cpu_used(before, cpu_snapshot(cpu_groups()))
        load.cpu_s["client"] = time.process_time() - cpu_client
        # What nobody in this benchmark used: another job on the machine skews the figures.
        load.cpu_s["others"] = max(
            0.0, machine_busy_seconds() - cpu_machine - sum(load.cpu_s.values())
        )
    return load


def summarise(load: Load) -> dict[str, Any]:
    latencies = sorted(load.latencies_ms)
    answered = len(latencies)
    per_s = answered / load.seconds if load.seconds else 0.0
    return {
        "callbacks": answered,
        "seconds": round(load.seconds, 3),
        "callbacks_per_s": round(per_s, 1),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "statuses": {str(k): v for k, v in sorted(load.statuses.items())},
        "non_200": load.not_ok,
        "unsent": load.unsent,
        # CPU seconds per wall second (1.0 = one core busy): who the bottleneck is.
        "cpu_share": {k: round(v / load.seconds, 2) for k, v in load.cpu_s.items()}
        if load.seconds
        else {},
        "server_cpu_us_per_callback": round(1e6 * load.cpu_s.get("server", 0.0) / answered)
        if answered
        else None,
        "error_samples": load.error_samples,
    }


def confirm_all(
    database_url: str, count: int, workers: Sequence[Proc], timeout: float, peer: Proc
) -> dict[str, Any]:
    """Phase B: poll the ledger every 0.5 s until every payment is final or time is up."""
    began = time.perf_counter()
    first_at: float | None = None
    first_final = 0
    cpu_first: dict[str, dict[int, float]] = {}

    def groups() -> dict[str, Iterable[int]]:
        return {
            "workers": [w.process.pid for w in workers],
            "peer": [peer.process.pid],
            "postgres": postgres_pids(),
        }

    final = 0
    with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
        while True:
            final = count_final(connection)
            now = time.perf_counter()
            if first_at is None and final > 0:
                # From here on the workers are up: the steady rate leaves start-up out.
                first_at, first_final, cpu_first = now, final, cpu_snapshot(groups())
            if final >= count or now - began >= timeout:
                break
            if all(w.process.poll() is not None for w in workers):
                raise RuntimeError(f"every worker exited:\n{workers[0].log_tail()}")
            time.sleep(0.5)
    done_at = time.perf_counter()
    cpu = cpu_used(cpu_first, cpu_snapshot(groups())) if cpu_first else {}
    elapsed = done_at - began
    steady = done_at - first_at if first_at is not None else 0.0
    confirmed_steady = final - first_final
    return {
        "final": final,
        "all_final": final >= count,
        "seconds": round(elapsed, 2),
        "confirmations_per_s": round(final / elapsed, 1) if elapsed else 0.0,
        "startup_s": round(first_at - began, 2) if first_at is not None else None,
        "steady_seconds": round(steady, 2),
        "steady_confirmations_per_s": round(confirmed_steady / steady, 1) if steady else None,
        "cpu_share": {k: round(v / steady, 2) for k, v in cpu.items()} if steady else {},
        "worker_cpu_us_per_confirmation": round(1e6 * cpu.get("workers", 0.0) / confirmed_steady)
        if confirmed_steady
        else None,
    }


# --------------------------------------------------------------------------------- run


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="MoMo callbacks per second on PostgreSQL, duplicates included, "
        "against a one-INSERT baseline; then confirmation by workers and a ledger check"
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"PostgreSQL; the database name must start with {DATABASE_PREFIX!r} "
        "(it is created if missing and its schema is wiped)",
    )
    parser.add_argument("--payments", type=bounded(1, 100_000, int), default=2000)
    parser.add_argument(
        "--copies", type=bounded(1, 10, int), default=3, help="callbacks sent per payment"
    )
    parser.add_argument("--connections", type=bounded(1, 1024, int), default=64)
    parser.add_argument(
        "--workers", type=bounded(1, 16, int), default=2, help="`alafia worker` processes"
    )
    parser.add_argument(
        "--gateway-processes",
        type=bounded(1, 16, int),
        default=1,
        help="`alafia serve --workers N`: uvicorn processes of the gateway (default 1)",
    )
    parser.add_argument(
        "--status-rate",
        type=bounded(1, 1000, int),
        help="PAYMENT_STATUS_RATE for the workers: status calls per second per worker "
        "(default: the gateway's own, under MTN's limit of about 150/s)",
    )
    parser.add_argument(
        "--duplicates",
        choices=("together", "apart"),
        default="together",
        help="copies of a payment in flight together (default) or spread over the run",
    )
    parser.add_argument(
        "--warmup",
        type=bounded(0, 10_000, int),
        default=256,
        help="unmeasured callbacks (for unknown references) sent to each target first",
    )
    parser.add_argument(
        "--phase-timeout",
        type=bounded(10, 3600),
        default=300.0,
        help="seconds allowed for each load and for the confirmation phase",
    )
    parser.add_argument(
        "--redis-url",
        help=f"default: {LOCAL_REDIS_URL} when a Redis answers there, else embedded ones",
    )
    parser.add_argument("--log-level", default="WARNING", help="LOG_LEVEL of the gateway")
    parser.add_argument("--seed", type=int, default=1, help="of the callbacks' shuffle")
    parser.add_argument(
        "--keep-logs", type=Path, metavar="DIR", help="copy the processes' logs to DIR"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def warmup_calls(count: int) -> list[Call]:
    # References nobody issued: the gateway answers 404 after the same UPDATE and INSERT,
    # which opens its pooled connections; these notices are left out of the checks.
    body = Seeded(str(uuid.uuid4()), 0, "+2290197000000").callback_body()
    return [("PUT" if i % 2 else "POST", str(uuid.uuid4()), body) for i in range(count)]


async def intake(
    args: argparse.Namespace,
    procs: dict[str, Proc],
    urls: dict[str, str],
    calls: list[Call],
) -> dict[str, Load]:
    """Phase A on the gateway, then on the baseline, each after a warm-up."""
    await wait_ready(procs["peer"], f"{urls['peer']}/stats")
    await wait_ready(procs["gateway"], f"{urls['gateway']}/readyz")
    await wait_ready(procs["baseline"], f"{urls['baseline']}/healthz")
    loads: dict[str, Load] = {}
    for target in ("gateway", "baseline"):
        if args.warmup:
            warm = await send_all(
                urls[target], target, warmup_calls(args.warmup), args.connections, 60.0
            )
            expected = 404 if target == "gateway" else 200
            if warm.statuses.get(expected, 0) != args.warmup:
                raise RuntimeError(
                    f"{target} warm-up: expected {args.warmup} x HTTP {expected}, got "
                    f"{dict(warm.statuses)}, {warm.failures} failures; {warm.error_samples}"
                )
        pid = procs[target].process.pid

        def groups(pid: int = pid) -> dict[str, Iterable[int]]:
            return {"server": family(pid), "postgres": postgres_pids()}

        loads[target] = await send_all(
            urls[target], target, calls, args.connections, args.phase_timeout, groups
        )
        load = loads[target]
        progress(
            f"phase A {target}: {len(load.latencies_ms)} callbacks in {load.seconds:.2f} s, "
            f"{len(load.latencies_ms) / load.seconds:.0f}/s, {load.not_ok} not 200"
        )
    return loads


def peer_stats(url: str) -> dict[str, Any]:
    async def fetch() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
            http.get(f"{url}/stats") as response,
        ):
            return dict(await response.json())

    return asyncio.run(fetch())


def environment(
    args: argparse.Namespace, workdir: Path, redis_url: str | None, ports: dict[str, int]
) -> dict[str, str]:
    env = {
        **os.environ,
        "ALAFIA_DATA_DIR": str(workdir / "data"),
        "DATABASE_URL": args.database_url,
        "LOG_LEVEL": args.log_level,
        "PAYMENT_PROVIDER": "momo",
        "MOMO_BASE_URL": f"http://{HOST}:{ports['peer']}",
        "MOMO_SUBSCRIPTION_KEY": "bench-subscription-key",
        "MOMO_API_USER": str(uuid.uuid4()),
        "MOMO_API_KEY": "bench-api-key",
        "MOMO_TARGET_ENVIRONMENT": "mtnbenin",
        "MOMO_CURRENCY": CURRENCY,
        "PUBLIC_BASE_URL": f"http://{HOST}:{ports['gateway']}",
        # `serve` refuses a loopback canonical FHIR base: the bench names one of its own.
        "FHIR_CANONICAL_BASE": os.environ.get("FHIR_CANONICAL_BASE", "https://bench.invalid/fhir"),
        "STATUS_PEER_AMOUNT": str(AMOUNT),
        "STATUS_PEER_CURRENCY": CURRENCY,
    }
    # Only MoMo here, whatever the calling shell configures.
    for name in ("FEDAPAY_BASE_URL", "REDIS_URL"):
        env.pop(name, None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    if args.status_rate is not None:
        env["PAYMENT_STATUS_RATE"] = str(args.status_rate)
    return env


def run(args: argparse.Namespace, workdir: Path, procs: dict[str, Proc]) -> dict[str, Any]:
    from gateway.settings import Settings

    redis_url = args.redis_url or (LOCAL_REDIS_URL if local_redis_answers() else None)
    ports = {name: free_port() for name in ("peer", "gateway", "baseline")}
    urls = {name: f"http://{HOST}:{port}" for name, port in ports.items()}
    env = environment(args, workdir, redis_url, ports)

    progress(f"preparing database {database_name(args.database_url)!r}")
    server_version = reset_database(args.database_url)
    with (workdir / "setup.log").open("w") as setup_log:
        run_cli(["db", "upgrade"], env, setup_log)
        run_cli(["scheme", "load", str(DEMO_SCHEME)], env, setup_log)
    create_baseline_table(args.database_url)
    settings = Settings.from_env(env)
    # The workers pace their status calls (None: a gateway that does not): a cap on phase B.
    status_rate = getattr(settings.payments, "status_calls_per_second", None)
    started = time.perf_counter()
    payments = seed(args.database_url, args.payments, settings.timezone)
    progress(f"seeded {len(payments)} payments in {time.perf_counter() - started:.1f} s")

    calls = callback_order(
        payments,
        args.copies,
        args.connections,
        args.duplicates == "together",
        random.Random(args.seed),
    )
    python = sys.executable
    procs["peer"] = start(
        "peer",
        [python, str(STATUS_PEER), "--host", HOST, "--port", str(ports["peer"])],
        env,
        workdir / "peer.log",
    )
    serve = ["serve", "--host", HOST, "--port", str(ports["gateway"])]
    # `alafia serve` itself: the production server path, one uvicorn process by default.
    procs["gateway"] = start(
        "gateway",
        [python, "-m", "gateway", *serve, "--workers", str(args.gateway_processes)],
        env,
        workdir / "gateway.log",
    )
    procs["baseline"] = start(
        "baseline",
        [python, str(Path(__file__).resolve()), "--serve-baseline", str(ports["baseline"])],
        env,
        workdir / "baseline.log",
    )
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        loads = runner.run(intake(args, procs, urls, calls))
    stop(procs.pop("baseline"))  # idle from here on; its connections go with it

    progress(f"phase B: {args.workers} worker(s) confirming {args.payments} payments")
    workers = [
        start(f"worker-{n}", [python, "-m", "gateway", "worker"], env, workdir / f"worker-{n}.log")
        for n in range(1, args.workers + 1)
    ]
    for worker in workers:
        procs[worker.name] = worker
    confirmation = confirm_all(
        args.database_url, args.payments, workers, args.phase_timeout, procs["peer"]
    )
    for worker in workers:
        stop(procs.pop(worker.name))
    progress(
        f"phase B: {confirmation['final']} final in {confirmation['seconds']} s "
        f"({confirmation['confirmations_per_s']}/s)"
    )
    peer = peer_stats(urls["peer"])
    ledger = verify(args.database_url, args.payments, args.copies)
    log_problems = {name: p.log_problems() for name, p in procs.items()}
    log_problems.update({w.name: w.log_problems() for w in workers})

    gateway, baseline = summarise(loads["gateway"]), summarise(loads["baseline"])
    ratio = (
        gateway["callbacks_per_s"] / baseline["callbacks_per_s"]
        if baseline["callbacks_per_s"]
        else 0.0
    )
    refused = gateway["non_200"] + gateway["unsent"]
    return {
        "config": {
            "payments": args.payments,
            "copies": args.copies,
            "callbacks": len(calls),
            "connections": args.connections,
            "workers": args.workers,
            "gateway_processes": args.gateway_processes,
            "status_calls_per_s_per_worker": status_rate,
            "duplicates": args.duplicates,
            "warmup": args.warmup,
            "database": database_name(args.database_url),
            "postgresql": server_version,
            "redis": redis_url or "embedded",
            "gateway_log_level": args.log_level,
            "cpus": os.cpu_count(),
        },
        "intake": {"gateway": gateway, "baseline": baseline},
        "gateway_to_baseline_ratio": round(ratio, 3),
        "confirmation": confirmation,
        "status_peer": peer,
        "ledger": ledger,
        "log_problems": log_problems,
        "target": {
            "callbacks_per_s": TARGET_CALLBACKS_PER_S,
            "measured": gateway["callbacks_per_s"],
            "met": gateway["callbacks_per_s"] >= TARGET_CALLBACKS_PER_S,
        },
        "ok": ledger["ok"] and refused == 0 and confirmation["all_final"],
    }


def report(doc: dict[str, Any], out: TextIO) -> None:
    config = doc["config"]
    print(
        f"\nMoMo callbacks: {config['payments']} payments x {config['copies']} copies = "
        f"{config['callbacks']} callbacks, {config['connections']} connections, "
        f"{config['gateway_processes']} gateway process(es), duplicates "
        f"{config['duplicates']}; PostgreSQL {config['postgresql']}, {config['cpus']} CPU(s), "
        "load generator on the same machine",
        file=out,
    )
    print("\nPhase A, intake (closed loop; latency is mostly queueing)", file=out)
    header = (
        f"{'target':<9} {'callbacks/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'not 200':>8} {'srv µs/cb':>10} {'srv CPU':>8} {'PG CPU':>7} {'cli CPU':>8} "
        f"{'others':>7}"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    for target, s in doc["intake"].items():
        share = s["cpu_share"]
        print(
            f"{target:<9} {s['callbacks_per_s']:>11.0f} {s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f} "
            f"{s['max_ms'] or 0:>8.1f} {s['non_200'] + s['unsent']:>8} "
            f"{s['server_cpu_us_per_callback'] or 0:>10} {share.get('server', 0):>8.0%} "
            f"{share.get('postgres', 0):>7.0%} {share.get('client', 0):>8.0%} "
            f"{share.get('others', 0):>7.0%}",
            file=out,
        )
        for sample in s["error_samples"]:
            print(f"{'':<10}error: {sample}", file=out)
    print(f"gateway / baseline callbacks/s: x{doc['gateway_to_baseline_ratio']:.2f}", file=out)
    print(
        "(CPU: seconds per second, 100% = one core; PG = the PostgreSQL processes; others = the\n"
        " rest of the machine: kernel, short-lived processes, other jobs. µs/cb is the steadiest\n"
        " figure when the machine is shared)",
        file=out,
    )
    busy = [t for t, s in doc["intake"].items() if s["cpu_share"].get("others", 0) > BUSY_OTHERS]
    if busy:
        print(
            f"warning: other work used the machine during the {' and '.join(busy)} load: "
            "callbacks/s are low; rerun on a quiet machine",
            file=out,
        )

    c, peer = doc["confirmation"], doc["status_peer"]
    print(
        f"\nPhase B, confirmation ({config['workers']} `alafia worker` processes, "
        "one status GET to the peer and one credit per payment)",
        file=out,
    )
    print(
        f"  {c['final']} of {config['payments']} payments final in {c['seconds']} s "
        f"(start-up {c['startup_s']} s included): {c['confirmations_per_s']} confirmations/s; "
        f"steady {c['steady_confirmations_per_s']}/s",
        file=out,
    )
    rate = config["status_calls_per_s_per_worker"]
    if rate is not None:
        print(
            f"  paced by the workers at {rate} status calls/s each (PAYMENT_STATUS_RATE): "
            f"at most {rate * config['workers']} confirmations/s with {config['workers']}",
            file=out,
        )
    share = c["cpu_share"]
    print(
        f"  steady CPU: workers {share.get('workers', 0):.0%}, PG {share.get('postgres', 0):.0%},"
        f" peer {share.get('peer', 0):.0%}; {c['worker_cpu_us_per_confirmation']} worker µs"
        " per confirmation",
        file=out,
    )
    asked = peer.get("status", 0)
    print(
        f"  status GETs answered by the peer: {asked} for {peer.get('distinct_references', 0)} "
        f"references ({asked / config['payments']:.2f} per payment), "
        f"tokens {peer.get('token', 0)}, requests to pay {peer.get('request_to_pay', 0)}",
        file=out,
    )

    ledger = doc["ledger"]
    print("\nLedger", file=out)
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(ledger["payment_statuses"].items()))
    print(f"  payments: {statuses}", file=out)
    print(
        f"  credited {ledger['credited_xof']:,} XOF, expected {ledger['expected_xof']:,} "
        f"({config['payments']} x {AMOUNT}); periods paid in full {ledger['periods_paid_in_full']}",
        file=out,
    )
    print(f"  double credits: {ledger['double_credits']}", file=out)
    print(f"  money received but not recorded: {ledger['under_credited_periods']}", file=out)
    print(
        f"  receipts queued: {ledger['receipts']} ({ledger['distinct_receipts']} distinct); "
        f"callbacks kept: {ledger['callbacks_kept']} of {config['callbacks']}",
        file=out,
    )
    for check, passed in ledger["checks"].items():
        print(f"  {'ok  ' if passed else 'FAIL'} {check}", file=out)
    problems = ", ".join(f"{k} {v}" for k, v in doc["log_problems"].items())
    print(f"  ERROR lines in logs: {problems}", file=out)

    target = doc["target"]
    print(
        f"\nTarget from the issue: >= {target['callbacks_per_s']:.0f} callbacks/s on PostgreSQL, "
        f"zero double credits: {target['measured']:.0f} callbacks/s "
        f"{'met' if target['met'] else 'NOT MET'}; double credits {ledger['double_credits']}",
        file=out,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_baseline is not None:
        serve_baseline(args.serve_baseline)
        return 0
    return run_bench(args, "alafia-callbacks-bench-", run, report, stop, (psycopg.Error,))


if __name__ == "__main__":
    sys.exit(main())
