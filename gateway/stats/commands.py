"""`alafia stats rebuild`: the dashboard's daily roll-ups counted again from households
and members, up to the last closed day (a new install, a restored backup, a repair).
The worker keeps them afterwards, a few days per round."""

from __future__ import annotations

import argparse
from typing import Any

from gateway.commands import CommandGroup, Context


def add_commands(commands: CommandGroup[Any]) -> None:
    stats = commands.add_parser("stats", help="the dashboard's daily roll-ups")
    actions = stats.add_subparsers(title="stats commands")
    rebuild = actions.add_parser("rebuild", help="count the daily roll-ups again, at once")
    rebuild.set_defaults(run=_rebuild)


def _rebuild(context: Context, args: argparse.Namespace) -> int:
    from gateway.stats.rollup import Rollup

    settings = context.settings
    days = context.with_sessions(
        lambda sessions: Rollup(sessions, settings.timezone, context.now).rebuild()
    )
    print(f"dashboard roll-ups rebuilt: {days} days")
    return 0
