"""Languages as data: `alafia catalogue export|import|check` and `alafia screens` (no
routes, no jobs).

The catalogues themselves are read by the capabilities that show them (ussd, sms),
through installed.py, and offered to callers as offer.py decides."""

from __future__ import annotations

import argparse
from typing import Any

from gateway.capability import Capability
from gateway.catalogues.checks import ENCODINGS
from gateway.commands import CommandGroup, Context


class Catalogues(Capability):
    name = "catalogue"

    @staticmethod
    def add_commands(commands: CommandGroup[Any]) -> None:
        group = commands.add_parser(
            "catalogue", help="languages: a translator's file out and in, and checks"
        ).add_subparsers(title="catalogue commands")
        export = group.add_parser(
            "export", help="a translator's PO file: each key, its French source, where, budget"
        )
        export.add_argument("--language", required=True, help="the language code, e.g. fon")
        export.add_argument("--output", required=True, help="the PO file to write")
        export.add_argument(
            "--encoding",
            choices=ENCODINGS,
            help="what budgets are counted in: ucs2 for letters such as ɔ ɛ and tone marks "
            "(the default for a new language), gsm7 for a language written folded",
        )
        export.set_defaults(run=_export)
        take = group.add_parser(
            "import", help="a translated PO file, checked whole, into the language's catalogues"
        )
        take.add_argument("file", help="the PO file")
        take.add_argument("--language", help="its code, when its header has no Language:")
        take.add_argument("--output", help="the catalogues folder (default: CATALOGUES_DIR)")
        take.add_argument("--reviewed-by", help="the speaker who reviewed it (else: a draft)")
        take.add_argument(
            "--fold", action="store_true", help="write it in GSM-7: ɔ as o, tone marks dropped"
        )
        take.set_defaults(run=_import)
        check = group.add_parser(
            "check", help="every shipped and installed catalogue: keys, fields, every screen"
        )
        check.set_defaults(run=_check)
        screens = commands.add_parser(
            "screens", help="docs/screens.md: every screen in French and English, its length"
        )
        screens.add_argument("--output", default="docs/screens.md", help="the file to write")
        screens.add_argument(
            "--check", action="store_true", help="fail when the file is stale instead of writing"
        )
        screens.set_defaults(run=_screens)


def _export(context: Context, args: argparse.Namespace) -> int:
    from gateway.catalogues import commands

    return commands.export(context.settings, args)


def _import(context: Context, args: argparse.Namespace) -> int:
    from gateway.catalogues import commands

    return commands.take(context.settings, args)


def _check(context: Context, args: argparse.Namespace) -> int:
    from gateway.catalogues import commands

    return commands.check(context.settings)


def _screens(context: Context, args: argparse.Namespace) -> int:
    from pathlib import Path

    from gateway.catalogues import screens_page

    path = Path(args.output)
    return screens_page.check(path) if args.check else screens_page.write(path)
