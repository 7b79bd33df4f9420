"""A local MTN MoMo Collection API, speaking the wire protocol the production adapter speaks.

It checks what MTN checks (API user, subscription key, bearer token, target environment,
UUID reference ids, amounts as strings), keeps the requests-to-pay it accepted, plays the
sandbox's test numbers, and can be told to misbehave:

    peer = MomoPeer()
    peer.fail_next("requesttopay", 500, after=True)   # accept the request, then answer 500
    peer.hang_next("status")                          # answer only after the client gave up
    peer.set_outcome("2290197000001", "FAILED", "NOT_ENOUGH_FUNDS")
    with serve(peer.app) as base_url: ...

The app runs in the server's own thread; tests read its records from theirs, hence the lock.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.peers.faults import FaultInjection

# The sandbox's documented test payers (partyId -> final status, reason).
SANDBOX_OUTCOMES: dict[str, tuple[str, str | None]] = {
    "46733123450": ("FAILED", "INTERNAL_PROCESSING_ERROR"),
    "46733123451": ("FAILED", "APPROVAL_REJECTED"),
    "46733123452": ("FAILED", "EXPIRED"),
    "46733123453": ("PENDING", None),
    "46733123454": ("PENDING", None),
    "46733123455": ("FAILED", "PAYER_NOT_FOUND"),
    "46733123460": ("FAILED", "INVALID_CURRENCY"),
    "46733123462": ("FAILED", "SERVICE_UNAVAILABLE"),
}

ROUTES = ("token", "requesttopay", "status")


@dataclass(frozen=True)
class RecordedRequest:
    route: str
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class MomoPeer(FaultInjection):
    routes = ROUTES

    def __init__(
        self,
        *,
        subscription_key: str = "peer-subscription-key",
        api_user: str = "0b7c6a2e-64a7-4c1c-9a55-8c2b1f5e2d10",
        api_key: str = "peer-api-key",
        target_environment: str = "mtnbenin",
        currency: str = "XOF",
        token_ttl: int = 3600,
    ) -> None:
        super().__init__()
        self.subscription_key = subscription_key
        self.api_user = api_user
        self.api_key = api_key
        self.target_environment = target_environment
        self.currency = currency
        self.token_ttl = token_ttl
        self.requests: list[RecordedRequest] = []
        self.payments: dict[str, dict[str, Any]] = {}  # reference -> status body
        self.callback_urls: dict[str, str] = {}
        self.outcomes: dict[str, tuple[str, str | None]] = dict(SANDBOX_OUTCOMES)
        self._tokens: set[str] = set()
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/collection/token/", self._token, methods=["POST"]),
                Route("/collection/v1_0/requesttopay", self._request_to_pay, methods=["POST"]),
                Route("/collection/v1_0/requesttopay/{reference}", self._status, methods=["GET"]),
            ]
        )

    # -- what a test can ask for ---------------------------------------------------------

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def set_outcome(self, party_id: str, status: str, reason: str | None = None) -> None:
        with self._lock:
            self.outcomes[party_id] = (status, reason)

    def settle(self, reference: UUID, status: str, reason: str | None = None) -> None:
        """Move an accepted request to another status, as the payer's answer would."""
        with self._lock:
            _apply(self.payments[str(reference)], status, reason)

    def requests_to(self, route: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.route == route]

    async def deliver_callback(self, reference: UUID, method: str = "PUT") -> int:
        """Send MTN's callback for `reference` to the X-Callback-Url it was created with."""
        with self._lock:
            url = self.callback_urls[str(reference)]
            body = dict(self.payments[str(reference)])
        async with httpx.AsyncClient() as client:
            response = await client.request(method, url, json=body)
        return response.status_code

    # -- the API -----------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        await self._record("token", request)
        if fault := await self._fault("token", after=False):
            return fault
        if request.headers.get("ocp-apim-subscription-key") != self.subscription_key:
            return _subscription_denied()
        expected = base64.b64encode(f"{self.api_user}:{self.api_key}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "login_failed"}, status_code=401)
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        answer = JSONResponse(
            {"access_token": token, "token_type": "access_token", "expires_in": self.token_ttl}
        )
        return await self._fault("token", after=True) or answer

    async def _request_to_pay(self, request: Request) -> Response:
        await self._record("requesttopay", request)
        if fault := await self._fault("requesttopay", after=False):
            return fault
        if denied := self._deny(request):
            return denied
        reference = request.headers.get("x-reference-id", "")
        if not _is_uuid4(reference):
            return _error(400, "INVALID_REFERENCE_ID", "X-Reference-Id must be a UUID v4")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "INVALID_JSON", "the body is not JSON")
        problem = self._invalid(body)
        if problem is not None:
            return problem
        with self._lock:
            if reference in self.payments:
                return _error(409, "RESOURCE_ALREADY_EXIST", "Duplicated reference id.")
            status, reason = self.outcomes.get(body["payer"]["partyId"], ("SUCCESSFUL", None))
            payment = {
                "amount": body["amount"],
                "currency": body["currency"],
                "externalId": body["externalId"],
                "payer": body["payer"],
                "payerMessage": body["payerMessage"],
                "payeeNote": body["payeeNote"],
            }
            _apply(payment, status, reason)
            self.payments[reference] = payment
            if callback_url := request.headers.get("x-callback-url"):
                self.callback_urls[reference] = callback_url
        return await self._fault("requesttopay", after=True) or Response(status_code=202)

    async def _status(self, request: Request) -> Response:
        await self._record("status", request)
        if fault := await self._fault("status", after=False):
            return fault
        if denied := self._deny(request):
            return denied
        with self._lock:
            payment = self.payments.get(request.path_params["reference"])
            answer = (
                JSONResponse(dict(payment))
                if payment is not None
                else _error(404, "RESOURCE_NOT_FOUND", "Requested resource was not found.")
            )
        return await self._fault("status", after=True) or answer

    # -- checks MTN makes ---------------------------------------------------------------------

    def _deny(self, request: Request) -> Response | None:
        if request.headers.get("ocp-apim-subscription-key") != self.subscription_key:
            return _subscription_denied()
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            valid = scheme == "Bearer" and token in self._tokens
        if not valid:
            return JSONResponse(
                {"statusCode": 401, "message": "Access denied due to invalid access token."},
                status_code=401,
            )
        if request.headers.get("x-target-environment") != self.target_environment:
            return _error(403, "NOT_ALLOWED_TARGET_ENVIRONMENT", "Wrong target environment.")
        return None

    def _invalid(self, body: Any) -> Response | None:
        if not isinstance(body, dict):
            return _error(400, "INVALID_JSON", "the body is not an object")
        amount = body.get("amount")
        if not isinstance(amount, str) or not amount.isdigit():
            return _error(400, "INVALID_AMOUNT", "amount must be a string of digits")
        if body.get("currency") != self.currency:
            return _error(400, "INVALID_CURRENCY", f"currency must be {self.currency}")
        payer = body.get("payer")
        if (
            not isinstance(payer, dict)
            or payer.get("partyIdType") != "MSISDN"
            or not str(payer.get("partyId", "")).isdigit()
        ):
            return _error(400, "PAYER_NOT_FOUND", "payer must be an MSISDN of digits")
        if not body.get("externalId"):
            return _error(400, "INVALID_EXTERNAL_ID", "externalId is required")
        if not body.get("payerMessage") or not body.get("payeeNote"):
            # What production MTN has been seen to do with empty messages.
            return _error(500, "INTERNAL_PROCESSING_ERROR", "An internal error occurred.")
        return None

    # -- plumbing -------------------------------------------------------------------------------

    def _fault_response(self, status: int, hung: bool) -> Response:
        if hung:
            return _error(status, "GATEWAY_TIMEOUT", "Injected hang.")
        return _error(status, "INTERNAL_PROCESSING_ERROR", "Injected fault.")

    async def _record(self, route: str, request: Request) -> None:
        recorded = RecordedRequest(
            route=route,
            method=request.method,
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
        )
        with self._lock:
            self.requests.append(recorded)


def _apply(payment: dict[str, Any], status: str, reason: str | None) -> None:
    payment["status"] = status
    payment.pop("reason", None)
    payment.pop("financialTransactionId", None)
    if status == "SUCCESSFUL":
        payment["financialTransactionId"] = str(secrets.randbelow(10**10)).zfill(10)
    if reason is not None:
        payment["reason"] = reason


def _is_uuid4(value: str) -> bool:
    try:
        return UUID(value).version == 4 and str(UUID(value)) == value.lower()
    except ValueError:
        return False


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def _subscription_denied() -> JSONResponse:
    return JSONResponse(
        {"statusCode": 401, "message": "Access denied due to invalid subscription key."},
        status_code=401,
    )
