"""`alafia`: run, set up and try the gateway.

alafia demo                 everything on embedded defaults, with a demo scheme
alafia serve                the production HTTP server
alafia worker               the background worker (payments, SMS, reminders)
alafia payments review      payments and callbacks that need a person
alafia sms status           the SMS outbox: what left, what waits, what was refused
alafia sms schedule         the reminders of a household
alafia sms campaign         a message to every household of a mutual or commune
alafia register status      events waiting for, pushed to or refused by the central register
alafia register retry       send dead (or skipped) events again
alafia facilities add       a health facility, its API key and desk phones
alafia agents add           a field agent (also list, disable, reset-pin, cash, handover, audit)
alafia import households    households from a spreadsheet (CSV), checked row by row
alafia staff add            a dashboard account (also list, disable, reset-password, unlock)
alafia db upgrade           create or migrate the database
alafia scheme load FILE     load mutuals and products (YAML or JSON)
alafia scheme show          what is loaded
alafia dial                 a terminal phone against a running gateway
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gateway import logs
from gateway.settings import ConfigError, Settings

if TYPE_CHECKING:  # the CLI imports SQLAlchemy only for the commands that need it
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger("alafia")
T = TypeVar("T")
_now: ContextVar[Callable[[], datetime] | None] = ContextVar("now", default=None)


def main(argv: Sequence[str] | None = None, *, now: Callable[[], datetime] | None = None) -> int:
    """`now`: the clock commands read (tests fix it); the scheme's real time otherwise."""
    _now.set(now)
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
    return int(args.run(settings, args) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alafia", description="USSD and SMS gateway for health mutuals"
    )
    commands = parser.add_subparsers(title="commands")

    demo = commands.add_parser(
        "demo", help="run everything on embedded defaults with a demo scheme"
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--access-log", action="store_true", help="log every HTTP request")
    demo.set_defaults(run=_demo)

    serve = commands.add_parser("serve", help="run the production HTTP server")
    serve.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to listen on every interface")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--access-log", action="store_true", help="log every HTTP request")
    serve.set_defaults(run=_serve)

    worker = commands.add_parser(
        "worker", help="run the background worker (payments, SMS, reminders)"
    )
    worker.add_argument(
        "--idle", type=float, default=1.0, help="seconds to wait when nothing is due"
    )
    worker.set_defaults(run=_worker)

    db = commands.add_parser("db", help="database schema").add_subparsers(title="db commands")
    upgrade = db.add_parser("upgrade", help="create or migrate the database to the latest schema")
    upgrade.set_defaults(run=_db_upgrade)

    scheme = commands.add_parser("scheme", help="mutuals and products").add_subparsers(
        title="scheme commands"
    )
    load = scheme.add_parser(
        "load", help="load units, occupations and products from a YAML or JSON file"
    )
    load.add_argument("file", type=Path)
    load.set_defaults(run=_scheme_load)
    show = scheme.add_parser("show", help="show the loaded scheme")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(run=_scheme_show)

    payments = commands.add_parser("payments", help="mobile-money payments").add_subparsers(
        title="payments commands"
    )
    review = payments.add_parser(
        "review", help="payments held for review, and callbacks for unknown references"
    )
    review.add_argument("--json", action="store_true", help="machine-readable output")
    review.set_defaults(run=_payments_review)

    sponsors = commands.add_parser("sponsors", help="sponsors' shares of premiums").add_subparsers(
        title="sponsors commands"
    )
    owed = sponsors.add_parser("show", help="what each sponsor owes")
    owed.set_defaults(run=_sponsors_show)
    settle = sponsors.add_parser("settle", help="record a sponsor's bulk payment")
    settle.add_argument("--sponsor", required=True, help="the sponsor's code")
    settle.add_argument("--amount", required=True, type=int, help="whole francs received")
    settle.add_argument(
        "--reference", required=True, help="the transfer's reference (entered once)"
    )
    settle.add_argument("--received-on", help="YYYY-MM-DD, today by default")
    settle.set_defaults(run=_sponsors_settle)

    sms = commands.add_parser("sms", help="text messages").add_subparsers(title="sms commands")
    sms_status = sms.add_parser("status", help="what the outbox holds")
    sms_status.add_argument("--json", action="store_true", help="machine-readable output")
    sms_status.set_defaults(run=_sms_status)
    schedule = sms.add_parser("schedule", help="the reminders of a member's household")
    schedule.add_argument("--member", required=True, help="a member number of the household")
    schedule.set_defaults(run=_sms_schedule)
    campaign = sms.add_parser("campaign", help="a message to a part of the scheme")
    campaign.add_argument("--mutual", help="the mutual's code")
    campaign.add_argument("--commune", help="only households of this commune")
    campaign.add_argument(
        "--template", required=True, help="campaign_enrol, campaign_pay or campaign_renew"
    )
    campaign.add_argument("--yes", action="store_true", help="queue without asking")
    campaign.add_argument("--by", default=os.environ.get("USER", "cli"), help="who asks")
    campaign.set_defaults(run=_sms_campaign)

    register = commands.add_parser("register", help="the central register").add_subparsers(
        title="register commands"
    )
    register_status = register.add_parser("status", help="pending, failing and dead events")
    register_status.add_argument("--json", action="store_true", help="machine-readable output")
    register_status.set_defaults(run=_register_status)
    retry = register.add_parser("retry", help="send dead events again")
    retry.add_argument("--event", type=int, action="append", help="only this event id")
    retry.add_argument(
        "--skipped",
        action="store_true",
        help="also events skipped while the gateway was its own register",
    )
    retry.set_defaults(run=_register_retry)

    facilities = commands.add_parser("facilities", help="health facilities").add_subparsers(
        title="facilities commands"
    )
    add_facility = facilities.add_parser("add", help="a facility; prints its API key once")
    add_facility.add_argument("--code", required=True)
    add_facility.add_argument("--name", required=True)
    add_facility.add_argument(
        "--phone", action="append", default=[], help="a desk phone (repeat for several)"
    )
    add_facility.set_defaults(run=_facilities_add)
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

    from gateway.agents import commands as agent_commands
    from gateway.imports import commands as import_commands
    from gateway.staff import commands as staff_commands

    for part in (agent_commands, import_commands, staff_commands):
        part.add_commands(commands)

    dial = commands.add_parser(
        "dial", help="a terminal phone: a USSD session against a running gateway"
    )
    dial.add_argument("--url", default="http://127.0.0.1:8000/ussd")
    dial.add_argument("--phone", default="+2290197000001")
    dial.add_argument("--code", default="*384*22#")
    dial.add_argument("--input", help='answers separated by commas, e.g. "1,1,1,ADJOVI,Koffi"')
    dial.set_defaults(run=_dial)
    return parser


def _migrate(settings: Settings) -> None:
    from db.migrate import upgrade

    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)


def _db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    _migrate(settings)
    print("database is at the latest schema")
    return 0


def _scheme_load(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from db.engine import create_engine_sync
    from gateway.scheme import document as scheme

    try:
        document = scheme.read_file(args.file)
        engine = create_engine_sync(settings.database_url)
        with Session(engine) as session, session.begin():
            report = scheme.load(session, document)
        engine.dispose()
    except scheme.SchemeError as error:
        print(f"{args.file}: not loaded, nothing changed:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    print(
        f"loaded {report.units} units, {report.occupations} occupations, {report.products} products"
    )
    return 0


def _scheme_show(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from db.engine import create_engine_sync
    from gateway.scheme import document as scheme

    engine = create_engine_sync(settings.database_url)
    with Session(engine) as session:
        described = scheme.describe(session)
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


def _clock(settings: Settings) -> Callable[[], datetime]:
    """The scheme's time of day, as the gateway reads it."""
    from zoneinfo import ZoneInfo

    fixed = _now.get()
    if fixed is not None:
        return fixed
    zone = ZoneInfo(settings.timezone)
    return lambda: datetime.now(zone)


def _with_sessions(
    settings: Settings, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]
) -> T:
    """Run one piece of async database work from a command, on an engine of its own."""
    import asyncio

    from db.engine import create_engine_async, session_factory

    async def run() -> T:
        engine = create_engine_async(settings.database_url)
        try:
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _payments_review(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.payments.ledger import Billing

    items = _with_sessions(
        settings, lambda sessions: Billing(sessions, settings.timezone).for_review()
    )
    if args.json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
        return 0
    if not items:
        print("nothing to review")
    for item in items:
        if item["kind"] == "payment":
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


def _sponsors_show(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.payments.sponsors import Sponsors

    for owed in _with_sessions(settings, lambda sessions: Sponsors(sessions).receivables()):
        owing = f"{owed.owed:>12,} XOF owed on {owed.periods} periods"
        print(f"{owed.sponsor:<14} {owing}  {owed.name}")
    return 0


def _sponsors_settle(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import date

    from gateway.payments.sponsors import Sponsors

    now = _clock(settings)()
    try:
        received = date.fromisoformat(args.received_on) if args.received_on else now.date()
    except ValueError:
        print("--received-on must be YYYY-MM-DD", file=sys.stderr)
        return 2

    try:
        allocated = _with_sessions(
            settings,
            lambda sessions: Sponsors(sessions).settle(
                args.sponsor, args.amount, args.reference, received, now
            ),
        )
    except (LookupError, ValueError) as error:
        print(f"not recorded: {error}", file=sys.stderr)
        return 2
    print(f"{args.amount:,} XOF from {args.sponsor}: {allocated:,} allocated to periods it owed")
    if allocated < args.amount:
        extra = args.amount - allocated
        print(f"{extra:,} XOF is more than it owed today: recorded, not allocated")
    return 0


def _sms_status(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.sms.overview import outbox_figures

    now = _clock(settings)()
    figures = _with_sessions(settings, lambda sessions: outbox_figures(sessions, now))
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


def _sms_schedule(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.sms.outbox import Outbox
    from gateway.sms.overview import household_schedule
    from gateway.sms.reminders import Reminders

    now = _clock(settings)()

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

    rows = _with_sessions(settings, plan)
    if rows is None:
        print(f"no member {args.member}", file=sys.stderr)
        return 2
    for row in rows:
        print(f"{row['day']}  {row['kind']:<15} {row['state']}")
    return 0


def _sms_campaign(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.sms.campaigns import CampaignError, Campaigns, Segment
    from gateway.sms.outbox import Outbox
    from gateway.sms.texts import CAMPAIGN_TEMPLATES

    if args.template not in CAMPAIGN_TEMPLATES:
        print(f"--template must be one of {', '.join(CAMPAIGN_TEMPLATES)}", file=sys.stderr)
        return 2
    outbox = Outbox.configured(settings)
    segment = Segment(args.mutual, args.commune)

    def campaigns(sessions: async_sessionmaker[AsyncSession]) -> Campaigns:
        return Campaigns(sessions, outbox, _clock(settings))

    try:
        count = _with_sessions(settings, lambda sessions: campaigns(sessions).audience(segment))
        print(f"{count} numbers in {segment.describe()} (numbers that said STOP left out)")
        if count == 0:
            return 0
        if not args.yes and input(f"Queue {count} messages? [y/N] ").strip().lower() != "y":
            print("nothing queued")
            return 1
        campaign_id, queued = _with_sessions(
            settings, lambda sessions: campaigns(sessions).send(segment, args.template, args.by)
        )
    except CampaignError as error:
        print(f"not queued: {error}", file=sys.stderr)
        return 2
    print(f"campaign {campaign_id}: {queued} messages queued; the worker sends them")
    return 0


def _register_queue(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> Any:
    from gateway.register.sync import RegisterQueue

    return RegisterQueue(sessions, _clock(settings))


def _register_status(settings: Settings, args: argparse.Namespace) -> int:
    status = _with_sessions(settings, lambda s: _register_queue(s, settings).status())
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(f"register: {settings.register.adapter}")
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


def _register_retry(settings: Settings, args: argparse.Namespace) -> int:
    statuses = ("dead", "skipped") if args.skipped else ("dead",)
    moved = _with_sessions(
        settings,
        lambda s: _register_queue(s, settings).retry(event_ids=args.event, statuses=statuses),
    )
    print(f"{moved} events queued again; the worker pushes them")
    return 0


def _facilities(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    from gateway.register.facilities import Facilities

    return _with_sessions(settings, lambda s: work(Facilities(s, _clock(settings))))


def _phones(settings: Settings, typed: list[str]) -> list[str]:
    from menus.identifiers import PhoneNumberError, normalise_phone

    phones = []
    for phone in typed:
        try:
            phones.append(normalise_phone(phone, settings.country))
        except PhoneNumberError:
            raise ValueError(f"{phone!r} is not a valid phone number") from None
    return phones


def _facilities_add(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.register.facilities import FacilityError

    try:
        phones = _phones(settings, args.phone)
        _, key = _facilities(settings, lambda f: f.add(args.code, args.name, phones))
    except (ValueError, FacilityError) as error:
        print(f"not added: {error}", file=sys.stderr)
        return 2
    print(f"facility {args.code} added. Its API key (shown only now, keep it safe):\n{key}")
    return 0


def _facilities_list(settings: Settings, args: argparse.Namespace) -> int:
    for row in _facilities(settings, lambda f: f.listing()):
        state = "revoked" if row["revoked"] else "active"
        phones = ", ".join(str(p) for p in row["phones"]) or "no desk phone"
        key = f"alf_{row['key_prefix']}_..."
        print(f"{row['code']:<14} {state:<8} {key}  {row['name']} ({phones})")
    return 0


def _facilities_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.register.facilities import FacilityError

    try:
        _facilities(settings, lambda f: f.revoke(args.code))
    except FacilityError as error:
        print(f"not revoked: {error}", file=sys.stderr)
        return 2
    print(f"the key of {args.code} is revoked (other processes stop accepting it within 30 s)")
    return 0


def _facilities_new_key(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.register.facilities import FacilityError

    try:
        key = _facilities(settings, lambda f: f.new_key(args.code))
    except FacilityError as error:
        print(f"no new key: {error}", file=sys.stderr)
        return 2
    print(f"new API key for {args.code} (shown only now; the old one no longer works):\n{key}")
    return 0


def _facilities_phones(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.register.facilities import FacilityError

    try:
        phones = _phones(settings, args.phone)
        _facilities(settings, lambda f: f.set_phones(args.code, phones))
    except (ValueError, FacilityError) as error:
        print(f"not changed: {error}", file=sys.stderr)
        return 2
    print(f"{args.code}: {len(phones)} desk phones")
    return 0


DEMO_FACILITY = "CS-DEMO"
DEMO_DESK_PHONE = "+2290197000099"


def _demo_facility(settings: Settings) -> str | None:
    """A demo health centre, so that eligibility can be tried by API, USSD and SMS; its key
    only the first time (the gateway keeps no copy of it)."""
    from gateway.register.facilities import FacilityError

    try:
        _, key = _facilities(
            settings,
            lambda f: f.add(DEMO_FACILITY, "Centre de santé (démo)", [DEMO_DESK_PHONE]),
        )
    except FacilityError:
        return None  # made by an earlier demo
    return key


DEMO_AGENT = "+2290197000050"


def _demo_agent(settings: Settings) -> bool:
    """A demo field agent of the Parakou mutual, who chooses a PIN on the first dial;
    True when made now."""
    from gateway.agents.accounts import AgentError, Agents

    try:
        _with_sessions(
            settings,
            lambda s: Agents(s, _clock(settings)).add(
                DEMO_AGENT, "Agent démo", "MS-PARAKOU", "demo"
            ),
        )
    except AgentError:
        return False  # made by an earlier demo
    return True


def _demo_staff(settings: Settings) -> list[tuple[str, str]]:
    from gateway.staff.demo import ensure_demo_staff

    return _with_sessions(settings, lambda s: ensure_demo_staff(s, _clock(settings)))


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn
    from sqlalchemy.orm import Session

    from db.engine import create_engine_sync
    from gateway.app import create_app
    from gateway.scheme import document as scheme

    _migrate(settings)
    engine = create_engine_sync(settings.database_url)
    with Session(engine) as session, session.begin():
        if scheme.is_empty(session):
            scheme.load(session, scheme.read_file(scheme.DEMO_SCHEME))
            log.info("loaded the demo scheme")
    engine.dispose()
    facility = _demo_facility(settings)
    _demo_agent(settings)
    staff = _demo_staff(settings)
    accounts = "".join(f"\n    {email}  password {password}" for email, password in staff)
    # The demo's few households count in no time: its dashboard shows each enrolment and
    # payment at once rather than up to a minute later.
    if "STATS_CACHE_SECONDS" not in os.environ:
        settings = replace(settings, stats_cache_seconds=0)
    # Payments go to the built-in sandbox unless a real provider is configured, and it
    # calls back this very process.
    payments = settings.payments
    if payments.default_provider is None:
        payments = replace(
            payments, default_provider="sandbox", public_base_url=f"http://{args.host}:{args.port}"
        )
        settings = replace(settings, payments=payments)
        os.environ.setdefault("PAYMENT_PROVIDER", "sandbox")
    print(
        f"\nAlafia demo is running on http://{args.host}:{args.port}\n"
        f"Dial it from another terminal:\n"
        f"    alafia dial --url http://{args.host}:{args.port}/ussd\n"
        f"Or point Africa's Talking's USSD callback at http://<this host>:{args.port}/ussd\n"
        f"Payments: {payments.default_provider}"
        + (
            " (simulated: a payer number ending 000009 is refused for lack of funds)"
            if payments.default_provider == "sandbox"
            else ""
        )
        + f"\nSMS: {settings.sms.backend}"
        + (" (messages are printed here)" if settings.sms.backend == "console" else "")
        + f"\nHealth facility {DEMO_FACILITY}: desk phone {DEMO_DESK_PHONE} "
        + (f"and API key\n    {facility}" if facility else "(alafia facilities new-key for a key)")
        + f"\nField agent of MS-PARAKOU: alafia dial --phone {DEMO_AGENT}"
        + " (a PIN is chosen on the first dial)"
        + f"\nDashboard: http://{args.host}:{args.port}/admin"
        + (
            accounts
            if staff
            else " (demo accounts made earlier: alafia staff reset-password --email ...)"
        )
        + "\n",
        flush=True,
    )
    # The app starts the embedded Redis in its lifespan and stops it there, which
    # also runs when the process is asked to stop (SIGTERM, Ctrl-C).
    uvicorn.run(
        create_app(settings, run_worker=True),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=args.access_log,
    )
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    """The background process: payments, SMS out, reminders and the central register."""
    import asyncio
    import signal

    from gateway.runtime import Runtime
    from gateway.worker import Worker

    async def work() -> None:
        runtime = Runtime(settings)
        await runtime.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await Worker(runtime.jobs, idle_seconds=args.idle).run(stop)
        finally:
            await runtime.stop()

    asyncio.run(work())
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from db.embedded_redis import EmbeddedRedis

    embedded = None
    if settings.redis_url is None and args.workers > 1:
        # One embedded server for all worker processes, which find it through REDIS_URL.
        # (With one worker the app's lifespan starts and stops it.)
        embedded = EmbeddedRedis(settings.data_dir)
        os.environ["REDIS_URL"] = embedded.start()
        atexit.register(embedded.stop)
    try:
        uvicorn.run(
            "gateway.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=None,
            proxy_headers=True,
            # A line per hop costs a tenth of the hop; the gateway logs what matters itself.
            access_log=args.access_log,
        )
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def _dial(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.ussd import dial

    answers = dial.scripted_answers(args.input) if args.input is not None else dial.prompt_answers()
    return dial.session(
        args.url, args.phone, args.code, answers, lambda screen: print(f"\n{screen}\n")
    )


if __name__ == "__main__":
    sys.exit(main())
