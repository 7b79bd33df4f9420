"""The USSD journey's last hop alone: CPU, wall time and SQL statements of one
enrolment (`EnrolmentService`, the household the journey types: a head and three
dependants), on a migrated database with the demo scheme loaded.

    python bench/hop_enrolment.py --database-url URL [--enrolments 200]

To compare two versions of the code side by side, run it alternately with PYTHONPATH
naming each checkout (the script imports the gateway from wherever Python finds it).
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
import uuid
from datetime import date
from typing import Any

from benchkit import bounded
from sqlalchemy import event

from db.engine import create_engine_sync, sync_session_factory
from gateway.enrolment.service import EnrolmentService
from menus.effects import EnrolHousehold, PersonDraft

STATEMENTS = [0]


def _count(*_args: Any) -> None:
    STATEMENTS[0] += 1


def _person(last: str, first: str, sex: str, born: str, relationship: str) -> PersonDraft:
    return PersonDraft(last, first, sex, born, True, relationship)


def household(serial: int) -> EnrolHousehold:
    """The journey's household, on a phone of its own (bench/ussd_load.py's JOURNEY)."""
    return EnrolHousehold(
        "MS-PARAKOU",
        "FAMILLE",
        f"+22901{serial % 100_000_000:08d}",
        "fr",
        _person("Houngbo", "Afi", "F", "1990-01-01", "head"),
        (
            _person("Houngbo", "Jean", "M", "1988-04-15", "spouse"),
            _person("Houngbo", "Marc", "M", "2016-01-01", "child"),
            _person("Houngbo", "Ella", "F", "2019-01-01", "child"),
        ),
        channel="ussd",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--enrolments", type=bounded(10, 100_000, int), default=200)
    args = parser.parse_args()
    engine = create_engine_sync(args.database_url)
    service = EnrolmentService(sync_session_factory(engine))
    today = date.today()
    # Consecutive phones from a random start: no two enrolments of a run are one family.
    serials = iter(range(secrets.randbelow(90_000_000), 100_000_000))
    for _ in range(5):  # warm up: connections, caches
        service._enrol_once(household(next(serials)), f"bench:{uuid.uuid4()}", today)
    event.listen(engine, "before_cursor_execute", _count)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(args.enrolments):
        result = service._enrol_once(household(next(serials)), f"bench:{uuid.uuid4()}", today)
        if result["outcome"] != "enrolled":
            raise RuntimeError(f"not enrolled: {result['outcome']}")
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    n = args.enrolments
    print(
        f"enrolments: {n}, per enrolment: {1000 * cpu / n:.2f} ms CPU, "
        f"{1000 * wall / n:.2f} ms wall, {STATEMENTS[0] / n:.1f} statements"
    )
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
