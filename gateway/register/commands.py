"""`alafia register ...` (the outbox to the central register) and `alafia facilities ...`
(health facilities, their API keys and desk phones)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from gateway.actors import cli_actor
from gateway.commands import CommandGroup, Context, refused

if TYPE_CHECKING:
    from gateway.register.facilities import Facilities

T = TypeVar("T")


def add_commands(commands: CommandGroup[Any]) -> None:
    register = commands.add_parser("register", help="the central register").add_subparsers(
        title="register commands"
    )
    status = register.add_parser("status", help="pending, failing and dead events")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(run=_status)
    retry = register.add_parser("retry", help="send dead events again")
    retry.add_argument("--event", type=int, action="append", help="only this event id")
    retry.add_argument(
        "--skipped",
        action="store_true",
        help="also events skipped while the gateway was its own register",
    )
    retry.set_defaults(run=_retry)
    indigence = register.add_parser(
        "indigence",
        help="indigent exemptions from the DCI social registry (members with an NPI)",
    )
    indigence.add_argument("--mutual", help="only this mutual (or unit, with those below it)")
    indigence.set_defaults(run=_indigence)

    facilities = commands.add_parser("facilities", help="health facilities").add_subparsers(
        title="facilities commands"
    )
    add = facilities.add_parser("add", help="a facility; prints its API key once")
    add.add_argument("--code", required=True)
    add.add_argument("--name", required=True)
    add.add_argument(
        "--phone", action="append", default=[], help="a desk phone (repeat for several)"
    )
    add.set_defaults(run=_facilities_add)
    facilities.add_parser("list", help="facilities, key prefixes, phones").set_defaults(
        run=_facilities_list
    )
    for name, helped, run in (
        ("revoke", "stop a facility's key", _facilities_revoke),
        ("new-key", "replace a facility's key (prints it once)", _facilities_new_key),
    ):
        command = facilities.add_parser(name, help=helped)
        command.add_argument("--code", required=True)
        command.set_defaults(run=run)
    phones = facilities.add_parser("phones", help="set the desk phones of a facility")
    phones.add_argument("--code", required=True)
    phones.add_argument("--phone", action="append", default=[], help="repeat for several")
    phones.set_defaults(run=_facilities_phones)


def _status(context: Context, args: argparse.Namespace) -> int:
    from gateway.register.sync import RegisterQueue

    status = context.with_sessions(lambda s: RegisterQueue(s, context.now).status())
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(f"register: {context.settings.register.adapter}")
    for row in status["counts"]:
        print(f"  {row['status']:<9} {row['kind']:<20} {row['events']:>8}")
    if not status["counts"]:
        print("  no events yet")
    if status["oldest_pending"]:
        print(f"oldest pending event: {status['oldest_pending']}")
    for event in status["failing"]:
        print(
            f"  event {event['id']} ({event['kind']}, household {event['household_id']}) "
            f"{event['status']} after {event['attempts']} attempt"
            f"{'' if event['attempts'] == 1 else 's'}: {event['last_error']}"
        )
    return 0


def _retry(context: Context, args: argparse.Namespace) -> int:
    from db.values import RegisterEventStatus
    from gateway.register.sync import RegisterQueue

    dead, skipped = RegisterEventStatus.DEAD, RegisterEventStatus.SKIPPED
    statuses = (dead, skipped) if args.skipped else (dead,)
    moved = context.with_sessions(
        lambda s: RegisterQueue(s, context.now).retry(event_ids=args.event, statuses=statuses)
    )
    print(f"{moved} events queued again; the worker pushes them")
    return 0


def _indigence(context: Context, args: argparse.Namespace) -> int:
    from adapters.register.dci import DciRegister
    from gateway.register import registers
    from gateway.register.indigence import IndigenceCheck, IndigenceCounts

    settings = context.settings.register
    if settings.adapter != "dci" or settings.dci is None:
        print("no indigence check: REGISTER_ADAPTER is not dci", file=sys.stderr)
        return 2
    if settings.dci.indigence is None:
        print("no indigence check: set DCI_INDIGENT_SCORE_BELOW", file=sys.stderr)
        return 2

    async def run(sessions: Any) -> IndigenceCounts:
        register = registers.build(settings, sessions)
        assert isinstance(register, DciRegister)
        try:
            check = IndigenceCheck(sessions, register, context.now, recorded_by=cli_actor())
            return await check.run(args.mutual)
        finally:
            await register.aclose()

    try:
        counts = context.with_sessions(run)
    except LookupError as error:
        return refused("checked", error)
    print(
        f"{counts.asked} members with an NPI asked: {counts.indigent} indigent "
        f"({counts.recorded} exemptions recorded, {counts.already} already recorded), "
        f"{counts.ended} exemptions ended, {counts.unknown} unknown to the registry, "
        f"{counts.failed} not answered"
    )
    for reason in counts.errors[:20]:
        print(f"  {reason}", file=sys.stderr)
    # Not answered: run it again later; a cron job sees the failure in the status.
    return 1 if counts.failed else 0


def with_facilities(context: Context, work: Callable[[Facilities], Awaitable[T]]) -> T:
    from gateway.register.facilities import Facilities

    return context.with_sessions(lambda s: work(Facilities(s, context.now)))


def _facilities_add(context: Context, args: argparse.Namespace) -> int:
    from gateway.register.facilities import FacilityError

    try:
        phones = context.phones(args.phone)
        _, key = with_facilities(
            context, lambda f: f.add(args.code, args.name, phones, by=cli_actor())
        )
    except (ValueError, FacilityError) as error:
        return refused("added", error)
    print(f"facility {args.code} added. Its API key (shown only now, keep it safe):\n{key}")
    return 0


def _facilities_list(context: Context, args: argparse.Namespace) -> int:
    for row in with_facilities(context, lambda f: f.listing()):
        state = "revoked" if row["revoked"] else "active"
        phones = ", ".join(str(p) for p in cast(list[str], row["phones"])) or "no desk phone"
        key = f"alf_{row['key_prefix']}_..."
        print(f"{row['code']:<14} {state:<8} {key}  {row['name']} ({phones})")
    return 0


def _facilities_revoke(context: Context, args: argparse.Namespace) -> int:
    from gateway.register.facilities import FacilityError

    try:
        with_facilities(context, lambda f: f.revoke(args.code, by=cli_actor()))
    except FacilityError as error:
        return refused("revoked", error)
    print(f"the key of {args.code} is revoked (other processes stop accepting it within 30 s)")
    return 0


def _facilities_new_key(context: Context, args: argparse.Namespace) -> int:
    from gateway.register.facilities import FacilityError

    try:
        key = with_facilities(context, lambda f: f.new_key(args.code, by=cli_actor()))
    except FacilityError as error:
        print(f"no new key: {error}", file=sys.stderr)
        return 2
    print(f"new API key for {args.code} (shown only now; the old one no longer works):\n{key}")
    return 0


def _facilities_phones(context: Context, args: argparse.Namespace) -> int:
    from gateway.register.facilities import FacilityError

    try:
        phones = context.phones(args.phone)
        with_facilities(context, lambda f: f.set_phones(args.code, phones, by=cli_actor()))
    except (ValueError, FacilityError) as error:
        return refused("changed", error)
    print(f"{args.code}: {len(phones)} desk phones")
    return 0
