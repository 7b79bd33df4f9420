"""The Starlette application: parse, call one service, format the reply."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from adapters.ussd import africastalking
from gateway import logs
from gateway.config import Settings
from gateway.runtime import Runtime

log = logging.getLogger(__name__)


async def ussd(request: Request) -> Response:
    """Africa's Talking USSD callback: always 200 with `CON ...` or `END ...`."""
    runtime: Runtime = request.app.state.runtime
    hop = africastalking.parse_hop(await request.body())
    return PlainTextResponse(await runtime.ussd.answer(hop))


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    checks: dict[str, str] = {}
    try:
        await runtime.redis.ping()
        checks["redis"] = "ok"
    except Exception as error:
        checks["redis"] = f"error: {type(error).__name__}"
    try:
        async with runtime.db.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"error: {type(error).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", **checks}, status_code=200 if ready else 503
    )


def create_app(
    settings: Settings | None = None, clock: Callable[[], date] | None = None
) -> Starlette:
    settings = settings or Settings.from_env()
    if not logging.getLogger().handlers:  # a worker process started by uvicorn
        logs.configure(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = Runtime(settings, clock)
        await runtime.start()
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.stop()

    return Starlette(
        routes=[
            Route("/ussd", ussd, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
