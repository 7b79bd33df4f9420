"""`/metrics`, for Prometheus. Listed first among the capabilities so that any other may
count its events here (`gateway.metrics.events`); what it reads at scrape time it reads
from the database itself (`state`), needing nothing from the others."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.callback_guard import same_secret
from gateway.capability import Built, Capability
from gateway.infrastructure import Shared
from gateway.metrics import events, state
from gateway.metrics.exposition import CONTENT_TYPE, exposition

log = logging.getLogger(__name__)

READ_BUDGET = 5.0  # seconds; a scrape that waits longer than this is worth less than none


class Metrics(Capability):
    name = "metrics"

    def __init__(self, shared: Shared, built: Built) -> None:
        super().__init__(shared, built)
        settings = shared.settings.metrics
        self.token = settings.token
        self.open = settings.open_without_token and settings.token is None
        self.shared_directory = settings.shared_directory
        # Rate limits live in the shared infrastructure, which knows nothing of metrics.
        shared.limits.limiter.on_refusal = _count_refusal

    def routes(self) -> Sequence[BaseRoute]:
        return [Route("/metrics", self.scrape, methods=["GET"])]

    async def scrape(self, request: Request) -> Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        try:
            async with asyncio.timeout(READ_BUDGET):
                reading = await state.read(self.shared.dashboard_sessions, self.shared.now())
        except (SQLAlchemyError, OSError, TimeoutError) as error:
            log.warning("metrics: the database did not answer: %s", type(error).__name__)
            reading = None
        body = await asyncio.to_thread(exposition, state.families(reading), self.shared_directory)
        return Response(body, media_type=CONTENT_TYPE)

    def _refusal(self, request: Request) -> Response | None:
        if self.open:
            return None
        if self.token is None:
            return JSONResponse(
                {"error": "metrics are not served: set METRICS_TOKEN and scrape with it"},
                status_code=403,
            )
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not same_secret(given.strip(), self.token):
            return JSONResponse(
                {"error": "a bearer token (METRICS_TOKEN) is required"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return None


def _count_refusal(limit: str) -> None:
    """The limits name themselves `member-check`; Prometheus labels read `member_check`."""
    events.rate_limited(limit.replace("-", "_"))
