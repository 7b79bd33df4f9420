"""`alafia`: run, set up and try the gateway.

alafia demo                 everything on embedded defaults, with a demo scheme
alafia serve                the production HTTP server
alafia worker               the background worker (payments, SMS, reminders, register)
alafia db upgrade           create or migrate the database
alafia scheme load FILE     load mutuals and products (YAML or JSON); scheme show
alafia payments review      payments and callbacks that need a person
alafia sponsors show        what sponsors owe (also settle)
alafia sms status           the SMS outbox (also schedule, campaign)
alafia register status      the events for the central register (also retry)
alafia facilities add       a health facility, its API key and desk phones
alafia agents add           a field agent (also list, disable, reset-pin, cash, handover, audit)
alafia staff add            a dashboard account (also list, disable, reset-password, unlock)
alafia import households    households from a spreadsheet (CSV), checked row by row
alafia dial                 a terminal phone against a running gateway
alafia catalogue check      every language's catalogues (also export, import)
alafia screens              docs/screens.md, every screen in French and English (--check)
alafia backup FILE          the whole database to a file (restore FILE puts it back)

The programs are in gateway/programs.py; every other command belongs to a capability
(gateway/capabilities.py), which adds it to the parser.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime

from gateway import logs, programs
from gateway.commands import Context
from gateway.infrastructure import scheme_clock
from gateway.settings import ConfigError, Settings


def main(argv: Sequence[str] | None = None, *, now: Callable[[], datetime] | None = None) -> int:
    """`now`: the clock commands read (tests fix it); the scheme's real time otherwise."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    context = Context(settings, now or scheme_clock(settings.timezone))
    return int(args.run(context, args) or 0)


def _parser() -> argparse.ArgumentParser:
    from gateway.capabilities import CAPABILITIES

    parser = argparse.ArgumentParser(
        prog="alafia", description="USSD and SMS gateway for health mutuals"
    )
    commands = parser.add_subparsers(title="commands")
    programs.add_commands(commands)
    for capability in CAPABILITIES:
        capability.add_commands(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
