"""The Starlette application: the routes of every capability, and the health probes.

Handlers parse, call one service, format the reply; they live in their capability.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway import logs
from gateway.limits.bodies import BodyLimit
from gateway.process import Gateway
from gateway.register.fhir.outcomes import too_large as fhir_too_large
from gateway.settings import Settings
from gateway.ussd.capability import Ussd
from gateway.ussd.fast_path import UssdFastPath
from gateway.worker import Worker

log = logging.getLogger(__name__)

READY_TIMEOUT = 3.0  # a probe that hangs is as bad as one that fails
# Where a household CSV is uploaded: the one kind of body bigger than a form or callback.
IMPORT_PATH = "/admin/import"


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def readiness(gateway: Gateway) -> Callable[[Request], Awaitable[Response]]:
    shared = gateway.shared

    async def readyz(request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await shared.redis.ping()
            checks["redis"] = "ok"
        except Exception as error:
            checks["redis"] = f"error: {type(error).__name__}"
        try:
            async with asyncio.timeout(READY_TIMEOUT), shared.db.connect() as connection:
                await connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"error: {type(error).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", **checks},
            status_code=200 if ready else 503,
        )

    return readyz


def create_app(
    settings: Settings | None = None,
    clock: Callable[[], date] | None = None,
    run_worker: bool = False,
    now: Callable[[], datetime] | None = None,
) -> Starlette:
    """The gateway. `run_worker` also runs the background worker in this process, as
    `alafia demo` does so that one process is a whole small installation. `clock` and
    `now` fix the day or the time (tests)."""
    settings = settings or Settings.from_env()
    if not logging.getLogger().handlers:  # a worker process started by uvicorn
        logs.configure(settings.log_level)
    gateway = Gateway(settings, now, clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await gateway.start()
        stop = asyncio.Event()
        background = asyncio.create_task(Worker(gateway.jobs).run(stop)) if run_worker else None
        try:
            yield
        finally:
            stop.set()
            if background is not None:
                await background
            await gateway.stop()

    app = Starlette(
        routes=[
            *gateway.routes,
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readiness(gateway), methods=["GET"]),
        ],
        lifespan=lifespan,
        # Inside Starlette's error handler, so a body cut short is a 413, not a 500.
        middleware=[
            Middleware(UssdFastPath, ussd=gateway.get(Ussd)),
            Middleware(
                BodyLimit,
                default=settings.limits.body_bytes,
                larger=[(IMPORT_PATH, settings.limits.import_body_bytes)],
                formats=[("/fhir/", fhir_too_large)],
            ),
        ],
    )
    app.state.gateway = gateway  # for tests and benchmarks that drive services directly
    return app
