"""Where a USSD hop's time goes: SQL statements and server CPU per hop, enrolment and
renewal journeys side by side (the journeys of bench/ussd_load.py, one user, no load).

    python bench/hop_statements.py --database-url URL --redis-url URL [--journeys 20]

Runs the gateway in this process (`create_app`, its lifespan, the real /ussd route) on
the given PostgreSQL and Redis, migrates the database, loads the demo scheme and seeds
--journeys households for the renewal (bench/renewal_seed.py). Every statement any of
the gateway's engines sends is counted by a SQLAlchemy event; CPU is this process's.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import time
from collections import defaultdict
from typing import Any

import renewal_seed
from benchkit import bounded, progress, run_cli
from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient
from ussd_load import DEMO_SCHEME, FINAL_REPLY, JOURNEY, RENEWAL_FINAL, RENEWAL_JOURNEY

STATEMENTS = [0]


def _count(*_args: Any) -> None:
    STATEMENTS[0] += 1


def walk(
    client: TestClient, url: str, phone: str, inputs: tuple[str, ...], final: tuple[str, ...]
) -> list[tuple[int, float, float]]:
    """(statements, CPU ms, wall ms) per hop of one journey."""
    form = {"sessionId": f"ATUid_hops_{secrets.token_hex(6)}", "phoneNumber": phone}
    form |= {"serviceCode": "*384*22#", "networkCode": "61603", "text": ""}
    typed: list[str] = []
    hops = []
    for hop, new_input in enumerate(inputs):
        if hop:
            typed.append(new_input)
            form["text"] = "*".join(typed)
        before, cpu, wall = STATEMENTS[0], time.process_time(), time.perf_counter()
        reply = client.post(url, data=form).text
        hops.append(
            (
                STATEMENTS[0] - before,
                1000 * (time.process_time() - cpu),
                1000 * (time.perf_counter() - wall),
            )
        )
        last = hop == len(inputs) - 1
        if not reply.startswith(final if last else ("CON ",)):
            raise RuntimeError(f"hop {hop + 1} ({new_input!r}): {reply[:120]!r}")
    return hops


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--journeys", type=bounded(1, 1000, int), default=20)
    args = parser.parse_args()
    token = secrets.token_urlsafe(24)
    os.environ.update(
        {
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "USSD_CALLBACK_TOKEN": token,
            "AT_CALLBACK_TOKEN": token,
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        }
    )
    with open(os.devnull, "w") as log:
        run_cli(["db", "upgrade"], dict(os.environ), log)
        run_cli(["scheme", "load", str(DEMO_SCHEME)], dict(os.environ), log)
    start = random.randrange(1_000_000)
    renewing = renewal_seed.renewal_phones(args.journeys, start)
    renewal_seed.seed(args.database_url, renewing)
    progress(f"seeded {len(renewing)} households")
    from gateway.app import create_app

    event.listen(Engine, "before_cursor_execute", _count)
    totals: dict[str, list[list[tuple[int, float, float]]]] = defaultdict(list)
    with TestClient(create_app()) as client:
        url = f"/ussd?token={token}"
        for i, phone in enumerate(renewing):
            enrolling = f"+2290195{(start + i) % 1_000_000:06d}"
            totals["enrolment"].append(walk(client, url, enrolling, JOURNEY, (FINAL_REPLY,)))
            # A member's first hop, then the same phone calling again (the callers'
            # cache: the database read once, then Redis until a write changes it).
            opening = RENEWAL_JOURNEY[:1]
            totals["first call"].append(walk(client, url, phone, opening, ("CON ",)))
            totals["calling again"].append(walk(client, url, phone, opening, ("CON ",)))
            totals["renewal"].append(walk(client, url, phone, RENEWAL_JOURNEY, RENEWAL_FINAL))
    for name, inputs in (("enrolment", JOURNEY), ("renewal", RENEWAL_JOURNEY)):
        runs = totals[name][1:] or totals[name]  # the first journey warms caches up
        print(f"\n{name}: mean of {len(runs)} journeys, per hop")
        print(f"{'hop':>4} {'input':<14} {'statements':>10} {'CPU ms':>8} {'wall ms':>8}")
        for hop, typed in enumerate(inputs):
            statements = sum(r[hop][0] for r in runs) / len(runs)
            cpu = sum(r[hop][1] for r in runs) / len(runs)
            wall = sum(r[hop][2] for r in runs) / len(runs)
            print(f"{hop + 1:>4} {typed!r:<14} {statements:>10.1f} {cpu:>8.2f} {wall:>8.2f}")
        hops = [h for r in runs for h in r]
        print(
            f"per hop: {sum(h[0] for h in hops) / len(hops):.2f} statements, "
            f"{sum(h[1] for h in hops) / len(hops):.2f} ms CPU; per journey: "
            f"{sum(h[0] for h in hops) / len(runs):.1f} statements, "
            f"{sum(h[1] for h in hops) / len(runs):.1f} ms CPU"
        )
    first, again = (_mean_first_hop(totals[name]) for name in ("first call", "calling again"))
    print("\na member's first hop (callers' cache), mean of the journeys but the first")
    print(f"{'':<14} {'statements':>10} {'CPU ms':>8} {'wall ms':>8}")
    for name, (statements, cpu, wall) in (("first call", first), ("calling again", again)):
        print(f"{name:<14} {statements:>10.1f} {cpu:>8.2f} {wall:>8.2f}")
    print(f"ratio (first call / calling again): CPU x {first[1] / again[1]:.2f}")
    return 0


def _mean_first_hop(runs: list[list[tuple[int, float, float]]]) -> tuple[float, float, float]:
    kept = runs[1:] or runs
    return tuple(sum(r[0][i] for r in kept) / len(kept) for i in range(3))  # type: ignore[return-value]


if __name__ == "__main__":
    sys.exit(main())
