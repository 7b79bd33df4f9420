"""`alafia import households FILE.csv --mutual CODE`: households from a spreadsheet.

Exit status: 0 everything valid was imported (or was already there) and nothing was
refused; 1 some households were skipped or refused (the report lists them by line);
2 the file could not be used at all (unreadable, wrong columns, unknown mutual).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway.actors import cli_actor
from gateway.commands import CommandGroup, Context

OK, REJECTED, FILE_PROBLEM = 0, 1, 2


def add_commands(commands: CommandGroup[Any]) -> None:
    """Add this part's subcommands to the `alafia` parser."""
    imports = commands.add_parser("import", help="bulk imports from spreadsheets")
    kinds = imports.add_subparsers(title="import commands")
    households = kinds.add_parser(
        "households",
        help="households from a CSV file, one row per member (see docs/import-households.md)",
    )
    households.add_argument("file", type=Path, help="the CSV file (; or , separated)")
    households.add_argument("--mutual", required=True, help="the mutual's code, e.g. MS-KANDI")
    households.add_argument(
        "--dry-run", action="store_true", help="check the file and report, write nothing"
    )
    households.add_argument(
        "--by",
        default=cli_actor(),
        help="who imports, for the audit log (default cli:$USER)",
    )
    households.add_argument(
        "--progress",
        action="store_true",
        help="show the progress bar even when stderr is not a terminal",
    )
    households.add_argument(
        "--batch", type=int, default=200, help="households per transaction (default 200)"
    )
    households.set_defaults(run=import_households)


def import_households(context: Context, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from db.engine import create_engine_sync, sync_session_factory
    from gateway.caller_changes import for_commands
    from gateway.imports import report
    from gateway.imports.households_csv import validate
    from gateway.imports.importer import HouseholdImport, UnknownMutual, read_rules
    from gateway.imports.table import FileProblem, read_table
    from gateway.sms.outbox import Outbox

    started = time.monotonic()
    settings = context.settings
    now = context.now
    name = args.file.name
    try:
        table = read_table(args.file.read_bytes())
    except OSError as error:
        print(f"{args.file}: cannot be read: {error.strerror or error}", file=sys.stderr)
        return FILE_PROBLEM
    except FileProblem as problem:
        print(f"{args.file}: not imported, nothing changed: {problem}", file=sys.stderr)
        return FILE_PROBLEM
    if args.batch < 1:
        print("--batch must be at least 1", file=sys.stderr)
        return FILE_PROBLEM

    engine = create_engine_sync(settings.database_url)
    sessions = sync_session_factory(engine, for_commands(settings))
    try:
        with sessions() as session:
            rules = read_rules(
                session,
                args.mutual,
                now(),
                settings.default_language,
                settings.national_id_length,
                settings.country,
            )
        if not rules.products:
            print(f"{args.mutual} offers no product: load the scheme first", file=sys.stderr)
            return FILE_PROBLEM
        try:
            validation = validate(table, rules)
        except FileProblem as problem:
            print(f"{args.file}: not imported, nothing changed: {problem}", file=sys.stderr)
            return FILE_PROBLEM
        out = sys.stdout
        report.header(name, table, out)
        report.rejected(validation.rejected, out)
        if args.dry_run:
            report.summary(validation, None, time.monotonic() - started, out)
            return REJECTED if validation.rejected else OK

        importer = HouseholdImport(
            sessions, Outbox.configured(settings), now, args.by, name, args.batch
        )
        bar = tqdm(
            total=len(validation.households),
            unit="household",
            file=sys.stderr,
            disable=not (args.progress or sys.stderr.isatty()),
        )
        with bar, _quiet_enrolment_log():
            written = importer.write(validation.households, bar.update)
        report.not_enrolled(written, out)
        report.summary(validation, written, time.monotonic() - started, out)
        return REJECTED if validation.rejected or written.refused else OK
    except UnknownMutual:
        print(f"{args.mutual}: no mutual has this code (alafia scheme show)", file=sys.stderr)
        return FILE_PROBLEM
    finally:
        engine.dispose()


@contextlib.contextmanager
def _quiet_enrolment_log() -> Iterator[None]:
    """A line per household would bury the bar and the report; the audit log holds one
    entry per imported household instead."""
    enrolment = logging.getLogger("gateway.enrolment.service")
    level = enrolment.level
    enrolment.setLevel(logging.WARNING)
    try:
        yield
    finally:
        enrolment.setLevel(level)
