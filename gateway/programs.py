"""The gateway's long-running programs: `alafia serve`, `alafia worker`, `alafia demo`, and
`alafia db upgrade`, which each of them needs first."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import signal
import sys
from dataclasses import replace
from datetime import date
from functools import partial
from typing import Any

from gateway.commands import CommandGroup, Context
from gateway.infrastructure import scheme_clock
from gateway.settings import Settings
from gateway.settings.production import serve_problems, worker_problems

log = logging.getLogger("alafia")


def add_commands(commands: CommandGroup[Any]) -> None:
    demo = commands.add_parser(
        "demo", help="run everything on embedded defaults with a demo scheme"
    )
    demo.add_argument("--host", default="127.0.0.1", help="a loopback address: the demo is open")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--access-log", action="store_true", help="log every HTTP request")
    demo.add_argument(
        "--today",
        type=_day,
        metavar="YYYY-MM-DD",
        help="run the scheme's calendar as of that day on the same data (e.g. a year on, "
        "to show a renewal); the time of day keeps ticking",
    )
    demo.set_defaults(run=demo_run)

    serve = commands.add_parser("serve", help="run the production HTTP server")
    serve.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to listen on every interface")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--access-log", action="store_true", help="log every HTTP request")
    serve.add_argument(
        "--forwarded-allow-ips",
        help="proxies whose X-Forwarded-For names the client (uvicorn's default: 127.0.0.1); "
        "the source CALLBACK_ALLOW_NETWORKS checks",
    )
    _refused_today(serve)
    serve.set_defaults(run=serve_run)

    worker = commands.add_parser(
        "worker", help="run the background worker (payments, SMS, reminders, register)"
    )
    worker.add_argument(
        "--idle", type=float, default=1.0, help="seconds to wait when nothing is due"
    )
    _refused_today(worker)
    worker.set_defaults(run=worker_run)

    db = commands.add_parser("db", help="database schema").add_subparsers(title="db commands")
    upgrade = db.add_parser("upgrade", help="create or migrate the database to the latest schema")
    upgrade.set_defaults(run=db_upgrade)


def _day(typed: str) -> date:
    try:
        return date.fromisoformat(typed)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a day like 2027-12-03, got {typed!r}") from None


def _refused_today(parser: argparse.ArgumentParser) -> None:
    """Accepted by the parser only to be refused with a reason, rather than argparse's
    bare "unrecognized arguments"."""
    parser.add_argument("--today", help="refused: only `alafia demo` moves the calendar")


TODAY_REFUSED = (
    "--today moves the scheme's calendar, which only `alafia demo` may do: cover dates, "
    "reminders and payments of a real scheme follow the real date"
)


def migrate(settings: Settings) -> None:
    from db.migrate import upgrade

    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)


def db_upgrade(context: Context, args: argparse.Namespace) -> int:
    migrate(context.settings)
    print("database is at the latest schema")
    return 0


def refuse(program: str, problems: list[str]) -> int:
    """Every problem on stderr, one a line, and exit status 2: no traceback, no secret."""
    lines = "\n".join(f"  - {problem}" for problem in problems)
    print(
        f"alafia {program} refuses to start:\n{lines}\n"
        "(`alafia demo` runs on embedded defaults, open, on 127.0.0.1 only)",
        file=sys.stderr,
    )
    return 2


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def worker_run(context: Context, args: argparse.Namespace) -> int:
    """The background process: the jobs of every capability."""
    from gateway.process import Gateway
    from gateway.worker import Worker

    problems = worker_problems(context.settings)
    if args.today is not None:
        problems.append(TODAY_REFUSED)
    if problems:
        return refuse("worker", problems)

    async def work() -> None:
        gateway = Gateway(context.settings, context.now)
        await gateway.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await Worker(gateway.jobs, idle_seconds=args.idle).run(stop)
        finally:
            await gateway.stop()

    asyncio.run(work())
    return 0


def serve_run(context: Context, args: argparse.Namespace) -> int:
    import uvicorn

    # Closed by default: the callbacks' secrets, a shared Redis server, no payment sandbox.
    problems = serve_problems(context.settings)
    if args.forwarded_allow_ips == "*" and context.settings.callback_networks:
        # Every peer trusted: anyone could name an allowed source in X-Forwarded-For.
        problems.append(
            "--forwarded-allow-ips '*' with CALLBACK_ALLOW_NETWORKS: anyone could pass the "
            "allow-list with a forged X-Forwarded-For; name your proxies' addresses"
        )
    if args.today is not None:
        problems.append(TODAY_REFUSED)
    if problems:
        return refuse("serve", problems)
    # Each process reads the settings from the environment, as this one did.
    run = partial(
        uvicorn.run,
        "gateway.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        # A line per hop costs a tenth of the hop; the gateway logs what matters itself.
        access_log=args.access_log,
    )
    if args.workers == 1:
        run()  # in this process: its counters are its own
        return 0
    from gateway.metrics.processes import shared_by_workers

    with shared_by_workers():  # the workers' counters, added up by whichever is scraped
        run()
    return 0


def demo_run(context: Context, args: argparse.Namespace) -> int:
    import uvicorn

    from gateway import demo
    from gateway.app import create_app

    if not is_loopback(args.host):
        # The demo asks for no token and pays from a sandbox: it must not face a network.
        return refuse("demo", [f"--host {args.host} is not a loopback address; use alafia serve"])
    if args.today is not None:
        if problems := demo.today_problems(context.settings):
            return refuse("demo", problems)
        # Everything in this process reads this one clock: the gateway, its worker and
        # the seeding below.
        context = replace(context, now=scheme_clock(context.settings.timezone, moved_to=args.today))
    settings = context.settings
    migrate(settings)
    seeded = demo.seed(context)
    # The demo's few households count in no time: its dashboard shows each enrolment and
    # payment at once rather than up to a minute later.
    if settings.stats_cache_seconds is None:
        settings = replace(settings, stats_cache_seconds=0)
    # Payments go to the built-in sandbox unless a real provider is configured, and it
    # calls back this very process.
    if settings.payments.default_provider is None:
        payments = replace(
            settings.payments,
            default_provider="sandbox",
            public_base_url=f"http://{args.host}:{args.port}",
        )
        settings = replace(settings, payments=payments)
    # Its figures open to whoever dials in on this machine; bound to a network, /metrics
    # asks for METRICS_TOKEN as `alafia serve` does.
    if loopback(args.host):
        settings = replace(settings, metrics=replace(settings.metrics, open_without_token=True))
    # The phone simulator without a login and for any number: the demo's data are its own.
    settings = replace(settings, simulator=replace(settings.simulator, open_without_login=True))
    # Names said in the simulator's calls are its own recordings, served by this process.
    if not settings.recordings.hosts:
        own = (args.host, "localhost") if loopback(args.host) else (args.host,)
        settings = replace(settings, recordings=replace(settings.recordings, hosts=own))
    print(demo.welcome(settings, args.host, args.port, seeded, args.today), flush=True)
    # The app starts the embedded Redis in its lifespan and stops it there, which
    # also runs when the process is asked to stop (SIGTERM, Ctrl-C).
    uvicorn.run(
        create_app(settings, run_worker=True, now=context.now),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=args.access_log,
    )
    return 0


def loopback(host: str) -> bool:
    """An address only this machine reaches (where the demo may serve /metrics open)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
