"""Eligibility for health facilities over REST, with the facility's key (FHIR, with the
same key and limit, is in `fhir/routes.py`).

GET /api/v1/eligibility/{member_no}?date=YYYY-MM-DD   Authorization: Bearer <key>
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from db.values import CheckChannel
from gateway.limits.rates import Limit, Verdict
from gateway.register.eligibility import (
    Answer,
    EligibilityService,
)
from gateway.register.facilities import Facilities, FacilityRef
from menus.values import CheckOutcome, CheckSource, CoverageStatus

BAD_NUMBER_REASONS = {
    "format": "a member number has 9 digits",
    "check_digit": "the check digit is wrong: a digit was mistyped",
}


@dataclass(frozen=True)
class EligibilityApi:
    facilities: Facilities
    eligibility: EligibilityService
    now: Callable[[], datetime]
    limit: Limit  # checks per facility key: a key that leaked cannot list every member

    async def throttled(self, facility: FacilityRef) -> Verdict | None:
        """The refusal when this facility is past its limit; None when it may check."""
        verdict = await self.limit.hit(f"facility:{facility.id}")
        return verdict if verdict.refused else None

    async def facility(self, request: Request) -> FacilityRef | None:
        """The facility whose key the request carries; None without a valid one."""
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return None
        return await self.facilities.by_key(key.strip())


def routes(api: EligibilityApi) -> list[BaseRoute]:
    return [Route("/api/v1/eligibility/{member_no}", partial(eligibility, api), methods=["GET"])]


def _unauthorised() -> Response:
    return JSONResponse(
        {"error": "a valid facility API key is required (Authorization: Bearer <key>)"},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def _too_many(verdict: Verdict, limit: Limit) -> Response:
    return JSONResponse(
        {
            "error": f"too many checks with this key: at most {limit.rate.limit} "
            f"per {limit.rate.window} s; try again in {verdict.retry_after} s"
        },
        status_code=429,
        headers={"Retry-After": str(verdict.retry_after)},
    )


def _busy() -> Response:
    # The database is down, or every connection is taken (overload): say so, and when
    # to come back, rather than a 500.
    return JSONResponse(
        {"error": "busy or the database is unreachable: try again"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def as_json(answer: Answer) -> dict[str, Any]:
    def day(value: date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "member_no": answer.member_no,
        "date": answer.on.isoformat(),
        "covered": answer.covered,
        "status": answer.status,
        "period": {"start": day(answer.period_start), "end": day(answer.period_end)},
        "waiting_period_ends": day(answer.waiting_until),
        # In grace the cover's own end is past; care is covered until this day.
        "grace_period_ends": day(answer.grace_until)
        if answer.status == CoverageStatus.GRACE
        else None,
        "copay_percent": answer.copay_percent,
        # Who pays for this person's cover: member (their premium), or free care by the
        # product's sponsor (under_five, pregnancy, indigent); null when not recorded.
        "ground": answer.ground,
        "first_name": answer.first_name,
        "initial": answer.initial,
        "source": answer.source,
    }


async def eligibility(api: EligibilityApi, request: Request) -> Response:
    try:
        facility = await api.facility(request)
    except (SQLAlchemyError, OSError):
        return _busy()
    if facility is None:
        return _unauthorised()
    if (throttled := await api.throttled(facility)) is not None:
        return _too_many(throttled, api.limit)
    raw_day = request.query_params.get("date")
    try:
        on = date.fromisoformat(raw_day) if raw_day else api.now().date()
    except ValueError:
        return JSONResponse({"error": "date must be YYYY-MM-DD"}, status_code=400)
    try:
        answer = await api.eligibility.check(
            facility, request.path_params["member_no"], on, CheckChannel.API
        )
    except (SQLAlchemyError, OSError):  # every read connection taken (overload), or down
        return _busy()
    if answer.outcome == CheckOutcome.BAD_NUMBER:
        reason = BAD_NUMBER_REASONS.get(answer.reason or "", "not a member number")
        return JSONResponse(
            {"error": f"invalid member number: {reason}", "member_no": answer.member_no},
            status_code=400,
        )
    if answer.outcome == CheckOutcome.UNKNOWN_MEMBER:
        where = (
            "here or in the central register" if answer.source == CheckSource.REGISTER else "here"
        )
        return JSONResponse(
            {"error": f"no member with this number {where}", "member_no": answer.member_no},
            status_code=404,
        )
    if answer.outcome == CheckOutcome.REGISTER_UNAVAILABLE:
        return JSONResponse(
            {
                "error": "not known here, and the central register cannot be reached: try again",
                "member_no": answer.member_no,
            },
            status_code=503,
            headers={"Retry-After": "60"},
        )
    return JSONResponse(as_json(answer))
