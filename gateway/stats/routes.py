"""The statistics API (`/api/v1/stats/...`), its OpenAPI document, and the URL where
Africa's Talking tells us a USSD session ended. Parse, call one function, answer.

Every statistics route answers 401 without a staff session, 400 with the reason for a
filter it cannot read, 403 for a mutual outside the staff member's scope, and 503 when
the database gave up on the query (narrower filters help).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.callback_guard import CallbackGuard, Refused, callback_form, refusal
from gateway.staff.auth import current_staff
from gateway.staff.dashboard import Dashboard, dashboard_of, serving
from gateway.stats import filters, openapi
from gateway.stats.board import FIGURES, TooLong
from gateway.stats.session_ends import MalformedNotice, SessionEnd, SessionEnds

PREFIX = "/api/v1/stats"


@dataclass(frozen=True)
class Endpoint:
    name: str  # the path below PREFIX, and the figure's name in `board.FIGURES`
    summary: str

    @property
    def description(self) -> str:
        """The figure's docstring: what is counted, how."""
        return FIGURES[self.name].__doc__ or ""


ENDPOINTS = (
    Endpoint("overview", "Headline numbers"),
    Endpoint(
        "enrolment",
        "Households and persons enrolled, by mutual, commune, product, channel, occupation",
    ),
    Endpoint("coverage", "Households by coverage status; renewals"),
    Endpoint("collection", "Premiums due and paid, collection rate; money collected"),
    Endpoint("timeseries", "Enrolments and collections per day or week"),
    Endpoint("agents", "Field agents' registrations and cash collected"),
    Endpoint("sms", "SMS by status and delivery"),
    Endpoint("funnel", "The USSD funnel: sessions, enrolments, payments, where people stop"),
    Endpoint("renewals", "Renewal rate (renewed ÷ due) by mutual, commune, product and channel"),
    Endpoint("renewals_due", "Households due for renewal and not renewed yet, to visit"),
    Endpoint("retention", "Households of each year's intake still covered the years after"),
)


def _stats_endpoint(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        dashboard = dashboard_of(request)
        staff = await current_staff(request)
        if staff is None:
            return _error(401, "log in first")
        try:
            wanted = filters.parse(request.query_params)
            await filters.authorise(dashboard.sessions, staff.scope, wanted)
            computed = await dashboard.board.figure(endpoint.name, staff.scope, wanted)
        except filters.BadFilter as error:
            return _error(400, str(error))
        except filters.OutOfScope as error:
            return _error(403, str(error))
        except TooLong:
            return _error(503, "this query took too long: narrow the period or the filters")
        body = {
            "filters": wanted.as_json(),
            "scope": staff.scope.unit_path,
            "computed_at": computed.computed_at.isoformat(),
            **computed.figures,
        }
        return JSONResponse(body, headers={"Cache-Control": "private, no-store"})

    return handle


def _error(status: int, reason: str) -> Response:
    return JSONResponse({"error": reason}, status_code=status)


async def openapi_document(request: Request) -> Response:
    """The statistics API described for tools and for whoever builds on it; public, like
    any API description: it holds no figure."""
    return JSONResponse(openapi.document(ENDPOINTS, PREFIX))


async def ussd_session_end(ends: SessionEnds, guard: CallbackGuard, request: Request) -> Response:
    """Africa's Talking's end-of-session notification: 200 once well-formed, whether the
    session is still known or not (a 4xx would only make the aggregator retry)."""
    try:
        form = await callback_form(request, guard)
        notice = SessionEnd.parse({key: str(value) for key, value in form.items()})
    except Refused as refused:
        return refusal(refused)
    except MalformedNotice as error:
        return _error(400, str(error))
    recorded = await ends.record(notice)
    return JSONResponse({"status": "recorded" if recorded else "already recorded"})


def routes(dashboard: Dashboard, ends: SessionEnds, guard: CallbackGuard) -> list[BaseRoute]:
    """`guard`: AT_CALLBACK_TOKEN (which Africa's Talking's session-end URL carries) and
    CALLBACK_ALLOW_NETWORKS."""
    return [
        *(
            Route(
                f"{PREFIX}/{endpoint.name}",
                serving(dashboard, _stats_endpoint(endpoint)),
                methods=["GET"],
                name=f"stats_{endpoint.name}",
            )
            for endpoint in ENDPOINTS
        ),
        Route("/api/v1/openapi.json", openapi_document, methods=["GET"]),
        Route("/ussd/events", partial(ussd_session_end, ends, guard), methods=["POST"]),
    ]
