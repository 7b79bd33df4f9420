"""Household import benchmark: `alafia import households` on a 50,000-row file, against
parsing the same file and bulk-inserting its rows, in the same run.

    python bench/import_households.py [--rows 50000] [--batch 200] [--json]
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/alafia_bench_import \\
        python bench/import_households.py

What it does:
1. writes a CSV as Excel on a French Windows would (`;`, cp1252, French headers): about
   --rows / 5 households of 1 to 9 members, heads with a phone, a third of them with a
   national ID, birth dates in the three written forms, every row valid;
2. prepares the database: a fresh SQLite file in a temp dir, or BENCH_DATABASE_URL (its
   `public` schema wiped: only a database named alafia_bench* or *_test), migrated, with
   the demo scheme; the households go to MS-KANDI (one product, FAMILLE);
3. baseline: reads the same file with the csv module and INSERTs its households and
   members with executemany, --batch households per transaction, then deletes them. That
   is the floor for "these rows are in the database", without any checking, member
   numbers, coverage periods, SMS, register events or audit;
4. `alafia import households --dry-run` (checking only), then the import itself with its
   progress bar on stderr, then the same file again (which must create nothing), all
   through `gateway.cli.main` in this process;
5. checks: one household per household of the file, one member per row, one confirmation
   SMS, register event and audit entry per household, and nothing more after the re-run.

Figures: rows/s and households/s of each step; ratio = import rows/s / baseline rows/s.
Exit status 1 when a check fails; the speed is reported, not judged.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import random
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from benchkit import bounded, progress, run_bench
from sqlalchemy import delete, func, insert, make_url, select, text
from sqlalchemy.orm import Session

from db import models
from db.engine import create_engine_sync, is_sqlite
from db.migrate import upgrade
from gateway import cli
from gateway.scheme import document as scheme

MUTUAL = "MS-KANDI"
HEADER = "Ménage;Nom;Prénoms;Sexe;Date de naissance;Lien;Téléphone;NPI;Activité;Village"
FAMILY_NAMES = ("HOUNGBO", "ADJOVI", "KORA", "SABI", "BIO", "GOUDA", "DAFIA", "YAROU", "SEKO")
GIVEN = ("Afi", "Koffi", "Issa", "Awa", "Moussa", "Rose", "Orou", "Baké", "Adjoa", "Zimé")
VILLAGES = ("Gando", "Sonsoro", "Kassakou", "Angaradébou", "Saah")
OCCUPATIONS = ("agriculteur", "commerçant(e)", "artisan", "", "")


def write_file(path: Path, rows: int, seed: int) -> int:
    """About rows / 5 households; returns how many."""
    rng = random.Random(seed)
    lines = [HEADER]
    household = 0
    while len(lines) - 1 < rows:
        household += 1
        size = min(rng.randint(1, 9), rows - (len(lines) - 1))
        family = rng.choice(FAMILY_NAMES)
        phone = f"0197{household:06d}"
        npi = f"{1_000_000_000 + household}" if household % 3 == 0 else ""
        village = rng.choice(VILLAGES)
        head_year = rng.randint(1950, 2000)
        born = (f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{head_year}", str(head_year))
        lines.append(
            f"{household};{family};{rng.choice(GIVEN)};{rng.choice('MF')};{rng.choice(born)};chef;"
            f"{phone};{npi};{rng.choice(OCCUPATIONS)};{village}"
        )
        for member in range(1, size):
            year = rng.randint(1950, 2025)
            relationship = "conjoint" if member == 1 and size > 2 else "enfant"
            written = rng.choice((str(year), f"{year}-{rng.randint(1, 12):02d}-15"))
            lines.append(
                f"{household};{family};{rng.choice(GIVEN)} {rng.choice(GIVEN)};{rng.choice('HF')};"
                f"{written};{relationship};;;;"
            )
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return household


def prepare(url: str) -> None:
    if not is_sqlite(url):
        name = make_url(url).database or ""
        if not ("_bench" in name or name.startswith("alafia_bench") or name.endswith("_test")):
            raise RuntimeError(
                f"BENCH_DATABASE_URL must name alafia_bench*, *_bench* or *_test, not {name}"
            )
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


def baseline(url: str, path: Path, batch: int) -> dict[str, Any]:
    """Parse the file and INSERT its rows as they are: the least an import can do."""
    engine = create_engine_sync(url)
    started, cpu = time.perf_counter(), time.process_time()
    with engine.connect() as connection:
        mutual_id = connection.scalar(
            select(models.SchemeUnit.id).where(models.SchemeUnit.code == MUTUAL)
        )
        product_id = connection.scalar(
            select(models.Product.id).where(models.Product.code == "FAMILLE")
        )
    reader = csv.reader(io.StringIO(path.read_bytes().decode("cp1252"), newline=""), delimiter=";")
    next(reader)
    families: dict[str, list[list[str]]] = {}
    for row in reader:
        families.setdefault(row[0], []).append(row)
    ids = list(families)
    rows = 0
    for start in range(0, len(ids), batch):
        households: list[dict[str, Any]] = []
        members: list[dict[str, Any]] = []
        for number in ids[start : start + batch]:
            household_id = int(number)
            family = families[number]
            households.append(
                {
                    "id": household_id,
                    "mutual_id": mutual_id,
                    "product_id": product_id,
                    "phone": "+229" + family[0][6],
                    "language": "fr",
                    "channel": "import",
                    "village": family[0][9],
                    "request_key": f"baseline:{number}",
                }
            )
            for row in family:
                born = date(int(row[4][-4:]) if "/" in row[4] else int(row[4][:4]), 1, 1)
                members.append(
                    {
                        "household_id": household_id,
                        "last_name": row[1],
                        "first_names": row[2],
                        "sex": row[3][:1],
                        "birth_date": born,
                        "birth_year": born.year,
                        "relationship_to_head": row[5],
                        "national_id": row[7] or None,
                    }
                )
            rows += len(family)
        with engine.begin() as connection:
            connection.execute(insert(models.Household), households)
            connection.execute(insert(models.Member), members)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    with engine.begin() as connection:
        connection.execute(delete(models.Member))
        connection.execute(delete(models.Household))
    engine.dispose()
    return {"seconds": seconds, "cpu": cpu, "rows": rows, "households": len(ids)}


def import_file(path: Path, *options: str) -> dict[str, Any]:
    out = io.StringIO()
    started, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        status = cli.main(["import", "households", str(path), "--mutual", MUTUAL, *options])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    summary = out.getvalue().strip().splitlines()[-1]
    return {"seconds": seconds, "cpu": cpu, "status": status, "summary": summary}


def counts(url: str) -> dict[str, int]:
    engine = create_engine_sync(url)
    with engine.connect() as connection:
        found = {
            table.__tablename__: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in (
                models.Household,
                models.Member,
                models.Message,
                models.RegisterEvent,
                models.AuditEntry,
            )
        }
    engine.dispose()
    return found


def run(args: argparse.Namespace, workdir: Path, procs: dict[str, Any]) -> dict[str, Any]:
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'bench.sqlite3'}"
    path = workdir / "menages.csv"
    households = write_file(path, args.rows, args.seed)
    progress(f"{args.rows} rows, {households} households in {path.name}; preparing the database")
    prepare(url)
    os.environ.update({"DATABASE_URL": url, "ALAFIA_DATA_DIR": str(workdir)})
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    progress("baseline: csv module and executemany INSERTs")
    floor = baseline(url, path, args.batch)
    progress("checking only (--dry-run)")
    checking = import_file(path, "--dry-run", "--batch", str(args.batch))
    progress("importing")
    imported = import_file(path, "--progress", "--batch", str(args.batch))
    after_import = counts(url)
    progress("the same file again")
    again = import_file(path, "--batch", str(args.batch))
    after_again = counts(url)
    expected = {
        "households": households,
        "members": args.rows,
        "messages": households,
        "register_events": households,
        "audit_log": households,
    }
    ok = (
        after_import == expected
        and after_again == expected
        and imported["status"] == 0
        and again["status"] == 0
    )
    rate = {
        name: {
            "seconds": round(step["seconds"], 2),
            "cpu_us_per_row": round(step["cpu"] / args.rows * 1e6),
            "rows_per_s": round(args.rows / step["seconds"]),
            "households_per_s": round(households / step["seconds"]),
        }
        for name, step in (
            ("baseline", floor),
            ("check", checking),
            ("import", imported),
            ("again", again),
        )
    }
    return {
        "ok": ok,
        "database": make_url(url).get_backend_name(),
        "rows": args.rows,
        "households": households,
        "batch": args.batch,
        "steps": rate,
        "ratio": round(rate["import"]["rows_per_s"] / rate["baseline"]["rows_per_s"], 3),
        "summaries": {"import": imported["summary"], "again": again["summary"]},
        "counts": after_import,
        "expected": expected,
    }


def report(document: dict[str, Any], out: TextIO) -> None:
    out.write(
        f"{document['rows']:,} rows, {document['households']:,} households, "
        f"{document['database']}, {document['batch']} households per transaction\n\n"
        f"{'step':<10} {'seconds':>8} {'rows/s':>8} {'households/s':>13} {'CPU µs/row':>11}\n"
    )
    for name, step in document["steps"].items():
        out.write(
            f"{name:<10} {step['seconds']:>8.2f} {step['rows_per_s']:>8,} "
            f"{step['households_per_s']:>13,} {step['cpu_us_per_row']:>11,}\n"
        )
    out.write(
        f"\nimport / baseline (rows/s): x {document['ratio']}\n"
        f"import: {document['summaries']['import']}\n"
        f"again:  {document['summaries']['again']}\n"
        f"checks: {'passed' if document['ok'] else 'FAILED'} "
        f"(found {document['counts']}, expected {document['expected']})\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=bounded(10, 1_000_000, int), default=50_000)
    parser.add_argument("--batch", type=bounded(1, 10_000, int), default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="the figures as JSON on stdout")
    parser.add_argument("--keep-logs", type=Path, help="unused here; kept for the common loop")
    return run_bench(parser.parse_args(), "alafia-import-", run, report, lambda proc: None)


if __name__ == "__main__":
    sys.exit(main())
