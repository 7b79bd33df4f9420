"""The FHIR R4 server under /fhir: eligibility for health facilities, with the same key
and limit as REST, and what a strict client looks up first.

POST /fhir/CoverageEligibilityRequest      Authorization: Bearer <key>
GET  /fhir/metadata                        the CapabilityStatement
GET  /fhir/StructureDefinition/<id>        our extensions' definitions

Whatever reaches /fhir gets FHIR back: a wrong method is a 405, an unknown path a 404,
a format we do not speak a 406, a failure of ours a 500, each an OperationOutcome.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from db.values import CheckChannel
from gateway.register.fhir import eligibility as fhir_eligibility
from gateway.register.fhir import extensions, media, metadata
from gateway.register.fhir.outcomes import answer, refused
from gateway.register.routes import BAD_NUMBER_REASONS, EligibilityApi
from menus.values import CheckOutcome

log = logging.getLogger(__name__)

Handler = Callable[["FhirApi", Request], Awaitable[Response]]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True)
class FhirApi:
    checks: EligibilityApi  # the facilities, the service, the clock, the limit
    publisher: fhir_eligibility.Publisher
    endpoint: str  # where clients reach /fhir (PUBLIC_BASE_URL/fhir)
    version: str  # the gateway's, for the CapabilityStatement and definitions


def routes(api: FhirApi) -> list[BaseRoute]:
    def served(handlers: Mapping[str, Handler]) -> Callable[[Request], Awaitable[Response]]:
        return partial(_serve, api, handlers)

    eligibility = served({"POST": check})
    unknown = served({})
    return [
        Route("/fhir/metadata", served({"GET": capability_statement}), methods=METHODS),
        # openIMIS clients post with a trailing slash; a redirect would lose the POST.
        Route("/fhir/CoverageEligibilityRequest", eligibility, methods=METHODS),
        Route("/fhir/CoverageEligibilityRequest/", eligibility, methods=METHODS),
        Route("/fhir/StructureDefinition/{id}", served({"GET": definition}), methods=METHODS),
        Route("/fhir", unknown, methods=METHODS),
        Route("/fhir/{rest:path}", unknown, methods=METHODS),
    ]


async def _serve(api: FhirApi, handlers: Mapping[str, Handler], request: Request) -> Response:
    if not handlers:
        return refused(404, "not-supported", f"{request.url.path} is not served here")
    # HEAD is a GET without its body (the server drops the body).
    handler = handlers.get("GET" if request.method == "HEAD" else request.method)
    if handler is None:
        allowed = ", ".join(handlers)
        return refused(
            405,
            "not-supported",
            f"{request.method} is not supported on {request.url.path}: {allowed} only",
            {"Allow": allowed},
        )
    not_acceptable = media.refusal(
        request.query_params.get("_format"), request.headers.get("accept")
    )
    if not_acceptable is not None:
        return refused(not_acceptable.status, "not-supported", not_acceptable.diagnostics)
    try:
        return await handler(api, request)
    except Exception:
        # Still FHIR, still said plainly, for whoever reads the client's logs.
        log.exception("FHIR request failed: %s %s", request.method, request.url.path)
        return refused(500, "exception", "the server failed to answer: try again later")


async def capability_statement(api: FhirApi, request: Request) -> Response:
    return answer(
        metadata.capability_statement(
            base=api.publisher.base,
            endpoint=api.endpoint,
            version=api.version,
            today=api.checks.now().date(),
        )
    )


async def definition(api: FhirApi, request: Request) -> Response:
    found = extensions.BY_ID.get(request.path_params["id"])
    if found is None:
        return refused(404, "not-found", f"no StructureDefinition {request.path_params['id']}")
    return answer(extensions.structure_definition(found, api.publisher.base, api.version))


def _transient(message: str = "busy or the database is unreachable") -> Response:
    # Overload or a database down: when to come back, rather than a 500.
    return refused(503, "transient", message, {"Retry-After": "5"})


async def check(api: FhirApi, request: Request) -> Response:
    try:
        facility = await api.checks.facility(request)
    except (SQLAlchemyError, OSError):
        return _transient()
    if facility is None:
        # A 401 must say how to authenticate (RFC 9110), as the REST endpoint does.
        return refused(
            401, "login", "a valid facility API key is required", {"WWW-Authenticate": "Bearer"}
        )
    if (throttled := await api.checks.throttled(facility)) is not None:
        message = f"too many checks with this key: try again in {throttled.retry_after} s"
        return refused(429, "throttled", message, {"Retry-After": str(throttled.retry_after)})
    unreadable = media.body_refusal(request.headers.get("content-type"))
    if unreadable is not None:
        return refused(unreadable.status, "not-supported", unreadable.diagnostics)
    today = api.checks.now().date()
    try:
        asked = fhir_eligibility.read_request(json.loads(await request.body()), today)
    except RecursionError:
        return refused(400, "invalid", "body is nested too deeply")
    except fhir_eligibility.FhirRequestError as error:
        return refused(400, "invalid", str(error))
    except ValueError:
        return refused(400, "invalid", "body is not JSON")
    try:
        found = await api.checks.eligibility.check(
            facility, asked.member_no, asked.on, CheckChannel.FHIR
        )
    except (SQLAlchemyError, OSError):
        return _transient()
    if found.outcome == CheckOutcome.BAD_NUMBER:
        reason = BAD_NUMBER_REASONS.get(found.reason or "", "not a member number")
        return refused(400, "invalid", f"invalid member number: {reason}")
    if found.outcome == CheckOutcome.UNKNOWN_MEMBER:
        return refused(404, "not-found", f"no patient {found.member_no}")
    if found.outcome == CheckOutcome.REGISTER_UNAVAILABLE:
        return refused(
            503, "transient", "the central register cannot be reached", {"Retry-After": "60"}
        )
    return answer(fhir_eligibility.response(found, asked, today, api.publisher))
