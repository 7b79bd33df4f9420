"""`alafia sms ...`: what the outbox holds, a household's reminders, campaigns."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from gateway.actors import cli_actor
from gateway.commands import CommandGroup, Context

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


def add_commands(commands: CommandGroup[Any]) -> None:
    sms = commands.add_parser("sms", help="text messages").add_subparsers(title="sms commands")
    status = sms.add_parser("status", help="what the outbox holds")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(run=_status)
    schedule = sms.add_parser("schedule", help="the reminders of a member's household")
    schedule.add_argument("--member", required=True, help="a member number of the household")
    schedule.set_defaults(run=_schedule)
    campaign = sms.add_parser("campaign", help="a message to a part of the scheme")
    campaign.add_argument("--mutual", help="the mutual's code")
    campaign.add_argument("--commune", help="only households of this commune")
    campaign.add_argument(
        "--template", required=True, help="campaign_enrol, campaign_pay or campaign_renew"
    )
    campaign.add_argument("--yes", action="store_true", help="queue without asking")
    campaign.add_argument(
        "--by", default=cli_actor(), help="who asks, for the record (default cli:$USER)"
    )
    campaign.set_defaults(run=_campaign)


def _status(context: Context, args: argparse.Namespace) -> int:
    from gateway.sms.overview import outbox_figures

    now = context.now()
    figures = context.with_sessions(lambda sessions: outbox_figures(sessions, now))
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{'purpose':<14}{'status':<13}{'messages':>9}{'segments':>10}")
    for row in figures["by_purpose"]:
        print(f"{row['purpose']:<14}{row['status']:<13}{row['messages']:>9}{row['segments']:>10}")
    oldest = figures["oldest_queued_minutes"]
    print(f"\nqueued for {oldest} min at most" if oldest is not None else "\nnothing queued")
    print(f"{figures['retrying']} waiting to be retried")
    print(f"{figures['opted_out_numbers']} numbers opted out of reminders")
    for row in figures["not_sent"]:
        print(f"  {row['status']:<12} {row['messages']:>7}  {row['reason'] or '-'}")
    return 0


def _schedule(context: Context, args: argparse.Namespace) -> int:
    from gateway.sms.outbox import Outbox
    from gateway.sms.overview import household_schedule
    from gateway.sms.reminders import Reminders

    settings = context.settings
    now = context.now()

    async def plan(sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, str]] | None:
        reminders = Reminders(
            sessions,
            Outbox.configured(settings),
            lambda: now,
            premium_due_days=settings.sms.premium_due_days,
            cover_ending_days=settings.sms.cover_ending_days,
            every_seconds=settings.sms.sweep_seconds,
        )
        return await household_schedule(sessions, reminders, args.member, now.date())

    rows = context.with_sessions(plan)
    if rows is None:
        print(f"no member {args.member}", file=sys.stderr)
        return 2
    for row in rows:
        print(f"{row['day']}  {row['kind']:<15} {row['state']}")
    return 0


def _campaign(context: Context, args: argparse.Namespace) -> int:
    from gateway.sms.campaigns import CampaignError, Campaigns, Segment
    from gateway.sms.outbox import Outbox
    from gateway.sms.texts import CAMPAIGN_TEMPLATES

    if args.template not in CAMPAIGN_TEMPLATES:
        print(f"--template must be one of {', '.join(CAMPAIGN_TEMPLATES)}", file=sys.stderr)
        return 2
    outbox = Outbox.configured(context.settings)
    segment = Segment(args.mutual, args.commune)

    def campaigns(sessions: async_sessionmaker[AsyncSession]) -> Campaigns:
        return Campaigns(sessions, outbox, context.now)

    try:
        count = context.with_sessions(lambda sessions: campaigns(sessions).audience(segment))
        print(f"{count} numbers in {segment.describe()} (numbers that said STOP left out)")
        if count == 0:
            return 0
        if not args.yes and input(f"Queue {count} messages? [y/N] ").strip().lower() != "y":
            print("nothing queued")
            return 1
        campaign_id, queued = context.with_sessions(
            lambda sessions: campaigns(sessions).send(segment, args.template, args.by)
        )
    except CampaignError as error:
        print(f"not queued: {error}", file=sys.stderr)
        return 2
    print(f"campaign {campaign_id}: {queued} messages queued; the worker sends them")
    return 0
