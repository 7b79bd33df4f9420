"""A pretend MTN MoMo Collection API, so `alafia demo` runs the whole payment loop offline.

It speaks the wire protocol of /work/shared/reference/mtn-momo-collection.md closely enough
that the production adapter (`adapters.payments.momo.MomoCollection`) is pointed at it
unchanged; only its base URL says it is not MTN. Routes, relative to where it is mounted:

    POST /collection/token/                          Basic user:key + Ocp-Apim-Subscription-Key
    POST /collection/v1_0/requesttopay               Bearer, X-Reference-Id, X-Target-Environment
    GET  /collection/v1_0/requesttopay/{referenceId} the status body, PENDING then final

Any non-empty API user, key, subscription key and target environment are accepted (it
cannot know the real ones), but the bearer token must be one it issued and has not expired.

The payer "confirms on the phone" `callback_delay` seconds after the request: until then the
status is PENDING; from then on it is the payer's outcome (`DEFAULT_OUTCOMES`, else
SUCCESSFUL), and that status body is PUT once, unsigned and without our reference, to the
request's `X-Callback-Url`, as MTN does. A lost callback is only logged: the gateway must
confirm by status anyway.

Demo payers (`DEFAULT_OUTCOMES`; all are valid MTN Benin numbers, any other payer succeeds):

    +229 01 97 00 00 09   FAILED  NOT_ENOUGH_FUNDS
    +229 01 97 00 00 08   FAILED  APPROVAL_REJECTED     (the payer refused the prompt)
    +229 01 97 00 00 07   stays PENDING forever, no callback (the payer never answers)
    +229 01 97 00 00 06   FAILED  EXPIRED
    +229 01 97 00 00 05   FAILED  PAYER_NOT_FOUND
    +229 01 97 00 00 04   FAILED  INTERNAL_PROCESSING_ERROR

State lives in this process's memory and is lost on restart: it is a demo, never a ledger.

Mounted inside another Starlette app, its own lifespan does not run (Starlette does not run
a mounted app's lifespan): the parent's lifespan should then `await
app.state.sandbox.aclose()` so callbacks still waiting are cancelled at shutdown.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
import threading
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.payments.sandbox_requests import (
    PARTY_ID,
    access_denied,
    basic_credentials,
    canonical,
    is_absolute_http_url,
    mtn_error,
    read_body,
)

log = logging.getLogger(__name__)

Outcome = tuple[str, str | None]
"""(status, reason) the payer ends in, e.g. ("FAILED", "NOT_ENOUGH_FUNDS")."""

DEFAULT_OUTCOMES: Mapping[str, Outcome] = MappingProxyType(
    {
        "2290197000009": ("FAILED", "NOT_ENOUGH_FUNDS"),
        "2290197000008": ("FAILED", "APPROVAL_REJECTED"),
        "2290197000007": ("PENDING", None),
        "2290197000006": ("FAILED", "EXPIRED"),
        "2290197000005": ("FAILED", "PAYER_NOT_FOUND"),
        "2290197000004": ("FAILED", "INTERNAL_PROCESSING_ERROR"),
    }
)

STATUSES = frozenset({"PENDING", "SUCCESSFUL", "FAILED"})
TOKEN_LIFETIME = 3600  # seconds, as MTN's tokens
CALLBACK_TIMEOUT = 5.0  # seconds; a slow receiver must not hold a task for long


@dataclass(frozen=True, slots=True)
class _Payment:
    """One accepted request to pay. Immutable: its status is read from the clock."""

    amount: str
    currency: str
    external_id: str
    party_id: str
    payer_message: str
    payee_note: str
    outcome: Outcome
    financial_transaction_id: str
    decided_at: float  # monotonic time at which the payer "answers"
    callback_url: str | None

    def status_body(self, now: float) -> dict[str, Any]:
        """The status answer, keys in the order MTN documents them."""
        status, reason = self.outcome if now >= self.decided_at else ("PENDING", None)
        body: dict[str, Any] = {"amount": self.amount, "currency": self.currency}
        if status == "SUCCESSFUL":
            body["financialTransactionId"] = self.financial_transaction_id
        body.update(
            externalId=self.external_id,
            payer={"partyIdType": "MSISDN", "partyId": self.party_id},
            payerMessage=self.payer_message,
            payeeNote=self.payee_note,
            status=status,
        )
        if reason is not None:
            body["reason"] = reason
        return body


class MomoSandbox:
    """The sandbox's state and endpoints; `sandbox_app` serves them."""

    def __init__(
        self,
        callback_delay: float = 3.0,
        outcomes: Mapping[str, Outcome] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not math.isfinite(callback_delay) or callback_delay < 0:
            raise ValueError(f"callback_delay must be a finite number >= 0, not {callback_delay}")
        self.callback_delay = callback_delay
        self.outcomes: Mapping[str, Outcome] = MappingProxyType(
            _checked_outcomes(DEFAULT_OUTCOMES if outcomes is None else outcomes)
        )
        self._client = client
        self._owns_client = client is None
        # Handlers never await while holding it, so a threading lock is enough for the event
        # loop and also lets another thread (a test, a debugger) read the state safely.
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # token -> monotonic expiry
        self._payments: dict[str, _Payment] = {}  # canonical reference -> payment
        # Strong references: the loop keeps only weak ones, and a collected task never calls.
        self._callbacks: set[asyncio.Task[None]] = set()

    @property
    def callbacks_in_flight(self) -> int:
        """Callbacks scheduled and not yet sent (or given up)."""
        return len(self._callbacks)

    def status(self, reference: str) -> dict[str, Any] | None:
        """The status body the API would answer for `reference`, or None if unknown."""
        with self._lock:
            payment = self._payments.get(canonical(reference) or "")
        return None if payment is None else payment.status_body(time.monotonic())

    async def aclose(self) -> None:
        """Cancel the callbacks still waiting and close our own HTTP client."""
        tasks = list(self._callbacks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None  # a later callback (app served again) opens a fresh one

    # -- endpoints ---------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        if not request.headers.get("ocp-apim-subscription-key", "").strip():
            return access_denied("missing subscription key")
        if not basic_credentials(request.headers.get("authorization", "")):
            return JSONResponse({"error": "login_failed"}, status_code=401)
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            # Drop expired tokens here so a long demo does not accumulate them.
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + TOKEN_LIFETIME
        return JSONResponse(
            {"access_token": token, "token_type": "access_token", "expires_in": TOKEN_LIFETIME}
        )

    async def request_to_pay(self, request: Request) -> Response:
        if denied := self._deny(request):
            return denied
        reference = canonical(request.headers.get("x-reference-id", ""), version=4)
        if reference is None:
            return mtn_error(400, "INVALID_REFERENCE_ID", "X-Reference-Id must be a UUID v4")
        callback_url = request.headers.get("x-callback-url")
        if callback_url is not None and not is_absolute_http_url(callback_url):
            return mtn_error(
                400, "INVALID_CALLBACK_URL_HOST", "X-Callback-Url must be an http(s) URL"
            )
        try:
            body = json.loads(await request.body())
        except ValueError:
            return mtn_error(400, "INVALID_JSON", "the body is not JSON")
        fields = read_body(body)
        if isinstance(fields, JSONResponse):
            return fields
        amount, currency, external_id, party_id, payer_message, payee_note = fields
        payment = _Payment(
            amount=amount,
            currency=currency,
            external_id=external_id,
            party_id=party_id,
            payer_message=payer_message,
            payee_note=payee_note,
            outcome=self.outcomes.get(party_id, ("SUCCESSFUL", None)),
            financial_transaction_id=str(secrets.randbelow(9 * 10**9) + 10**9),
            decided_at=time.monotonic() + self.callback_delay,
            callback_url=callback_url,
        )
        with self._lock:
            # Check and insert under one lock: two racing POSTs cannot both be accepted.
            if reference in self._payments:
                return mtn_error(409, "RESOURCE_ALREADY_EXIST", "Duplicated reference id.")
            self._payments[reference] = payment
        if callback_url is not None and payment.outcome[0] != "PENDING":
            self._schedule_callback(reference, payment)
        return Response(status_code=202)

    async def request_to_pay_status(self, request: Request) -> Response:
        if denied := self._deny(request):
            return denied
        body = self.status(request.path_params["reference"])
        if body is None:
            return mtn_error(404, "RESOURCE_NOT_FOUND", "Requested resource was not found.")
        return JSONResponse(body)

    # -- internals -----------------------------------------------------------------------------

    def _deny(self, request: Request) -> Response | None:
        """MTN's checks on every API call after the token."""
        if not request.headers.get("ocp-apim-subscription-key", "").strip():
            return access_denied("missing subscription key")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        now = time.monotonic()
        with self._lock:
            valid = scheme.lower() == "bearer" and self._tokens.get(token, 0.0) > now
        if not valid:
            return access_denied("invalid access token")
        if not request.headers.get("x-target-environment", "").strip():
            return mtn_error(
                400, "NOT_ALLOWED_TARGET_ENVIRONMENT", "X-Target-Environment is missing"
            )
        return None

    def _schedule_callback(self, reference: str, payment: _Payment) -> None:
        # A task, so the 202 goes back at once and the payer's "answer" comes later.
        task = asyncio.get_running_loop().create_task(
            self._call_back(reference, payment), name=f"momo-sandbox-callback-{reference}"
        )
        self._callbacks.add(task)
        task.add_done_callback(self._callbacks.discard)

    async def _call_back(self, reference: str, payment: _Payment) -> None:
        # The loop may wake us a hair early (it rounds to its clock resolution); the status
        # must already be final when we read it, or the callback would say PENDING.
        while (remaining := payment.decided_at - time.monotonic()) > 0:
            await asyncio.sleep(remaining)
        if payment.callback_url is None:
            return
        body = payment.status_body(time.monotonic())
        if self._client is None:
            # Opened on first use, inside the loop that will also close it.
            self._client = httpx.AsyncClient()
        try:
            # Once, like MTN's "sent once, no retry": the gateway must poll to be sure.
            response = await self._client.put(
                payment.callback_url, json=body, timeout=CALLBACK_TIMEOUT
            )
        except httpx.HTTPError as error:
            log.warning(
                "sandbox MoMo callback for %s failed: %s: %s",
                reference,
                type(error).__name__,
                error,
            )
            return
        if response.is_success:
            log.info("sandbox MoMo callback for %s: %s delivered", reference, body["status"])
        else:
            log.warning("sandbox MoMo callback for %s answered %s", reference, response.status_code)


def sandbox_app(
    callback_delay: float = 3.0,
    outcomes: Mapping[str, tuple[str, str | None]] | None = None,
    client: httpx.AsyncClient | None = None,
) -> Starlette:
    """The sandbox as an ASGI app; its `MomoSandbox` is `app.state.sandbox`.

    `outcomes` maps a payer's partyId (digits, no +) to its final (status, reason); it
    replaces `DEFAULT_OUTCOMES` (merge them yourself to keep both). Payers not in it succeed.
    `client` sends the callbacks; one of our own is opened (and closed) when none is given.
    """
    sandbox = MomoSandbox(callback_delay, outcomes, client)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await sandbox.aclose()

    app = Starlette(
        routes=[
            Route("/collection/token/", sandbox.token, methods=["POST"]),
            Route("/collection/v1_0/requesttopay", sandbox.request_to_pay, methods=["POST"]),
            Route(
                "/collection/v1_0/requesttopay/{reference}",
                sandbox.request_to_pay_status,
                methods=["GET"],
            ),
        ],
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    return app


def _checked_outcomes(outcomes: Mapping[str, Outcome]) -> dict[str, Outcome]:
    checked: dict[str, Outcome] = {}
    for party_id, (status, reason) in outcomes.items():
        if not PARTY_ID.fullmatch(party_id):
            raise ValueError(f"outcome payer must be a partyId of digits without +: {party_id!r}")
        if status not in STATUSES:
            raise ValueError(f"outcome status for {party_id} must be one of {sorted(STATUSES)}")
        if (status == "FAILED") != bool(reason):
            raise ValueError(f"outcome for {party_id}: a reason with FAILED, and only then")
        checked[party_id] = (status, reason)
    return checked
