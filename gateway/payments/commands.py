"""`alafia payments review` and `alafia sponsors show|settle`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from gateway.commands import CommandGroup, Context


def add_commands(commands: CommandGroup[Any]) -> None:
    payments = commands.add_parser("payments", help="mobile-money payments").add_subparsers(
        title="payments commands"
    )
    review = payments.add_parser(
        "review", help="payments held for review, and callbacks for unknown references"
    )
    review.add_argument("--json", action="store_true", help="machine-readable output")
    review.set_defaults(run=_review)
    refunded = payments.add_parser(
        "refunded", help="record that a payment held for refund was given back"
    )
    refunded.add_argument("reference", help="the payment's reference, as review lists it")
    refunded.add_argument(
        "--note", required=True, help="how it was given back (the transfer's reference)"
    )
    refunded.set_defaults(run=_refunded)

    sponsors = commands.add_parser("sponsors", help="sponsors' shares of premiums").add_subparsers(
        title="sponsors commands"
    )
    sponsors.add_parser("show", help="what each sponsor owes").set_defaults(run=_sponsors_show)
    settle = sponsors.add_parser("settle", help="record a sponsor's bulk payment")
    settle.add_argument("--sponsor", required=True, help="the sponsor's code")
    settle.add_argument("--amount", required=True, type=int, help="whole francs received")
    settle.add_argument(
        "--reference", required=True, help="the transfer's reference (entered once)"
    )
    settle.add_argument("--received-on", help="YYYY-MM-DD, today by default")
    settle.set_defaults(run=_sponsors_settle)


def _review(context: Context, args: argparse.Namespace) -> int:
    from gateway.payments.ledger import Billing

    timezone = context.settings.timezone
    items = context.with_sessions(lambda sessions: Billing(sessions, timezone).for_review())
    if args.json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
        return 0
    if not items:
        print("nothing to review")
    for item in items:
        if item["kind"] == "payment" and item["refund_due"]:
            print(
                f"refund {item['refund_due']} {item['currency']} of payment "
                f"{item['reference']} to payer {item['payer'] or '-'} via {item['provider']} "
                f"(provider id {item['provider_transaction_id'] or '-'}), household "
                f"{item['household_id']}, debt already paid by "
                f"{', '.join(item['credited_with']) or '-'}"
            )
        elif item["kind"] == "payment":
            print(
                f"payment {item['reference']}  {item['status']:<13} {item['reason']:<24} "
                f"{item['amount']} {item['currency']} via {item['provider']} "
                f"(provider id {item['provider_transaction_id'] or '-'}, "
                f"payer {item['payer'] or '-'})"
            )
        else:
            print(
                f"callback for unknown reference {item['reference']} "
                f"from {item['provider']} at {item['received_at']}"
            )
    return 0


def _refunded(context: Context, args: argparse.Namespace) -> int:
    from gateway.actors import cli_actor
    from gateway.payments.ledger import Billing

    timezone = context.settings.timezone
    try:
        amount = context.with_sessions(
            lambda sessions: Billing(sessions, timezone).record_refund(
                args.reference, args.note, cli_actor()
            )
        )
    except (LookupError, ValueError) as error:
        print(f"not recorded: {error}", file=sys.stderr)
        return 2
    print(f"refund of {amount} XOF recorded for payment {args.reference}")
    return 0


def _sponsors_show(context: Context, args: argparse.Namespace) -> int:
    from gateway.payments.sponsors import Sponsors

    for owed in context.with_sessions(lambda sessions: Sponsors(sessions).receivables()):
        owing = f"{owed.owed:>12,} XOF owed on {owed.periods} periods"
        print(f"{owed.sponsor:<14} {owing}  {owed.name}")
    return 0


def _sponsors_settle(context: Context, args: argparse.Namespace) -> int:
    from gateway.payments.sponsors import Sponsors

    now = context.now()
    try:
        received = date.fromisoformat(args.received_on) if args.received_on else now.date()
    except ValueError:
        print("--received-on must be YYYY-MM-DD", file=sys.stderr)
        return 2
    try:
        allocated = context.with_sessions(
            lambda sessions: Sponsors(sessions).settle(
                args.sponsor, args.amount, args.reference, received, now
            )
        )
    except (LookupError, ValueError) as error:
        print(f"not recorded: {error}", file=sys.stderr)
        return 2
    print(f"{args.amount:,} XOF from {args.sponsor}: {allocated:,} allocated to periods it owed")
    if allocated < args.amount:
        extra = args.amount - allocated
        print(f"{extra:,} XOF is more than it owed today: recorded, not allocated")
    return 0
