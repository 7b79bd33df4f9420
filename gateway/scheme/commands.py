"""`alafia scheme load FILE` and `alafia scheme show`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from gateway.commands import CommandGroup, Context


def add_commands(commands: CommandGroup[Any]) -> None:
    scheme = commands.add_parser("scheme", help="mutuals and products").add_subparsers(
        title="scheme commands"
    )
    load = scheme.add_parser(
        "load", help="load units, occupations and products from a YAML or JSON file"
    )
    load.add_argument("file", type=Path)
    load.set_defaults(run=_load)
    show = scheme.add_parser("show", help="show the loaded scheme")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(run=_show)


def _load(context: Context, args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from db.engine import create_engine_sync
    from gateway.caller_changes import for_commands
    from gateway.scheme import document

    try:
        loaded = document.read_file(args.file)
        engine = create_engine_sync(context.settings.database_url)
        # A renewal notice moved: the callers' cache forgets the dates it showed.
        with Session(engine, info=for_commands(context.settings)) as session, session.begin():
            report = document.load(session, loaded)
        engine.dispose()
    except document.SchemeError as error:
        print(f"{args.file}: not loaded, nothing changed:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    print(
        f"loaded {report.units} units, {report.occupations} occupations, {report.products} products"
    )
    return 0


def _show(context: Context, args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from db.engine import create_engine_sync
    from gateway.scheme import document

    engine = create_engine_sync(context.settings.database_url)
    with Session(engine) as session:
        described = document.describe(session)
    engine.dispose()
    if args.json:
        print(json.dumps(described, ensure_ascii=False, indent=2))
        return 0
    print("Units")
    for unit in described["units"]:
        indent = "  " * unit["path"].count("/")
        commune = f" ({unit['commune']})" if unit["commune"] else ""
        print(f"  {indent}{unit['code']:<14} {unit['level']:<8} {unit['name']}{commune}")
    print("Products")
    for product in described["products"]:
        window = product["window"]
        when = f"open {window['opens']}..{window['closes']}" if window else "open all year"
        print(
            f"  {product['code']:<10} {product['premium_per_person']:>6} XOF/person  offered by "
            f"{product['offered_by']:<12} {when}, waiting {product['waiting_days']} days"
        )
    return 0
