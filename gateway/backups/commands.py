"""`alafia backup FILE` and `alafia restore FILE`.

Exit status: 0 done (and, for a restore, the ledger adds up); 2 refused, nothing written
(the reason on stderr); 3 restored, but the ledger does not add up or the database differs
from what the backup recorded of itself: the lines that say where are printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gateway.commands import CommandGroup, Context, refused

RESTORED_BUT_UNSOUND = 3


def add_commands(commands: CommandGroup[Any]) -> None:
    backup = commands.add_parser(
        "backup", help="copy the whole database to a file (safe while the gateway runs)"
    )
    backup.add_argument("file", type=Path, help="the backup file to write, e.g. alafia.backup")
    backup.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    _pg_bin(backup)
    backup.set_defaults(run=_backup)

    restore = commands.add_parser(
        "restore", help="put a backup back into the database, then check the ledger"
    )
    restore.add_argument("file", type=Path, help="a file written by `alafia backup`")
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace what the database holds (refused otherwise unless it is empty)",
    )
    _pg_bin(restore)
    restore.set_defaults(run=_restore)


def _pg_bin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pg-bin",
        type=Path,
        help="the directory of pg_dump/pg_restore (default: PATH, then pg_config --bindir)",
    )


def _backup(context: Context, args: argparse.Namespace) -> int:
    from gateway.backups.service import BackupRefused, take

    try:
        manifest = take(
            context.settings.database_url, args.file, context.now(), args.pg_bin, args.force
        )
    except BackupRefused as error:
        return refused("backed up", error)
    held = manifest.figures
    print(
        f"backup written: {args.file} ({manifest.kind_name} {manifest.server_version}, "
        f"schema {manifest.schema_revision}, {manifest.size:,} bytes of database)"
    )
    print(_counts(held))
    print(f"credited: {held['credited_payments']:,} payments, {held['credited']:,} FCFA")
    return 0


def _restore(context: Context, args: argparse.Namespace) -> int:
    from gateway.backups.service import BackupRefused, restore

    try:
        restored = restore(context.settings.database_url, args.file, args.force, args.pg_bin)
    except BackupRefused as error:
        return refused("restored", error)
    manifest = restored.manifest
    print(
        f"restored {args.file}: a {manifest.kind_name} backup taken {manifest.created_at} "
        f"at schema {manifest.schema_revision}"
    )
    if restored.upgraded_from:
        print(f"schema upgraded from {restored.upgraded_from} to {restored.head}")
    print(_counts(restored.figures.as_dict()))
    ledger = restored.ledger
    if ledger.adds_up:
        print(
            f"ledger checked: {ledger.payments:,} payments, {ledger.credited:,} FCFA "
            f"credited = paid; sponsors {ledger.settled:,} FCFA settled = recorded; "
            f"agents hold {ledger.cash_held:,} FCFA cash"
        )
    else:
        print(f"LEDGER DOES NOT ADD UP ({len(ledger.problems)} problems):")
        for problem in ledger.problems:
            print(f"  {problem}")
    if restored.differences:
        print("THE RESTORED DATABASE DIFFERS FROM ITS BACKUP:")
        for difference in restored.differences:
            print(f"  {difference}")
    if restored.sound:
        return 0
    print(
        "restored, but not sound: keep the gateway stopped and look at the lines above",
        file=sys.stderr,
    )
    return RESTORED_BUT_UNSOUND


def _counts(held: dict[str, int]) -> str:
    return (
        f"{held['households']:,} households, {held['persons']:,} persons, "
        f"{held['payments']:,} payments, {held['messages']:,} messages"
    )
