"""Bulk renewal benchmark: `alafia renew` opening 100,000 households' next year on
PostgreSQL, against plain multi-row INSERTs of the same rows, in the same run.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/groups_test \\
        python bench/renew.py [--households 100000] [--batch 2000] [--json]

What it does:
1. prepares the database: BENCH_DATABASE_URL (its `public` schema wiped: only a database
   named alafia_bench* or *_test) or a fresh SQLite file, migrated, with the demo scheme;
   then, in MS-KANDI on FAMILLE, --households households of 1 to 6 members (about 3.5),
   each with a cover year paid 340 days before the run's day (so in its renewal
   window), 95 % of them members of one group payer (a cooperative with contracts for
   this year and the next), the others paying their own premium; 2 % of the members
   carry an exemption;
2. baseline: the rows a renewal writes (one period, its lines, its share per renewed
   household), built in Python beforehand and INSERTed the way renew writes them (ids
   taken from the sequence, then one multi-row INSERT per table, `db.bulk.insert_rows`),
   --batch households per transaction, then deleted. That is the floor for "these rows are in
   the database", with no reading, pricing or rights;
3. `alafia renew --mutual MS-KANDI --dry-run`, then `alafia renew --mutual MS-KANDI`
   (the measured figure), then the same again (which must renew nothing), all through
   `gateway.cli.main` in this process;
4. checks: one new period for every group household (and for the few others whose
   members are all free: the demo's FAMILLE has free care under five and for indigents),
   with one line per member and its shares; the dry run announced as many; nothing more
   after the second run.

Figures: seconds and households/s of each step; ratio = renew seconds / baseline
seconds. The issue's target: renew ≤ 60 s for 100,000 households on PostgreSQL. Exit
status 1 when a check fails; the speed is reported, not judged.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from benchkit import bounded, progress, run_bench
from sqlalchemy import delete, func, insert, make_url, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from db import models
from db.bulk import insert_rows
from db.engine import create_engine_sync, is_sqlite
from db.migrate import upgrade
from gateway import cli
from gateway.enrolment.bulk_renewal import reserve_period_ids
from gateway.scheme import document as scheme

MUTUAL, PRODUCT, GROUP = "MS-KANDI", "FAMILLE", "BENCH-COOP"
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Africa/Porto-Novo"))
PAID_ON = TODAY - timedelta(days=340)
CHUNK = 10_000


def prepare(url: str) -> None:
    if not is_sqlite(url):
        name = make_url(url).database or ""
        if not (name.startswith("alafia_bench") or name.endswith("_test")):
            raise RuntimeError(f"BENCH_DATABASE_URL must name alafia_bench* or *_test, not {name}")
        engine = create_engine_sync(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    engine = create_engine_sync(url)
    with Session(engine) as session, session.begin():
        scheme.load(session, scheme.read_file(scheme.DEMO_SCHEME))
    engine.dispose()


def populate(engine: Engine, households: int, seed: int) -> dict[str, int]:
    """The households, members and paid years, written with multi-row INSERTs."""
    rng = random.Random(seed)
    with Session(engine) as session, session.begin():
        mutual = session.scalar(select(models.SchemeUnit).where(models.SchemeUnit.code == MUTUAL))
        product = session.scalar(select(models.Product).where(models.Product.code == PRODUCT))
        assert mutual is not None and product is not None
        sponsor = models.Sponsor(code="GRP-" + GROUP, name="Coopérative", waits_for_payment=True)
        session.add(sponsor)
        session.flush()
        group = models.PayerGroup(
            code=GROUP,
            name="Coopérative",
            kind="cooperative",
            mutual_id=mutual.id,
            sponsor_id=sponsor.id,
            created_at=NOW,
        )
        session.add(group)
        session.flush()
        for year, starts in (
            (TODAY.year - 1, PAID_ON),
            (TODAY.year, PAID_ON.replace(year=PAID_ON.year + 1)),
        ):
            session.add(
                models.GroupContract(
                    group_id=group.id,
                    year=year,
                    product_id=product.id,
                    starts_on=starts,
                    ends_on=starts + timedelta(days=364),
                    invoice_no=f"{GROUP}-{year}",
                    created_at=NOW,
                    created_by="bench",
                )
            )
        session.add(
            models.Subsidy(
                sponsor_id=sponsor.id, product_id=product.id, category=sponsor.code, percent=100
            )
        )
        ids = (mutual.id, product.id, group.id, sponsor.code, product.premium_per_person)
    mutual_id, product_id, group_id, category, premium = ids
    covered_until = PAID_ON.replace(year=PAID_ON.year + 1) - timedelta(days=1)
    grouped = members = 0
    member_id = 0
    for start in range(1, households + 1, CHUNK):
        homes, people, years, exemptions = [], [], [], []
        for household_id in range(start, min(start + CHUNK, households + 1)):
            in_group = rng.random() < 0.95
            grouped += in_group
            homes.append(
                {
                    "id": household_id,
                    "mutual_id": mutual_id,
                    "product_id": product_id,
                    "phone": f"+229019{household_id:07d}",
                    "language": "fr",
                    "channel": "agent",
                    "commune": "Kandi",
                    "request_key": f"bench:{household_id}",
                    "category": category if in_group else None,
                    "group_id": group_id if in_group else None,
                    "created_at": NOW,
                }
            )
            size = rng.randint(1, 6)
            for number in range(size):
                member_id += 1
                born = date(rng.randint(1950, 2024), rng.randint(1, 12), 15)
                people.append(
                    {
                        "id": member_id,
                        "member_no": None,
                        "household_id": household_id,
                        "last_name": "KORA",
                        "first_names": "Awa",
                        "sex": rng.choice("MF"),
                        "birth_date": born,
                        "birth_year": born.year,
                        "birth_year_only": False,
                        "relationship_to_head": "head" if number == 0 else "child",
                        "created_at": NOW,
                    }
                )
                if rng.random() < 0.02:
                    exemptions.append(
                        {
                            "member_id": member_id,
                            "ground": "indigent",
                            "source": "import",
                            "starts_on": PAID_ON,
                            "ends_on": None,
                            "recorded_by": "bench",
                            "created_at": NOW,
                        }
                    )
            members += size
            years.append(
                {
                    "id": household_id,
                    "household_id": household_id,
                    "product_id": product_id,
                    "starts_on": PAID_ON,
                    "persons": size,
                    "premium_due": 0 if in_group else size * premium,
                    "amount_paid": 0 if in_group else size * premium,
                    "paid_in_full_on": PAID_ON,
                    "sponsor_id": None,
                    "sponsor_share": 0,
                    "sponsor_paid": 0,
                    "waits_for_sponsor": False,
                    "waiting_days": 0,
                    "cover_months": 12,
                    "grace_days": 30,
                    "status": "active",
                    "covered_from": PAID_ON,
                    "covered_until": covered_until,
                    "grace_until": covered_until + timedelta(days=30),
                    "channel": "agent",
                    "threshold_percent": 100,
                    "carried_in": 0,
                }
            )
        with engine.begin() as connection:
            connection.execute(insert(models.Household), homes)
            connection.execute(insert(models.Member), people)
            connection.execute(insert(models.CoveragePeriod), years)
            if exemptions:
                connection.execute(insert(models.MemberExemption), exemptions)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for table in ("households", "members", "coverage_periods"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
            connection.execute(text("ANALYZE"))
    return {"households": households, "grouped": grouped, "members": members}


def baseline(engine: Engine, batch: int, premium: int) -> dict[str, Any]:
    """The same rows as a renewal of the group households, INSERTed as they are."""
    with engine.connect() as connection:
        sponsor_id = connection.scalar(
            select(models.Sponsor.id).where(models.Sponsor.code == "GRP-" + GROUP)
        )
        grouped = connection.execute(
            select(models.Household.id, models.Household.product_id)
            .where(models.Household.group_id.is_not(None))
            .order_by(models.Household.id)
        ).all()
        people: dict[int, list[int]] = {}
        for member_id, household_id in connection.execute(
            select(models.Member.id, models.Member.household_id).order_by(models.Member.id)
        ):
            people.setdefault(household_id, []).append(member_id)
    starts = PAID_ON.replace(year=PAID_ON.year + 1)
    plans = [
        (
            {
                "household_id": household_id,
                "product_id": product_id,
                "starts_on": starts,
                "persons": len(people[household_id]),
                "premium_due": 0,
                "amount_paid": 0,
                "sponsor_id": sponsor_id,
                "sponsor_share": premium * len(people[household_id]),
                "sponsor_paid": 0,
                "waits_for_sponsor": True,
                "waiting_days": 0,
                "cover_months": 12,
                "grace_days": 30,
                "status": "pending_payment",
                "request_key": f"baseline:{household_id}",
                "channel": "bulk",
                "threshold_percent": 100,
                "carried_in": 0,
            },
            people[household_id],
        )
        for household_id, product_id in grouped
    ]
    started, cpu = time.perf_counter(), time.process_time()
    for first in range(0, len(plans), batch):
        chunk = plans[first : first + batch]
        with engine.begin() as connection:
            ids = reserve_period_ids(connection, len(chunk))
            periods = [
                {**period, "id": period_id}
                for period_id, (period, _) in zip(ids, chunk, strict=True)
            ]
            lines = [
                {
                    "period_id": period_id,
                    "member_id": member,
                    "category": "adult",
                    "ground": "member",
                    "price": premium,
                    "sponsor_id": sponsor_id,
                    "sponsor_amount": premium,
                }
                for period_id, (_, members) in zip(ids, chunk, strict=True)
                for member in members
            ]
            shares = [
                {
                    "period_id": period_id,
                    "sponsor_id": sponsor_id,
                    "amount": period["sponsor_share"],
                    "paid": 0,
                }
                for period_id, (period, _) in zip(ids, chunk, strict=True)
            ]
            insert_rows(connection, models.CoveragePeriod, periods)
            insert_rows(connection, models.CoverLine, lines)
            insert_rows(connection, models.PeriodShare, shares)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    with engine.begin() as connection:
        keys = select(models.CoveragePeriod.id).where(
            models.CoveragePeriod.request_key.like("baseline:%")
        )
        connection.execute(delete(models.CoverLine).where(models.CoverLine.period_id.in_(keys)))
        connection.execute(delete(models.PeriodShare).where(models.PeriodShare.period_id.in_(keys)))
        connection.execute(
            delete(models.CoveragePeriod).where(
                models.CoveragePeriod.request_key.like("baseline:%")
            )
        )
    return {"seconds": seconds, "cpu": cpu, "households": len(plans)}


def renew(*options: str) -> dict[str, Any]:
    out = io.StringIO()
    started, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        status = cli.main(["renew", "--mutual", MUTUAL, *options], now=lambda: NOW)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    lines = out.getvalue().strip().splitlines()
    return {"seconds": seconds, "cpu": cpu, "status": status, "summary": lines}


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.__tablename__: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in (models.CoveragePeriod, models.CoverLine, models.PeriodShare)
        }


def run(args: argparse.Namespace, workdir: Path, procs: dict[str, Any]) -> dict[str, Any]:
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'bench.sqlite3'}"
    progress("preparing the database")
    prepare(url)
    os.environ.update({"DATABASE_URL": url, "ALAFIA_DATA_DIR": str(workdir)})
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    engine = create_engine_sync(url)
    try:
        progress(f"{args.households:,} households, their members and paid years")
        made = populate(engine, args.households, args.seed)
        with engine.connect() as connection:
            premium = connection.scalar(
                select(models.Product.premium_per_person).where(models.Product.code == PRODUCT)
            )
        progress("baseline: plain INSERTs of the same rows")
        floor = baseline(engine, args.batch, premium or 0)
        progress("alafia renew --dry-run")
        dry = renew("--dry-run", "--batch", str(args.batch))
        progress("alafia renew")
        done = renew("--batch", str(args.batch))
        after = counts(engine)
        progress("alafia renew again")
        again = renew("--batch", str(args.batch))
        after_again = counts(engine)
        with engine.connect() as connection:
            renewed_ids = select(models.CoveragePeriod.household_id).where(
                models.CoveragePeriod.renewal_of_id.is_not(None)
            )
            renewed = connection.scalar(select(func.count()).select_from(renewed_ids.subquery()))
            renewed_members = connection.scalar(
                select(func.count())
                .select_from(models.Member)
                .where(models.Member.household_id.in_(renewed_ids))
            )
            groups_renewed = connection.scalar(
                select(func.count())
                .select_from(models.Household)
                .where(models.Household.group_id.is_not(None), models.Household.id.in_(renewed_ids))
            )
    finally:
        engine.dispose()
    # Every group household, and those whose members are all free (the demo's free care:
    # children under five, indigents): nobody else.
    ok = (
        done["status"] == 0
        and again["status"] == 0
        and groups_renewed == made["grouped"]
        and after["coverage_periods"] == made["households"] + renewed
        and after["cover_lines"] == renewed_members
        and after["period_shares"] >= renewed
        and after_again == after
        and f"renewed {renewed:,} households" in done["summary"][0]
        and f"would renew {renewed:,} households" in dry["summary"][0]
        and "renewed 0 households" in again["summary"][0]
    )
    steps = {
        name: {
            "seconds": round(step["seconds"], 2),
            "households_per_s": round(renewed / step["seconds"]),
            "cpu_us_per_household": round(step["cpu"] / renewed * 1e6),
        }
        for name, step in (("baseline", floor), ("dry-run", dry), ("renew", done), ("again", again))
    }
    return {
        "ok": ok,
        "database": make_url(url).get_backend_name(),
        "households": made["households"],
        "renewed": renewed,
        "members": made["members"],
        "batch": args.batch,
        "steps": steps,
        "ratio": round(done["seconds"] / floor["seconds"], 2),
        "summary": done["summary"],
        "counts": after,
    }


def report(document: dict[str, Any], out: TextIO) -> None:
    out.write(
        f"{document['households']:,} households ({document['members']:,} members), "
        f"{document['renewed']:,} to renew, {document['database']}, "
        f"{document['batch']} households per transaction\n\n"
        f"{'step':<10} {'seconds':>8} {'households/s':>13} {'CPU µs/household':>17}\n"
    )
    for name, step in document["steps"].items():
        out.write(
            f"{name:<10} {step['seconds']:>8.2f} {step['households_per_s']:>13,} "
            f"{step['cpu_us_per_household']:>17,}\n"
        )
    out.write(
        f"\nrenew / baseline (seconds): x {document['ratio']}  "
        f"(target: renew ≤ 60 s for 100,000 households on PostgreSQL)\n"
        + "".join(f"  {line}\n" for line in document["summary"])
        + f"checks: {'passed' if document['ok'] else 'FAILED'} (rows: {document['counts']})\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=bounded(10, 1_000_000, int), default=100_000)
    parser.add_argument("--batch", type=bounded(1, 50_000, int), default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="the figures as JSON on stdout")
    parser.add_argument("--keep-logs", type=Path, help="unused here; kept for the common loop")
    return run_bench(parser.parse_args(), "alafia-renew-", run, report, lambda proc: None)


if __name__ == "__main__":
    sys.exit(main())
