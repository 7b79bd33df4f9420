"""Faults, counted: workers killed with SIGKILL in the middle of their calls, Redis and
PostgreSQL restarted under load, and what came of it.

    python bench/faults.py                    # every scenario, default sizes
    python bench/faults.py --only payments sms --kills 5 --json

Heavier than the fault tests in tests/faults/ (which check the same things on one item
each): many payments, messages and households, several kills, more phones. Each scenario
runs real `alafia worker` / `alafia serve` processes against the local protocol peers of
tests/peers/ (MoMo, Africa's Talking, openIMIS), a Redis server and, when its binaries are
installed, a PostgreSQL cluster of its own, all in a temporary directory removed at the
end. A kill lands while the peer holds a call (before or after the peer did its work,
alternately); the dead worker's leases are then ended as their running out would, and a
new worker finishes the work. Printed: what was submitted, done, done twice, lost, and the
screens the phones got. Nothing is timed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from db.engine import create_engine_sync  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.values import MessagePurpose  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.enrolment.service import EnrolmentService  # noqa: E402
from gateway.infrastructure import scheme_clock  # noqa: E402
from gateway.scheme import document as scheme  # noqa: E402
from gateway.settings import DEFAULT_TIMEZONE, Settings  # noqa: E402
from gateway.sms.outbox import Outbox  # noqa: E402
from tests.faults.conftest import Gated, gated  # noqa: E402
from tests.faults.test_restarts import serve_environ  # noqa: E402
from tests.faults.test_worker_killed import (  # noqa: E402
    at_environ,
    momo_environ,
    openimis_environ,
)
from tests.peers.at_sms import AtSmsPeer  # noqa: E402
from tests.peers.momo import MomoPeer  # noqa: E402
from tests.peers.openimis import OpenImisPeer  # noqa: E402
from tests.support.households import enrol_household  # noqa: E402
from tests.support.http_server import free_port  # noqa: E402
from tests.support.paying import PAY_ALL, enrol, pay_by_ussd  # noqa: E402
from tests.support.programs import Program, environment, running, wait_for  # noqa: E402
from tests.support.servers import PrivatePostgres, PrivateRedis, postgres_bindir  # noqa: E402
from tests.support.ussd_crowd import Crowd  # noqa: E402

WORKER = ["worker", "--idle", "0.1"]


class Bench:
    def __init__(self, directory: Path, redis_url: str) -> None:
        self.directory = directory
        self.logs = 0
        url = f"sqlite:///{directory / 'alafia.sqlite3'}"
        upgrade(url)
        engine = create_engine_sync(url)
        with Session(engine) as session, session.begin():
            scheme.load(session, scheme.read_file(scheme.DEMO_SCHEME))
        self.engine = engine
        self.settings = Settings.from_env(
            {"DATABASE_URL": url, "REDIS_URL": redis_url, "ALAFIA_DATA_DIR": str(directory)}
        )

    def log(self, name: str) -> Path:
        self.logs += 1
        return self.directory / f"{self.logs:03d}-{name}.log"

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql)).all()]

    def release_leases(self, table: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(text(f"UPDATE {table} SET claimed_until = NULL"))

    def kill_rounds(
        self,
        peer: Gated,
        env: dict[str, str],
        table: str,
        kills: int,
        matches: Callable[[int], Callable[[str, str, bytes], bool]],
        done: Callable[[], bool],
    ) -> Counter[str]:
        """`kills` workers killed while the peer holds one of their calls; returns how
        many kills landed with the call held before the peer did it, and after (a round
        with nothing left to hold ends the series)."""
        landed: Counter[str] = Counter()
        for round_no in range(kills):
            if done():
                break
            peer.gate.hold_next(matches(round_no), after=round_no % 2 == 1)
            worker = Program(WORKER, env, self.log(f"worker-killed-{round_no}"))
            while not peer.gate.held.wait(0.05):
                if done():
                    break
                worker.check_alive()
            worker.kill()
            if peer.gate.held.is_set():
                landed["after the peer did it" if round_no % 2 else "before the peer saw it"] += 1
            peer.gate.release()
            self.release_leases(table)
        return landed


@asynccontextmanager
async def phones_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


async def payments(bench: Bench, households: int, kills: int) -> dict[str, Any]:
    with gated(MomoPeer()) as momo:
        peer: MomoPeer = momo.peer
        environ = momo_environ(momo)
        import dataclasses

        paying = dataclasses.replace(bench.settings, payments=Settings.from_env(environ).payments)
        async with phones_for(paying) as http:
            for number in range(households):
                phone = f"+2290197100{number:03d}"
                await enrol(http, phone)
                await pay_by_ussd(http, phone, PAY_ALL)
        env = environment(bench.settings, environ)

        def settled() -> bool:
            return bench.rows("SELECT COUNT(*) FROM payments WHERE status = 'pending'") == [(0,)]

        landed = bench.kill_rounds(
            momo,
            env,
            "payments",
            kills,
            lambda _: lambda method, path, _body: path.endswith("/requesttopay"),
            settled,
        )
        with running(WORKER, env, bench.log("worker-last")) as last:
            wait_for("every payment settled", settled, last)
        statuses = Counter(s for (s,) in bench.rows("SELECT status FROM payments"))
        by_household = Counter(p["externalId"] for p in peer.payments.values())
        paid = bench.rows("SELECT COALESCE(SUM(amount_paid), 0) FROM coverage_periods")[0][0]
        credited = bench.rows(
            "SELECT COALESCE(SUM(amount), 0) FROM payments WHERE status = 'succeeded'"
        )[0][0]
        return {
            "kills": dict(landed),
            "submitted": sum(statuses.values()),
            "credited": statuses["succeeded"],
            "statuses": dict(statuses),
            "requests_to_pay_sent": len(peer.requests_to("requesttopay")),
            "payer_prompted_twice": sum(n - 1 for n in by_household.values() if n > 1),
            "lost": households - statuses["succeeded"],
            "ledger_adds_up": paid == credited,
        }


async def sms(bench: Bench, messages: int, kills: int) -> dict[str, Any]:
    with gated(AtSmsPeer()) as at:
        peer: AtSmsPeer = at.peer
        outbox = Outbox.standard()
        now = scheme_clock(DEFAULT_TIMEZONE)()
        phones = [f"+2290166{n:06d}" for n in range(messages)]
        with Session(bench.engine) as session, session.begin():
            for n, phone in enumerate(phones):
                session.add(
                    outbox.message(
                        phone=phone,
                        language=("fr", "en")[n % 2],
                        purpose=MessagePurpose.REPLY,
                        template="reply_help",
                        params={},
                        now=now,
                    )
                )
        env = environment(bench.settings, at_environ(at))

        def sent() -> bool:
            return bench.rows("SELECT COUNT(*) FROM messages WHERE status = 'queued'") == [(0,)]

        def unsent_phone(round_no: int) -> Callable[[str, str, bytes], bool]:
            queued = bench.rows("SELECT phone FROM messages WHERE status = 'queued' LIMIT 1")
            digits = queued[0][0].removeprefix("+").encode() if queued else b"-"
            return lambda method, path, body: digits in body

        landed = bench.kill_rounds(at, env, "messages", kills, unsent_phone, sent)
        with running(WORKER, env, bench.log("worker-last")) as last:
            wait_for("every message sent", sent, last)
        times = Counter(m.number for m in peer.sent())
        return {
            "kills": dict(landed),
            "queued": messages,
            "sent_once": sum(1 for p in phones if times[p] == 1),
            # AT has no idempotency key: a call whose answer was lost after AT took it (a
            # kill "after", like a timeout) is sent again: those numbers get two.
            "sent_twice_or_more": sum(1 for p in phones if times[p] > 1),
            "lost": sum(1 for p in phones if times[p] == 0),
        }


async def register(bench: Bench, households: int, kills: int) -> dict[str, Any]:
    with gated(OpenImisPeer(products=("FAMILLE",))) as openimis:
        peer: OpenImisPeer = openimis.peer
        engine = bench.engine
        from db.engine import sync_session_factory

        enrolment = EnrolmentService(sync_session_factory(engine))
        today = scheme_clock(DEFAULT_TIMEZONE)().date()
        for number in range(households):
            await enrol_household(enrolment, f"+2290197200{number:03d}", persons=3, day=today)
        env = environment(bench.settings, openimis_environ(openimis))

        def pushed() -> bool:
            return bench.rows("SELECT COUNT(*) FROM register_events WHERE status = 'pending'") == [
                (0,)
            ]

        landed = bench.kill_rounds(
            openimis,
            env,
            "register_events",
            kills,
            # Killed once openIMIS made a family, while its answer to the read-back is held.
            lambda _: lambda method, path, _body: method == "GET" and "/Patient/" in path,
            pushed,
        )
        with running(WORKER, env, bench.log("worker-last")) as last:
            wait_for("every event pushed", pushed, last)
        codes = Counter(
            i["value"]
            for p in peer.resources("Patient")
            for i in p.get("identifier", [])
            if i["type"]["coding"][0]["code"] == "Code"  # the member number
        )
        members = bench.rows("SELECT COUNT(*) FROM members")[0][0]
        events = Counter(s for (s,) in bench.rows("SELECT status FROM register_events"))
        return {
            "kills": dict(landed),
            "events": dict(events),
            "members": members,
            "patients_in_register": sum(codes.values()),
            "patients_twice": sum(n - 1 for n in codes.values() if n > 1),
            "groups_in_register": len(peer.resources("Group")),
            "households": households,
        }


async def restart(bench: Bench, server: str, phones: int, directory: Path) -> dict[str, Any]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    cluster: PrivatePostgres | None = None
    redis: PrivateRedis | None = None
    if server == "redis":
        redis = PrivateRedis(directory)
        redis.start()
        env = environment(bench.settings, serve_environ(REDIS_URL=redis.url))
        kill, start = redis.kill, redis.start
    else:
        bindir = postgres_bindir()
        if bindir is None:
            return {"skipped": "no initdb/pg_ctl on this machine"}
        cluster = PrivatePostgres(bindir)
        cluster.start()
        upgrade(cluster.url)
        engine = create_engine_sync(cluster.url)
        with Session(engine) as session, session.begin():
            scheme.load(session, scheme.read_file(scheme.DEMO_SCHEME))
        engine.dispose()
        env = environment(bench.settings, serve_environ(DATABASE_URL=cluster.url))
        kill, start = cluster.crash, cluster.start
    crowd = Crowd(base_url, env["USSD_CALLBACK_TOKEN"], phones=phones)
    try:
        with running(["serve", "--port", str(port)], env, bench.log(f"serve-{server}")) as gw:
            wait_for("the gateway ready", lambda: _ready(base_url), gw)
            crowd.start()
            try:
                await crowd.until("before", "CON", phones * 4)
                crowd.phase = "down"
                await asyncio.to_thread(kill)
                await crowd.until("down", "END", phones * 4)
                crowd.phase = "back"
                await asyncio.to_thread(start)
                await crowd.until("back", "CON", phones * 4)
            finally:
                await crowd.stop()
            gw.check_alive()
    finally:
        if redis is not None:
            redis.kill()
        if cluster is not None:
            cluster.remove()
    return {
        "screens": {f"{phase} {kind}": n for (phase, kind), n in sorted(crowd.screens.items())},
        "end_screens": sorted({screen for _, screen in crowd.ends}),
        "not_a_screen": len(crowd.wrong),
        "not_a_screen_examples": crowd.wrong[:5],
    }


def _ready(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


SCENARIOS = ("payments", "sms", "register", "redis", "postgresql")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--kills", type=int, default=4, help="workers killed per scenario")
    parser.add_argument("--payments", type=int, default=12, help="households paying")
    parser.add_argument("--messages", type=int, default=400, help="SMS in the outbox")
    parser.add_argument("--households", type=int, default=12, help="for the register")
    parser.add_argument("--phones", type=int, default=16, help="phones dialling at once")
    parser.add_argument("--json", action="store_true", help="the counts as JSON on stdout")
    args = parser.parse_args()
    # Before the in-process gateway configures logging: its HTTP client's lines are noise.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="alafia-faults-") as tmp:
        directory = Path(tmp)
        redis = PrivateRedis(directory)
        redis.start()
        try:
            for name in args.only:
                bench = Bench(directory / name, redis.url) if _mkdir(directory / name) else None
                assert bench is not None
                print(f"== {name}", file=sys.stderr, flush=True)
                if name == "payments":
                    results[name] = await payments(bench, args.payments, args.kills)
                elif name == "sms":
                    results[name] = await sms(bench, args.messages, args.kills)
                elif name == "register":
                    results[name] = await register(bench, args.households, args.kills)
                else:
                    results[name] = await restart(bench, name, args.phones, directory / name)
                bench.engine.dispose()
        finally:
            redis.kill()
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        for name, counts in results.items():
            print(f"{name}:")
            for key, value in counts.items():
                print(f"  {key}: {value}")
    return 0


def _mkdir(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return True


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
