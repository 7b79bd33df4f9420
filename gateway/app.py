"""The Starlette application: parse, call one service, format the reply."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from adapters.ussd import africastalking
from gateway import logs
from gateway.payments.callbacks import fedapay_webhook, momo_callback
from gateway.payments.providers import SANDBOX, SANDBOX_MOUNT
from gateway.payments.sandbox import sandbox_app
from gateway.register import routes as register_routes
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.sms import routes as sms_routes
from gateway.staff import routes as staff_routes
from gateway.stats import routes as stats_routes
from gateway.worker import Worker

log = logging.getLogger(__name__)


async def ussd(request: Request) -> Response:
    """Africa's Talking USSD callback: always 200 with `CON ...` or `END ...`."""
    runtime: Runtime = request.app.state.runtime
    expected = runtime.settings.ussd_callback_token
    if expected is not None and not hmac.compare_digest(
        request.query_params.get("token", "").encode(), expected.encode()
    ):
        # Not the aggregator: whoever can post here could claim any phone number (an
        # agent's included), so without the token nothing is read.
        return PlainTextResponse(runtime.ussd.refusal(), status_code=403)
    hop = africastalking.parse_hop(await request.body())
    return PlainTextResponse(await runtime.ussd.answer(hop))


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


READY_TIMEOUT = 3.0  # a probe that hangs is as bad as one that fails


async def readyz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await runtime.redis.ping()
        checks["redis"] = "ok"
    except Exception as error:
        checks["redis"] = f"error: {type(error).__name__}"
    try:
        async with asyncio.timeout(READY_TIMEOUT), runtime.db.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"error: {type(error).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", **checks}, status_code=200 if ready else 503
    )


def create_app(
    settings: Settings | None = None,
    clock: Callable[[], date] | None = None,
    run_worker: bool = False,
    now: Callable[[], datetime] | None = None,
) -> Starlette:
    """The gateway. `run_worker` also runs the background worker in this process, as
    `alafia demo` does so that one process is a whole small installation."""
    settings = settings or Settings.from_env()
    if not logging.getLogger().handlers:  # a worker process started by uvicorn
        logs.configure(settings.log_level)

    sandbox = sandbox_app() if settings.payments.default_provider == SANDBOX else None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = Runtime(settings, clock, now)
        await runtime.start()
        app.state.runtime = runtime
        stop = asyncio.Event()
        background = asyncio.create_task(Worker(runtime.jobs).run(stop)) if run_worker else None
        try:
            yield
        finally:
            stop.set()
            if background is not None:
                await background
            if sandbox is not None:  # Starlette runs no lifespan for a mounted app
                await sandbox.state.sandbox.aclose()
            await runtime.stop()

    routes: list[BaseRoute] = [
        Route("/ussd", ussd, methods=["POST"]),
        Route("/payments/momo/callback/{reference}", momo_callback, methods=["PUT", "POST"]),
        Route("/payments/fedapay/webhook", fedapay_webhook, methods=["POST"]),
        Route("/sms/delivery", sms_routes.delivery_report, methods=["POST"]),
        Route("/sms/inbound", sms_routes.inbound, methods=["POST"]),
        Route("/sms/optout", sms_routes.opt_out, methods=["POST"]),
        Route("/api/v1/eligibility/{member_no}", register_routes.eligibility, methods=["GET"]),
        # openIMIS clients post with a trailing slash; a redirect would lose the POST.
        *(
            Route(path, register_routes.fhir_eligibility, methods=["POST"])
            for path in ("/fhir/CoverageEligibilityRequest", "/fhir/CoverageEligibilityRequest/")
        ),
        *stats_routes.routes(),
        *staff_routes.routes(),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if sandbox is not None:
        routes.append(Mount(SANDBOX_MOUNT, app=sandbox))
    return Starlette(routes=routes, lifespan=lifespan)
