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
from functools import partial
from typing import Any

from gateway.commands import CommandGroup, Context
from gateway.settings import Settings

log = logging.getLogger("alafia")


def add_commands(commands: CommandGroup[Any]) -> None:
    demo = commands.add_parser(
        "demo", help="run everything on embedded defaults with a demo scheme"
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--access-log", action="store_true", help="log every HTTP request")
    demo.set_defaults(run=demo_run)

    serve = commands.add_parser("serve", help="run the production HTTP server")
    serve.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to listen on every interface")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--access-log", action="store_true", help="log every HTTP request")
    serve.set_defaults(run=serve_run)

    worker = commands.add_parser(
        "worker", help="run the background worker (payments, SMS, reminders, register)"
    )
    worker.add_argument(
        "--idle", type=float, default=1.0, help="seconds to wait when nothing is due"
    )
    worker.set_defaults(run=worker_run)

    db = commands.add_parser("db", help="database schema").add_subparsers(title="db commands")
    upgrade = db.add_parser("upgrade", help="create or migrate the database to the latest schema")
    upgrade.set_defaults(run=db_upgrade)


def migrate(settings: Settings) -> None:
    from db.migrate import upgrade

    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)


def db_upgrade(context: Context, args: argparse.Namespace) -> int:
    migrate(context.settings)
    print("database is at the latest schema")
    return 0


def worker_run(context: Context, args: argparse.Namespace) -> int:
    """The background process: the jobs of every capability."""
    from gateway.process import Gateway
    from gateway.worker import Worker

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

    if context.settings.redis_url is None and args.workers > 1:
        # Each process would start an embedded Redis of its own, and sessions would not be
        # shared: several processes need one Redis server.
        print(
            "--workers above 1 needs REDIS_URL: the processes share sessions through one Redis "
            "server (the embedded one is for a single process)",
            file=sys.stderr,
        )
        return 2
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
    print(demo.welcome(settings, args.host, args.port, seeded), flush=True)
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


def loopback(host: str) -> bool:
    """An address only this machine reaches (where the demo may serve /metrics open)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
