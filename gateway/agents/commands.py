"""`alafia agents ...`: field agents' accounts, their cash and what they did."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from gateway.actors import agent_actor, cli_actor
from gateway.agents.activation import Activation, shown
from gateway.commands import CommandGroup, Context

T = TypeVar("T")


def add_commands(commands: CommandGroup[Any]) -> None:
    agents = commands.add_parser("agents", help="field agents").add_subparsers(
        title="agents commands"
    )
    add = agents.add_parser(
        "add", help="an agent of a mutual, recognised by phone; prints their activation code"
    )
    add.add_argument("--phone", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--mutual", required=True, help="the mutual's code")
    add.set_defaults(run=_add)
    listing = agents.add_parser("list", help="agents and the state of their accounts")
    listing.add_argument("--mutual", help="only this mutual's agents")
    listing.set_defaults(run=_list)
    for name, helped, method in (
        ("disable", "stop an agent's account at once", "disable"),
        ("enable", "allow a disabled agent again", "enable"),
        ("reset-pin", "a new activation code: the agent then chooses a new PIN", "reset_pin"),
        ("unlock", "lift a lock after too many wrong PINs, the last one too", "unlock"),
    ):
        command = agents.add_parser(name, help=helped)
        command.add_argument("--phone", required=True)
        command.set_defaults(run=_account_change, method=method)
    cash = agents.add_parser("cash", help="cash each agent collected, handed over and holds")
    cash.add_argument("--agent", help="the agent's phone")
    cash.add_argument("--mutual", help="only this mutual's agents")
    cash.add_argument("--json", action="store_true", help="machine-readable output")
    cash.set_defaults(run=_cash)
    handover = agents.add_parser("handover", help="record cash an agent gave to the mutual")
    handover.add_argument("--agent", required=True, help="the agent's phone")
    handover.add_argument("--amount", required=True, type=int, help="whole francs")
    handover.add_argument("--received-by", required=True, help="who at the mutual took it")
    handover.add_argument(
        "--reference",
        required=True,
        help="the mutual's slip number: recorded once, so a retried command changes nothing",
    )
    handover.set_defaults(run=_handover)
    audit = agents.add_parser("audit", help="what agents did, newest first")
    audit.add_argument("--agent", help="the agent's phone")
    audit.add_argument("--member", help="a member number of the household")
    audit.add_argument("--limit", type=int, default=50)
    audit.add_argument("--json", action="store_true", help="machine-readable output")
    audit.set_defaults(run=_audit)


def _run(context: Context, work: Callable[[Any], Awaitable[T]]) -> T:
    return context.with_sessions(lambda sessions: work((sessions, context.now)))


def _add(context: Context, args: argparse.Namespace) -> int:
    from gateway.agents.accounts import AgentError, Agents

    try:
        phone = context.phone(args.phone)
        added = _run(context, lambda s: Agents(*s).add(phone, args.name, args.mutual, cli_actor()))
    except (ValueError, AgentError) as error:
        print(f"not added: {error}", file=sys.stderr)
        return 2
    print(f"agent {args.name} added for {args.mutual}")
    _print_activation(added)
    return 0


def _print_activation(issued: Activation) -> None:
    """The code, this once: only its hash is kept."""
    print(
        f"activation code: {shown(issued.code)} (once, until {issued.expires_at:%Y-%m-%d %H:%M}): "
        "give it to the agent, who types it on the first dial, then chooses a PIN"
    )


def _list(context: Context, args: argparse.Namespace) -> int:
    from gateway.agents.accounts import Agents

    rows = _run(context, lambda s: Agents(*s).listing(args.mutual))
    if not rows:
        print("no agents")
    for row in rows:
        print(f"{row.mutual:<14} {row.phone:<16} {row.state:<10} {row.name}")
    return 0


def _account_change(context: Context, args: argparse.Namespace) -> int:
    from gateway.agents.accounts import AgentError, Agents

    try:
        phone = context.phone(args.phone)
        done = _run(context, lambda s: getattr(Agents(*s), args.method)(phone, cli_actor()))
    except (ValueError, AgentError) as error:
        print(f"not changed: {error}", file=sys.stderr)
        return 2
    print(f"{phone}: done ({args.method.replace('_', ' ')})")
    if isinstance(done, Activation):
        _print_activation(done)
    return 0


def _cash(context: Context, args: argparse.Namespace) -> int:
    from gateway.agents.ledger import CashLedger

    try:
        phone = context.phone(args.agent) if args.agent else None
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 2
    positions = _run(context, lambda s: CashLedger(*s).positions(phone, args.mutual))
    if args.json:
        rows = [
            {
                "phone": p.phone,
                "name": p.name,
                "mutual": p.mutual,
                "collected": p.collected,
                "payments": p.payments,
                "handed_over": p.handed_over,
                "held": p.held,
            }
            for p in positions
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not positions:
        print("no such agent" if phone else "no agents")
        return 2 if phone else 0
    print(f"{'mutual':<14}{'agent':<28}{'collected':>12}{'handed over':>13}{'holds':>10}")
    for p in positions:
        print(
            f"{p.mutual:<14}{(p.name + ' ' + p.phone)[:27]:<28}"
            f"{p.collected:>12,}{p.handed_over:>13,}{p.held:>10,}"
        )
    return 0


def _handover(context: Context, args: argparse.Namespace) -> int:
    from gateway.agents.ledger import CashLedger, LedgerError

    try:
        phone = context.phone(args.agent)
        position = _run(
            context,
            lambda s: CashLedger(*s).hand_over(
                phone, args.amount, args.received_by, args.reference, cli_actor()
            ),
        )
    except (ValueError, LedgerError) as error:
        print(f"not recorded: {error}", file=sys.stderr)
        return 2
    print(f"{args.amount:,} XOF handed over by {position.name}; they still hold {position.held:,}")
    return 0


def _audit(context: Context, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from db import models
    from gateway import audit

    async def entries(sessions: Any) -> list[models.AuditEntry]:
        actor = household_id = None
        async with sessions() as session:
            if args.agent:
                agent_id = await session.scalar(
                    select(models.Agent.id).where(models.Agent.phone == context.phone(args.agent))
                )
                if agent_id is None:
                    raise ValueError(f"no agent with phone {args.agent}")
                actor = agent_actor(agent_id)
            if args.member:
                household_id = await session.scalar(
                    select(models.Member.household_id).where(models.Member.member_no == args.member)
                )
                if household_id is None:
                    raise ValueError(f"no member {args.member}")
        return await audit.search(
            sessions, actor=actor, household_id=household_id, limit=args.limit
        )

    try:
        rows = context.with_sessions(entries)
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 2
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "at": r.at.isoformat(),
                        "actor": r.actor,
                        "action": r.action,
                        "household_id": r.household_id,
                        "member_no": r.member_no,
                        "details": r.details,
                    }
                    for r in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    if not rows:
        print("nothing recorded")
    for r in rows:
        where = f" household {r.household_id}" if r.household_id else ""
        member = f" member {r.member_no}" if r.member_no else ""
        details = f" {json.dumps(r.details, ensure_ascii=False)}" if r.details else ""
        print(f"{r.at:%Y-%m-%d %H:%M:%S} {r.actor:<14} {r.action:<18}{where}{member}{details}")
    return 0
