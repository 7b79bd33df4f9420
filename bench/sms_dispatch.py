"""SMS dispatch benchmark: messages sent per second from the outbox to a local Africa's
Talking API by `alafia worker` processes on PostgreSQL, against the bare SDK, and proof
that no message left twice or went missing.

    python bench/sms_dispatch.py [--database-url postgresql://postgres@127.0.0.1:5432/alafia_bench_sms]
                                 [--messages 6000] [--workers 2] [--sms-rate 1000]
                                 [--concurrency 8] [--same-text] [--json]

What it does, all on 127.0.0.1:
1. creates the database if missing and resets its `public` schema (only a database whose
   name starts with `alafia_bench`), then `alafia db upgrade` and the demo scheme;
2. starts bench/at_sms_server.py (AT's POST /version1/messaging; it checks the username
   and apiKey, accepts every valid number with statusCode 101 and a unique messageId,
   and counts each (number, text) pair it accepted);
3. per scenario, seeds --messages queued messages in bulk, built by the gateway's own
   `Outbox.message` (text, encoding, segments), due a minute ago, each to its own Benin
   number (+22901970xxxxx):
   - "distinct", always: a payment receipt (purpose `receipt`, not quiet) with its own
     receipt number, so every message has its own text and is one API call: the worst case;
   - "same text", with --same-text: one campaign text (purpose `campaign`, quiet, so the
     dispatcher also looks for opt-outs; one `sms_campaigns` row), which the dispatcher
     groups 100 numbers to a call;
   the `messages` table is emptied before each scenario; in each, the baseline runs
   first, then the gateway;
4. baseline: --workers plain processes (this script, hidden mode) that send the same
   calls to the same server with the official SDK (`africastalking.SMS.SMSService`, its
   `_baseUrl` pointed at the server, as adapters/sms/africastalking.py does) from a
   thread pool of --concurrency threads each; no database at all;
5. gateway: --workers `alafia worker` processes (SMS_BACKEND=africastalking,
   AT_SMS_URL=the server, SMS_RATE=--sms-rate, SMS_CONCURRENCY=--concurrency), polled
   every 0.2 s until every message is `sent` (or can no longer be: refused, expired), or
   --timeout;
6. checks: sent == seeded, the server accepted == seeded, no (number, text) pair accepted
   twice, every provider_id present and distinct.

Figures. messages/s = messages / (end - start), from the moment the processes are
started, so the gateway's includes the workers' start-up (imports, engine, scheme) and
the baseline's its interpreter and SDK import; the end is the last `sent_at` (gateway)
or the end of the last call (baseline). The steady rate leaves start-up out: from the
first batch recorded to the last (`sent_at`, written when a batch is recorded), and from
the first call started to the last one answered for the baseline. The gateway/baseline
ratio prices the outbox (claim with SKIP LOCKED, group, record) on top of the bare SDK
calls, on the same machine, in the same run. CPU is given per message: the senders
(workers or baseline processes) once sending, and over their whole life ("with start"),
the server, and PostgreSQL; "others" is CPU nobody here used (other jobs on the machine,
autovacuum, the kernel's loopback work). SMS_RATE caps each worker (the dispatcher paces
every message, also those grouped in one call): at the default --sms-rate 1000 it is not
the limit for one text per message, it is for the grouped campaign.

The workers get REDIS_URL (default redis://127.0.0.1:6379/14) only so that they do not
start an embedded Redis: the worker's jobs (payments, SMS, reminders) never send a Redis
command, and its pool connects lazily. SMS_QUIET_HOURS is empty, so that a campaign run
at night is not held back; PAYMENT_PROVIDER is unset (the payments job finds nothing due).

Every process started here is stopped at the end, also on an error, Ctrl-C or SIGTERM.
Progress goes to stderr; the figures (or JSON with --json) to stdout. Exit status 1 when
a message was sent twice or lost (in the gateway or the baseline); missing the speed
target is reported, not an error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

from benchkit import (
    HOST,
    ROOT,
    bounded,
    free_port,
    percentile,
    progress,
    run_bench,
    run_cli,
)

if TYPE_CHECKING:
    from callbacks_load import Proc

# Heavy imports (psycopg, SQLAlchemy, the gateway, callbacks_load's helpers) are made in
# the functions that need them: the baseline senders run this file too, and should start
# as fast as a bare SDK script does.

DEMO_SCHEME = ROOT / "gateway" / "scheme" / "data" / "demo_scheme.yaml"
AT_SERVER = ROOT / "bench" / "at_sms_server.py"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/alafia_bench_sms"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
AT_USERNAME = "alafia-bench"
AT_API_KEY = "bench-at-api-key"
TARGET_MESSAGES_PER_S = 200.0  # from the SMS issue
POLL_S = 0.2
SDK_TIMEOUT = (3.05, 10.0)  # adapters.sms.africastalking.DEFAULT_TIMEOUT
ACCEPTED_CODES = (100, 101, 102)
MAX_ERROR_SAMPLES = 5
BUSY_OTHERS = 0.5  # CPU share used outside the benchmark above which figures are suspect

Call = tuple[str, list[str]]  # one text, the numbers it goes to

# ------------------------------------------------------------------------ baseline sender


def baseline_sender(spec_path: Path) -> int:
    """Hidden mode (--baseline-sender SPEC): send SPEC's calls with the official SDK from a
    thread pool, like the gateway's sender does, and write what happened next to SPEC."""
    spec = json.loads(spec_path.read_text("utf-8"))
    from africastalking.SMS import SMSService

    service: Any = SMSService(spec["username"], spec["api_key"])
    service._baseUrl = spec["base_url"].rstrip("/") + "/version1"

    def one(call: Call) -> tuple[float, float, int, str | None]:
        text, phones = call
        began = time.time()
        try:
            answer = service.send(text, phones, timeout=SDK_TIMEOUT)
            if isinstance(answer, str | bytes):
                answer = json.loads(answer)
            recipients = answer["SMSMessageData"]["Recipients"]
            accepted = sum(1 for r in recipients if r.get("statusCode") in ACCEPTED_CODES)
            error = None if accepted == len(phones) else f"{len(phones) - accepted} not accepted"
        except Exception as exc:  # reported, and the run fails its checks
            accepted, error = 0, f"{type(exc).__name__}: {str(exc)[:120]}"
        return began, time.time(), accepted, error

    cpu_ready = time.process_time()
    with ThreadPoolExecutor(spec["concurrency"], thread_name_prefix="at-sms") as pool:
        results = list(pool.map(one, [(text, phones) for text, phones in spec["calls"]]))
    latencies = sorted(1000 * (end - began) for began, end, _, _ in results)
    errors = [error for _, _, _, error in results if error]
    result = {
        "calls": len(results),
        "accepted": sum(accepted for _, _, accepted, _ in results),
        "first_call_at": min((began for began, _, _, _ in results), default=None),
        "last_answer_at": max((end for _, end, _, _ in results), default=None),
        "call_ms": latencies,
        "errors": len(errors),
        "error_samples": errors[:MAX_ERROR_SAMPLES],
        "cpu_s": time.process_time(),  # the whole process: interpreter, imports, calls
        "sending_cpu_s": time.process_time() - cpu_ready,
    }
    spec_path.with_suffix(".result.json").write_text(json.dumps(result), "utf-8")
    return 0


# ------------------------------------------------------------------------------ database


def seed(url: str, count: int, same_text: bool, timezone: str) -> list[Call]:
    """Queued messages in bulk, worded by the gateway's Outbox; returns the calls the
    dispatcher should make for them (grouped as `gateway.sms.dispatch._calls` does)."""
    from sqlalchemy import insert, select, text

    from db import models
    from db.engine import create_engine_sync
    from gateway.payments.ledger import receipt_number
    from gateway.sms.dispatch import PHONES_PER_CALL
    from gateway.sms.outbox import Outbox

    outbox = Outbox.standard("fr", timezone)
    now = datetime.now(ZoneInfo(timezone))
    due = now - timedelta(minutes=1)
    columns = [c.key for c in models.Message.__table__.columns if c.key != "id"]
    engine = create_engine_sync(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE messages, sms_campaigns RESTART IDENTITY CASCADE"))
            mutual_id, mutual_name = connection.execute(
                select(models.SchemeUnit.id, models.SchemeUnit.name)
                .where(models.SchemeUnit.level == "mutual")
                .order_by(models.SchemeUnit.id)
                .limit(1)
            ).one()
            campaign_id = None
            if same_text:
                campaign_id = connection.execute(
                    insert(models.SmsCampaign)
                    .values(
                        template="campaign_enrol",
                        mutual_id=mutual_id,
                        recipients=count,
                        requested_by="bench/sms_dispatch.py",
                        created_at=due,
                    )
                    .returning(models.SmsCampaign.id)
                ).scalar_one()
            rows: list[dict[str, Any]] = []
            for i in range(count):
                phone = f"+22901970{i:05d}"  # valid Benin numbers (MTN, 10 digits), distinct
                if same_text:
                    message = outbox.message(
                        phone=phone,
                        language="fr",
                        purpose="campaign",
                        template="campaign_enrol",
                        params={"mutual": mutual_name},
                        now=due,
                        dedupe_key=f"campaign:{campaign_id}:{phone}",
                        campaign_id=campaign_id,
                    )
                else:
                    # The payment reference starts with the counter, so that every receipt
                    # number (its first ten hex digits) is distinct: one text per message.
                    reference = str(uuid.UUID(f"{i:010x}{uuid.uuid4().hex[10:]}"))
                    message = outbox.message(
                        phone=phone,
                        language="fr",
                        purpose="receipt",
                        template="receipt",
                        params={
                            "receipt_no": receipt_number(reference, due.date()),
                            "amount": 1575,
                            "amount_due": 3150,
                            "paid_in_full": False,
                            "covered_from": None,
                            "covered_until": None,
                        },
                        now=due,
                        dedupe_key=f"receipt:{reference}",
                        payment_reference=reference,
                    )
                message.not_before = due  # a campaign would otherwise wait out quiet hours
                rows.append({column: getattr(message, column) for column in columns})
            connection.execute(insert(models.Message), rows)
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE messages")  # fresh statistics, as a live database would have
            )
    finally:
        engine.dispose()
    by_text: dict[str, list[str]] = {}
    for row in rows:
        by_text.setdefault(row["text"], []).append(row["phone"])
    return [
        (words, phones[start : start + PHONES_PER_CALL])
        for words, phones in by_text.items()
        for start in range(0, len(phones), PHONES_PER_CALL)
    ]


def outbox_counts(connection: Any) -> tuple[int, int]:
    """(sent, cannot be sent any more) right now."""
    row = connection.execute(
        "SELECT count(*) FILTER (WHERE status = 'sent'),"
        " count(*) FILTER (WHERE status IN ('refused', 'expired', 'cancelled')) FROM messages"
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def outbox_facts(connection: Any) -> dict[str, Any]:
    statuses = dict(
        connection.execute("SELECT status, count(*) FROM messages GROUP BY status").fetchall()
    )
    ids, distinct_ids = connection.execute(
        "SELECT count(provider_id), count(DISTINCT provider_id) FROM messages WHERE status = 'sent'"
    ).fetchone()
    first, last, batches = connection.execute(
        "SELECT extract(epoch FROM min(sent_at)), extract(epoch FROM max(sent_at)),"
        " count(DISTINCT sent_at) FROM messages WHERE status = 'sent'"
    ).fetchone()
    in_first = connection.execute(
        "SELECT count(*) FROM messages WHERE sent_at = (SELECT min(sent_at) FROM messages)"
    ).fetchone()[0]
    retried = connection.execute("SELECT count(*) FROM messages WHERE attempts > 1").fetchone()[0]
    reasons = dict(
        connection.execute(
            "SELECT reason, count(*) FROM messages WHERE reason IS NOT NULL GROUP BY reason"
            " ORDER BY count(*) DESC LIMIT 5"
        ).fetchall()
    )
    return {
        "statuses": {str(k): int(v) for k, v in statuses.items()},
        "provider_ids": int(ids),
        "distinct_provider_ids": int(distinct_ids),
        "first_sent_at": float(first) if first is not None else None,
        "last_sent_at": float(last) if last is not None else None,
        "batches_recorded": int(batches),
        "in_first_batch": int(in_first),
        "tried_more_than_once": int(retried),
        "reasons": {str(k): int(v) for k, v in reasons.items()},
    }


# ----------------------------------------------------------------------------- processes


def http_json(url: str, method: str = "GET") -> dict[str, Any]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=5) as response:
        return dict(json.loads(response.read()))


def wait_ready(proc: Proc, url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            raise RuntimeError(
                f"{proc.name} exited with {proc.process.returncode}:\n{proc.log_tail()}"
            )
        with contextlib.suppress(OSError, ValueError):
            http_json(url)
            return
        time.sleep(0.1)
    raise RuntimeError(f"{proc.name} not ready after {timeout:.0f} s:\n{proc.log_tail()}")


def lifetime_cpu(pids: Iterable[int]) -> float:
    """CPU seconds (user + system) the living processes have used since they started."""
    import psutil

    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += float(times.user + times.system)
    return total


def code_version() -> str:
    """The commit measured, and "+changes" when the product code differs from it (read
    only: no optional locks, so a git command of someone else never finds the index taken)."""
    try:
        git = ["git", "--no-optional-locks", "-C", str(ROOT)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        changed = subprocess.run(
            [*git, "status", "--porcelain", "--", "gateway", "adapters", "db", "menus"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return f"{head or '?'}{' +changes' if changed else ''}"


def kernel_seconds() -> dict[str, float]:
    import psutil

    times = psutil.cpu_times()
    return {k: float(getattr(times, k, 0.0)) for k in ("softirq", "irq", "steal")}


def environment(args: argparse.Namespace, workdir: Path, server_port: int) -> dict[str, str]:
    # Nothing from the calling shell may change what is measured: its SMS, AT, payment,
    # register, Redis and database settings are dropped, ours are set.
    dropped = ("SMS_", "AT_", "MOMO_", "FEDAPAY_", "PAYMENT_", "REGISTER_", "OPENIMIS_", "DCI_")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(dropped) and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        {
            "ALAFIA_DATA_DIR": str(workdir / "data"),
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "LOG_LEVEL": args.log_level,
            "SMS_BACKEND": "africastalking",
            "AT_USERNAME": AT_USERNAME,
            "AT_API_KEY": AT_API_KEY,
            "AT_CALLBACK_TOKEN": "bench-callback-token",
            "AT_SMS_URL": f"http://{HOST}:{server_port}",
            "SMS_RATE": str(args.sms_rate),
            "SMS_CONCURRENCY": str(args.concurrency),
            "SMS_QUIET_HOURS": "",
            # for bench/at_sms_server.py
            "AT_SMS_USERNAME": AT_USERNAME,
            "AT_SMS_API_KEY": AT_API_KEY,
        }
    )
    return env


# -------------------------------------------------------------------------------- phases


def run_baseline(
    args: argparse.Namespace,
    workdir: Path,
    env: dict[str, str],
    procs: dict[str, Proc],
    server: Proc,
    server_url: str,
    calls: list[Call],
    label: str,
) -> dict[str, Any]:
    from callbacks_load import start, stop

    messages = sum(len(phones) for _, phones in calls)
    specs = []
    for n in range(args.workers):
        spec = workdir / f"baseline-{label}-{n + 1}.json"
        spec.write_text(
            json.dumps(
                {
                    "base_url": server_url,
                    "username": AT_USERNAME,
                    "api_key": AT_API_KEY,
                    "concurrency": args.concurrency,
                    "calls": calls[n :: args.workers],
                }
            ),
            "utf-8",
        )
        specs.append(spec)
    server_cpu = lifetime_cpu([server.process.pid])
    started = time.time()
    senders = []
    for n, spec in enumerate(specs, 1):
        name = f"baseline-{label}-{n}"
        procs[name] = start(
            name,
            [sys.executable, str(Path(__file__).resolve()), "--baseline-sender", str(spec)],
            env,
            workdir / f"{name}.log",
        )
        senders.append(procs[name])
    deadline = time.monotonic() + args.timeout
    try:
        for sender in senders:
            sender.process.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"baseline not done after {args.timeout:.0f} s") from None
    finally:
        for sender in senders:
            stop(procs.pop(sender.name))
    done = time.time()
    server_cpu = lifetime_cpu([server.process.pid]) - server_cpu
    results = []
    for sender, spec in zip(senders, specs, strict=True):
        result_path = spec.with_suffix(".result.json")
        if sender.process.returncode != 0 or not result_path.exists():
            raise RuntimeError(
                f"{sender.name} failed ({sender.process.returncode}):\n{sender.log_tail()}"
            )
        results.append(json.loads(result_path.read_text("utf-8")))
    server_seen = http_json(f"{server_url}/reset", "POST")
    first = min(r["first_call_at"] for r in results if r["first_call_at"] is not None)
    last = max(r["last_answer_at"] for r in results if r["last_answer_at"] is not None)
    latencies = sorted(ms for r in results for ms in r["call_ms"])
    elapsed, steady = last - started, last - first
    sender_cpu = sum(r["cpu_s"] for r in results)
    sending_cpu = sum(r["sending_cpu_s"] for r in results)
    accepted = sum(r["accepted"] for r in results)
    return {
        "messages": messages,
        "calls": len(calls),
        "seconds": round(elapsed, 3),
        "messages_per_s": round(messages / elapsed, 1),
        "startup_s": round(first - started, 3),
        "steady_seconds": round(steady, 3),
        "steady_messages_per_s": round(messages / steady, 1) if steady > 0 else None,
        "call_p50_ms": round(percentile(latencies, 0.50), 2),
        "call_p99_ms": round(percentile(latencies, 0.99), 2),
        "accepted": accepted,
        "errors": sum(r["errors"] for r in results),
        "error_samples": [s for r in results for s in r["error_samples"]][:MAX_ERROR_SAMPLES],
        "cpu_us_per_message": {
            "senders": round(1e6 * sender_cpu / messages),
            "senders_steady": round(1e6 * sending_cpu / messages),  # imports left out
            "server": round(1e6 * server_cpu / messages),
        },
        "cpu_share": {
            "senders": round(sender_cpu / (done - started), 2),
            "server": round(server_cpu / (done - started), 2),
        },
        "server": server_seen,
    }


def run_gateway(
    args: argparse.Namespace,
    workdir: Path,
    env: dict[str, str],
    procs: dict[str, Proc],
    server: Proc,
    server_url: str,
    messages: int,
    label: str,
) -> dict[str, Any]:
    import psycopg
    from callbacks_load import (
        cpu_snapshot,
        cpu_used,
        libpq_url,
        machine_busy_seconds,
        postgres_pids,
        start,
        stop,
    )

    with psycopg.connect(libpq_url(args.database_url), autocommit=True) as connection:
        pg_before = cpu_snapshot({"postgres": postgres_pids()})
        server_cpu = lifetime_cpu([server.process.pid])
        machine_before = machine_busy_seconds()
        kernel_before, own_before = kernel_seconds(), time.process_time()
        started = time.time()
        workers = []
        for n in range(1, args.workers + 1):
            name = f"worker-{label}-{n}"
            procs[name] = start(
                name, [sys.executable, "-m", "gateway", "worker"], env, workdir / f"{name}.log"
            )
            workers.append(procs[name])
        sent = stuck = 0
        first_progress: tuple[int, float] | None = None  # (sent, workers' CPU) then
        next_report = time.monotonic() + 2.0
        deadline = time.monotonic() + args.timeout
        while True:
            sent, stuck = outbox_counts(connection)
            if first_progress is None and sent > 0:
                first_progress = (sent, lifetime_cpu(w.process.pid for w in workers))
            if sent + stuck >= messages or time.monotonic() >= deadline:
                break
            if all(w.process.poll() is not None for w in workers):
                raise RuntimeError(f"every worker exited:\n{workers[0].log_tail()}")
            if time.monotonic() >= next_report:
                progress(
                    f"  {label}: {sent} of {messages} sent after {time.time() - started:.0f} s"
                )
                next_report += 2.0
            time.sleep(POLL_S)
        polled = time.time()
        worker_cpu = lifetime_cpu(w.process.pid for w in workers)
        pg_cpu = cpu_used(pg_before, cpu_snapshot({"postgres": postgres_pids()}))["postgres"]
        server_cpu = lifetime_cpu([server.process.pid]) - server_cpu
        busy = machine_busy_seconds() - machine_before
        kernel = kernel_seconds()
        kernel = {k: v - kernel_before.get(k, 0.0) for k, v in kernel.items()}
        own_cpu = time.process_time() - own_before
        log_problems = {w.name: w.log_problems() for w in workers}
        for worker in workers:
            stop(procs.pop(worker.name))
        facts = outbox_facts(connection)
    server_seen = http_json(f"{server_url}/reset", "POST")
    last = facts["last_sent_at"] or polled
    elapsed = last - started
    first = facts["first_sent_at"]
    steady = last - first if first is not None else 0.0
    window = polled - started
    others = max(0.0, busy - worker_cpu - pg_cpu - server_cpu)
    steady_cpu = None
    if first_progress is not None and sent > first_progress[0]:
        steady_cpu = round(1e6 * (worker_cpu - first_progress[1]) / (sent - first_progress[0]))
    return {
        "messages": messages,
        "sent": sent,
        "seconds": round(elapsed, 3),
        "seconds_polled": round(window, 3),
        "messages_per_s": round(sent / elapsed, 1) if elapsed > 0 else 0.0,
        "first_batch_after_s": round(first - started, 3) if first is not None else None,
        "steady_seconds": round(steady, 3),
        # Messages recorded after the first batch, over the time since it was recorded.
        "steady_messages_per_s": round((sent - facts["in_first_batch"]) / steady, 1)
        if steady > 0
        else None,
        "cpu_us_per_message": {
            "workers": round(1e6 * worker_cpu / max(sent, 1)),
            # From the first messages seen sent: start-up (imports, engine) left out.
            "workers_steady": steady_cpu,
            "server": round(1e6 * server_cpu / max(sent, 1)),
            "postgres": round(1e6 * pg_cpu / max(sent, 1)),
        },
        "cpu_share": {
            "workers": round(worker_cpu / window, 2),
            "server": round(server_cpu / window, 2),
            "postgres": round(pg_cpu / window, 2),
            "others": round(others / window, 2),
        },
        # What "others" is made of: the kernel's network work on loopback (softirq), time
        # the hypervisor took (steal), this script (polling), the rest (other jobs).
        "others_detail": {
            **{k: round(v / window, 2) for k, v in kernel.items()},
            "this_script": round(own_cpu / window, 2),
        },
        "outbox": facts,
        "server": server_seen,
        "log_problems": log_problems,
    }


def checks_for(messages: int, gateway: dict[str, Any], baseline: dict[str, Any]) -> dict[str, bool]:
    outbox, server = gateway["outbox"], gateway["server"]
    return {
        "every message sent": outbox["statuses"].get("sent", 0) == messages
        and sum(outbox["statuses"].values()) == messages,
        "server accepted each message once": server["accepted"] == messages
        and server["distinct"] == messages,
        "zero duplicates": server["duplicates"] == 0 and server["extra_copies"] == 0,
        "every provider_id present and distinct": outbox["provider_ids"] == messages
        and outbox["distinct_provider_ids"] == messages,
        "baseline: every message accepted once": baseline["accepted"] == messages
        and baseline["server"]["accepted"] == messages
        and baseline["server"]["duplicates"] == 0,
    }


def run(args: argparse.Namespace, workdir: Path, procs: dict[str, Proc]) -> dict[str, Any]:
    from callbacks_load import database_name, reset_database, start

    from gateway.settings import Settings

    code = code_version()  # before anything runs: the tree may change under a long run
    port = free_port()
    server_url = f"http://{HOST}:{port}"
    env = environment(args, workdir, port)
    timezone = Settings.from_env(env).timezone

    progress(f"preparing database {database_name(args.database_url)!r}")
    server_version = reset_database(args.database_url)
    with (workdir / "setup.log").open("w") as setup_log:
        run_cli(["db", "upgrade"], env, setup_log)
        run_cli(["scheme", "load", str(DEMO_SCHEME)], env, setup_log)

    server = procs["server"] = start(
        "server",
        [sys.executable, str(AT_SERVER), "--host", HOST, "--port", str(port)],
        env,
        workdir / "server.log",
    )
    wait_ready(server, f"{server_url}/stats")

    scenarios: dict[str, Any] = {}
    wanted = [("distinct", False), ("same_text", True)] if args.same_text else [("distinct", False)]
    for label, same_text in wanted:
        began = time.perf_counter()
        calls = seed(args.database_url, args.messages, same_text, timezone)
        progress(
            f"{label}: seeded {args.messages} messages ({len(calls)} calls) in "
            f"{time.perf_counter() - began:.1f} s"
        )
        progress(f"{label}: baseline, {args.workers} SDK process(es)")
        baseline = run_baseline(args, workdir, env, procs, server, server_url, calls, label)
        progress(
            f"{label}: baseline {baseline['messages_per_s']:.0f} msg/s "
            f"(steady {baseline['steady_messages_per_s']})"
        )
        progress(f"{label}: gateway, {args.workers} `alafia worker` process(es)")
        gateway = run_gateway(args, workdir, env, procs, server, server_url, args.messages, label)
        progress(
            f"{label}: gateway {gateway['messages_per_s']:.0f} msg/s "
            f"(steady {gateway['steady_messages_per_s']})"
        )
        checks = checks_for(args.messages, gateway, baseline)

        def ratio(a: float | None, b: float | None) -> float | None:
            return round(a / b, 3) if a and b else None

        scenarios[label] = {
            "messages": args.messages,
            "calls": len(calls),
            "gateway": gateway,
            "baseline": baseline,
            "ratio": ratio(gateway["messages_per_s"], baseline["messages_per_s"]),
            "steady_ratio": ratio(
                gateway["steady_messages_per_s"], baseline["steady_messages_per_s"]
            ),
            "duplicates": gateway["server"]["duplicates"],
            "checks": checks,
            "ok": all(checks.values()),
        }

    worst = scenarios["distinct"]["gateway"]
    return {
        "config": {
            "messages": args.messages,
            "workers": args.workers,
            "sms_rate_per_worker": args.sms_rate,
            "concurrency": args.concurrency,
            "database": database_name(args.database_url),
            "postgresql": server_version,
            "redis_url": args.redis_url,
            "worker_log_level": args.log_level,
            "cpus": os.cpu_count(),
            "code": code,
        },
        "scenarios": scenarios,
        "target": {
            "messages_per_s": TARGET_MESSAGES_PER_S,
            "measured": worst["messages_per_s"],
            "met": worst["messages_per_s"] >= TARGET_MESSAGES_PER_S,
            "duplicates": sum(s["duplicates"] for s in scenarios.values()),
        },
        "ok": all(s["ok"] for s in scenarios.values()),
    }


# -------------------------------------------------------------------------------- report


def report(doc: dict[str, Any], out: TextIO) -> None:
    config = doc["config"]
    print(
        f"\nSMS dispatch: {config['messages']} messages, {config['workers']} worker(s), "
        f"SMS_RATE {config['sms_rate_per_worker']}/s and SMS_CONCURRENCY "
        f"{config['concurrency']} per worker (a cap of "
        f"{config['sms_rate_per_worker'] * config['workers']} msg/s); PostgreSQL "
        f"{config['postgresql']}, {config['cpus']} CPU(s), AT server on the same machine; "
        f"code {config['code']}",
        file=out,
    )
    for label, s in doc["scenarios"].items():
        g, b = s["gateway"], s["baseline"]
        kind = (
            "one text per message, one call each"
            if label == "distinct"
            else "one campaign text, up to 100 numbers per call"
        )
        print(f"\nScenario {label}: {kind} ({s['calls']} calls)", file=out)
        header = (
            f"{'target':<9} {'msg/s':>7} {'seconds':>8} {'start s':>8} {'steady/s':>9} "
            f"{'sender µs/msg':>14} {'(with start)':>12} {'server µs/msg':>14} {'PG µs/msg':>10}"
        )
        print(header, file=out)
        print("-" * len(header), file=out)
        gc, bc = g["cpu_us_per_message"], b["cpu_us_per_message"]
        print(
            f"{'gateway':<9} {g['messages_per_s']:>7.0f} {g['seconds']:>8.2f} "
            f"{g['first_batch_after_s'] or 0:>8.2f} {g['steady_messages_per_s'] or 0:>9.0f} "
            f"{gc['workers_steady'] or 0:>14} {gc['workers']:>12} {gc['server']:>14} "
            f"{gc['postgres']:>10}",
            file=out,
        )
        print(
            f"{'baseline':<9} {b['messages_per_s']:>7.0f} {b['seconds']:>8.2f} "
            f"{b['startup_s']:>8.2f} {b['steady_messages_per_s'] or 0:>9.0f} "
            f"{bc['senders_steady']:>14} {bc['senders']:>12} {bc['server']:>14} {'-':>10}",
            file=out,
        )
        print(
            f"gateway / baseline: x{s['ratio']} (steady x{s['steady_ratio']}); "
            f"baseline call p50 {b['call_p50_ms']} ms, p99 {b['call_p99_ms']} ms",
            file=out,
        )
        share = g["cpu_share"]
        print(
            f"gateway CPU while sending: workers {share['workers']:.0%}, server "
            f"{share['server']:.0%}, PG {share['postgres']:.0%}, others {share['others']:.0%} "
            "(100% = one core; others: "
            + ", ".join(f"{k} {v:.0%}" for k, v in g["others_detail"].items())
            + ")",
            file=out,
        )
        if share["others"] > BUSY_OTHERS:
            print("warning: other work used the machine; rerun on a quiet machine", file=out)
        outbox = g["outbox"]
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(outbox["statuses"].items()))
        print(
            f"outbox: {statuses}; {outbox['batches_recorded']} batches recorded; "
            f"tried more than once: {outbox['tried_more_than_once']}",
            file=out,
        )
        if outbox["reasons"]:
            print(f"reasons: {outbox['reasons']}", file=out)
        server = g["server"]
        print(
            f"server: {server['calls']} calls, {server['accepted']} accepted, "
            f"{server['distinct']} distinct; duplicates: {server['duplicates']}",
            file=out,
        )
        if b["errors"]:
            print(f"baseline errors: {b['errors']}: {b['error_samples']}", file=out)
        problems = sum(g["log_problems"].values())
        if problems:
            print(f"ERROR lines in the workers' logs: {problems}", file=out)
        for check, passed in s["checks"].items():
            print(f"  {'ok  ' if passed else 'FAIL'} {check}", file=out)

    target = doc["target"]
    print(
        f"\nTarget from the issue: >= {target['messages_per_s']:.0f} messages/s with "
        f"{config['workers']} workers on PostgreSQL, zero duplicates: "
        f"{target['measured']:.0f} messages/s (one text per message) "
        f"{'met' if target['met'] else 'NOT MET'}; duplicates {target['duplicates']}",
        file=out,
    )


# ----------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="SMS messages dispatched per second from the outbox by `alafia worker` "
        "processes on PostgreSQL to a local Africa's Talking API, against the bare SDK"
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="PostgreSQL; the database name must start with 'alafia_bench' "
        "(it is created if missing and its schema is wiped)",
    )
    parser.add_argument("--messages", type=bounded(1, 100_000, int), default=6000)
    parser.add_argument(
        "--workers",
        type=bounded(1, 16, int),
        default=2,
        help="`alafia worker` processes, and baseline processes",
    )
    parser.add_argument(
        "--sms-rate",
        type=bounded(1, 10_000, int),
        default=1000,
        help="SMS_RATE: messages per second per worker (default 1000: not the limit here)",
    )
    parser.add_argument(
        "--concurrency",
        type=bounded(1, 64, int),
        default=8,
        help="SMS_CONCURRENCY: calls in flight per worker (and threads per baseline process)",
    )
    parser.add_argument(
        "--same-text",
        action="store_true",
        help="also measure one campaign text to every number (100 numbers per call)",
    )
    parser.add_argument(
        "--timeout",
        type=bounded(10, 3600),
        default=120.0,
        help="seconds allowed for each gateway and baseline run",
    )
    parser.add_argument(
        "--redis-url",
        default=DEFAULT_REDIS_URL,
        help="REDIS_URL of the workers (never used by them; it only keeps them from "
        "starting an embedded Redis)",
    )
    parser.add_argument("--log-level", default="WARNING", help="LOG_LEVEL of the workers")
    parser.add_argument(
        "--keep-logs", type=Path, metavar="DIR", help="copy the processes' logs to DIR"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--baseline-sender", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.baseline_sender is not None:
        return baseline_sender(args.baseline_sender)
    import psycopg
    from callbacks_load import stop

    return run_bench(args, "alafia-sms-bench-", run, report, stop, (psycopg.Error,))


if __name__ == "__main__":
    sys.exit(main())
