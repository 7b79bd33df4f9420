"""`alafia transcriptions ...`: how many names said on the voice line wait, and their
recordings fetched again once what stopped them is mended."""

from __future__ import annotations

import argparse
from typing import Any

from gateway.commands import CommandGroup, Context


def add_commands(commands: CommandGroup[Any]) -> None:
    transcriptions = commands.add_parser(
        "transcriptions", help="names said on the voice line, waiting for staff"
    ).add_subparsers(title="transcriptions commands")
    transcriptions.add_parser("status", help="names waiting, by recording state").set_defaults(
        run=_status
    )
    transcriptions.add_parser(
        "retry", help="fetch again the recordings that never came (no_audio)"
    ).set_defaults(run=_retry)


def _status(context: Context, args: argparse.Namespace) -> int:
    from gateway.transcriptions.fetching import counts

    waiting = context.with_sessions(counts)
    for state, names in waiting.items():
        print(f"  {state:<15} {names:>8}")
    hosts = ", ".join(context.settings.recordings.hosts)
    print(f"recordings fetched from: {hosts or 'nowhere (VOICE_RECORDING_HOSTS is not set)'}")
    return 0


def _retry(context: Context, args: argparse.Namespace) -> int:
    from gateway.transcriptions.fetching import fetch_again

    moved = context.with_sessions(lambda sessions: fetch_again(sessions, context.now()))
    print(f"{moved} recordings to fetch again; the worker tries each as before")
    return 0
