"""`alafia renew`, `alafia groups ...` and `alafia exemptions set`: the yearly campaign's
work that staff do from a terminal.

Exit status: 0 done, 2 refused with the reason on stderr (an unknown mutual, group or
member, a bad date), as every `alafia` command.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from gateway.actors import cli_actor
from gateway.commands import CommandGroup, Context, refused


def add_commands(commands: CommandGroup[Any]) -> None:
    renew = commands.add_parser(
        "renew",
        help="open next year's cover for the households a sponsor or a group pays for",
    )
    renew.add_argument("--mutual", required=True, help="the mutual's code, e.g. MS-KANDI")
    renew.add_argument("--product", help="only the households on this product")
    renew.add_argument(
        "--dry-run", action="store_true", help="say what would be renewed, write nothing"
    )
    renew.add_argument("--batch", type=int, default=2000, help="households per transaction")
    renew.add_argument("--by", default=cli_actor(), help="who runs it, for the audit log")
    renew.set_defaults(run=_renew)

    groups = commands.add_parser(
        "groups", help="group payers: schools, associations, cooperatives"
    ).add_subparsers(title="groups commands")
    add = groups.add_parser("add", help="a new group payer in a mutual")
    add.add_argument("code", help="2-24 capital letters, digits or dashes, e.g. EPP-KANDI")
    add.add_argument("--name", required=True)
    add.add_argument(
        "--kind", required=True, choices=("school", "association", "cooperative", "occupation")
    )
    add.add_argument("--mutual", required=True, help="the mutual's code")
    add.add_argument("--treasurer", help="the treasurer's phone (mobile money)")
    add.set_defaults(run=_add)
    sign = groups.add_parser("contract", help="the contract of one year")
    sign.add_argument("code")
    sign.add_argument("--year", required=True, type=int)
    sign.add_argument("--product", required=True, help="the product its households are on")
    sign.add_argument("--from", dest="starts_on", required=True, help="YYYY-MM-DD")
    sign.add_argument("--to", dest="ends_on", required=True, help="YYYY-MM-DD")
    sign.set_defaults(run=_sign)
    join = groups.add_parser("join", help="a household already enrolled joins a group")
    join.add_argument("code")
    join.add_argument("member_no", help="a member number of the household")
    join.set_defaults(run=_join)
    groups.add_parser("list", help="the groups and how many households each").set_defaults(
        run=_list
    )
    invoice = groups.add_parser("invoice", help="a group's invoices, one per contract year")
    invoice.add_argument("code")
    invoice.set_defaults(run=_invoice)
    pay = groups.add_parser(
        "pay", help="record a group's transfer (bank or mobile money), once per reference"
    )
    pay.add_argument("code")
    pay.add_argument("--amount", required=True, type=int, help="whole francs received")
    pay.add_argument("--reference", required=True, help="the transfer's reference")
    pay.add_argument("--received-on", help="YYYY-MM-DD, today by default")
    pay.set_defaults(run=_pay)

    exemptions = commands.add_parser(
        "exemptions", help="pregnancy and indigence exemptions"
    ).add_subparsers(title="exemptions commands")
    sett = exemptions.add_parser("set", help="record an exemption for a member")
    sett.add_argument("member_no")
    sett.add_argument("--ground", required=True, choices=("pregnancy", "indigent"))
    sett.add_argument("--from", dest="starts_on", help="YYYY-MM-DD, today by default")
    sett.add_argument("--until", dest="ends_on", help="YYYY-MM-DD (a pregnancy needs one)")
    sett.set_defaults(run=_exempt)


def _day(text: str | None, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _renew(context: Context, args: argparse.Namespace) -> int:
    from db.engine import create_engine_sync, sync_session_factory
    from gateway.caller_changes import for_commands
    from gateway.enrolment.bulk_renewal import BulkRenewal, UnknownMutual

    if args.batch < 1:
        return refused("renewed", ValueError("--batch must be at least 1"))
    engine = create_engine_sync(context.settings.database_url)
    try:
        run = BulkRenewal(
            sync_session_factory(engine, for_commands(context.settings)),
            context.now,
            args.by,
            args.batch,
        )
        outcome = run.run(args.mutual, args.product, dry_run=args.dry_run)
    except UnknownMutual:
        return refused("renewed", LookupError(f"no mutual {args.mutual!r} (alafia scheme show)"))
    except LookupError:
        return refused("renewed", LookupError(f"no product {args.product!r}"))
    finally:
        engine.dispose()
    verb = "would renew" if args.dry_run else "renewed"
    print(f"{args.mutual}: {verb} {outcome.households:,} households")
    for product, figures in sorted(outcome.renewed.items()):
        payers = ", ".join(
            f"{code} {amount:,}" for code, amount in sorted(figures.sponsors.items())
        )
        print(
            f"  {product:<12} {figures.households:>8,} households {figures.persons:>9,} persons"
            f" {figures.premium:>14,} XOF  paid by: {payers or '-'}"
        )
    print(
        f"already renewed {outcome.already:,}; not due {outcome.not_due:,}; "
        f"owing a share of their own (left to them) {outcome.household_pays:,}; "
        f"group without a contract for that year {outcome.no_contract:,}"
    )
    return 0


def _groups(context: Context) -> Any:
    from gateway.groups.payers import GroupPayers

    return lambda work: context.with_sessions(lambda sessions: work(GroupPayers(sessions)))


def _add(context: Context, args: argparse.Namespace) -> int:
    from gateway.groups.payers import GroupError

    try:
        phone = context.phone(args.treasurer) if args.treasurer else None
        _groups(context)(
            lambda groups: groups.add(
                args.code,
                args.name,
                args.kind,
                args.mutual,
                phone,
                by=cli_actor(),
                scope=None,
                now=context.now(),
            )
        )
    except (GroupError, ValueError) as error:
        return refused("added", error)
    print(f"group {args.code} added; sign its contract: alafia groups contract {args.code} ...")
    return 0


def _sign(context: Context, args: argparse.Namespace) -> int:
    from gateway.groups.payers import GroupError

    try:
        starts, ends = _day(args.starts_on, date.min), _day(args.ends_on, date.min)
        contract = _groups(context)(
            lambda groups: groups.sign(
                args.code,
                args.year,
                args.product,
                starts,
                ends,
                by=cli_actor(),
                scope=None,
                now=context.now(),
            )
        )
    except LookupError:
        return refused("signed", LookupError(f"no group {args.code!r}"))
    except (GroupError, ValueError) as error:
        return refused("signed", error)
    print(f"contract {args.year} of {args.code}: invoice {contract.invoice_no}")
    return 0


def _join(context: Context, args: argparse.Namespace) -> int:
    from gateway.groups.payers import GroupError

    try:
        _groups(context)(
            lambda groups: groups.join(
                args.code, args.member_no, by=cli_actor(), scope=None, now=context.now()
            )
        )
    except LookupError:
        return refused("joined", LookupError(f"no group {args.code!r}"))
    except GroupError as error:
        return refused("joined", error)
    print(f"household of {args.member_no} now paid by {args.code} from its next year")
    return 0


def _list(context: Context, args: argparse.Namespace) -> int:
    for row in _groups(context)(lambda groups: groups.listing(None)):
        print(f"{row.code:<16} {row.kind:<12} {row.mutual:<12} {row.households:>6} households")
    return 0


def _invoice(context: Context, args: argparse.Namespace) -> int:
    try:
        invoices = _groups(context)(lambda groups: groups.invoices(args.code, None))
    except LookupError:
        return refused("shown", LookupError(f"no group {args.code!r}"))
    if not invoices:
        print(f"{args.code} has no contract yet")
    for invoice in invoices:
        print(
            f"{invoice.invoice_no}  {invoice.year}  {invoice.product}  "
            f"{invoice.households} households  {invoice.amount:,} XOF  "
            f"paid {invoice.paid:,}  outstanding {invoice.outstanding:,}"
        )
    return 0


def _pay(context: Context, args: argparse.Namespace) -> int:
    from gateway.groups.payers import GroupError

    now = context.now()
    try:
        received = _day(args.received_on, now.date())
        allocated = _groups(context)(
            lambda groups: groups.record_transfer(
                args.code,
                args.amount,
                args.reference,
                received,
                by=cli_actor(),
                scope=None,
                now=now,
            )
        )
    except LookupError:
        return refused("recorded", LookupError(f"no group {args.code!r}"))
    except (GroupError, ValueError) as error:
        return refused("recorded", error)
    print(f"{args.amount:,} XOF from {args.code}: {allocated:,} allocated to its households' years")
    if allocated < args.amount:
        print(
            f"{args.amount - allocated:,} XOF is more than it owes today: recorded, not allocated"
        )
    return 0


def _exempt(context: Context, args: argparse.Namespace) -> int:
    from gateway.groups.exemption_desk import ExemptionDesk
    from gateway.groups.exemption_rules import ExemptionRefused

    now = context.now()
    try:
        starts = _day(args.starts_on, now.date())
        ends = _day(args.ends_on, date.max) if args.ends_on else None
        context.with_sessions(
            lambda sessions: ExemptionDesk(sessions).record(
                args.member_no, args.ground, starts, ends, by=cli_actor(), scope=None, now=now
            )
        )
    except (ExemptionRefused, ValueError) as error:
        return refused("recorded", error)
    until = f" until {ends.isoformat()}" if ends else ""
    print(f"{args.ground} recorded for {args.member_no} from {starts.isoformat()}{until}")
    return 0
