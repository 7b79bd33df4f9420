"""MTN MoMo Open API, Collection product: prompt an MTN subscriber to approve a debit.

Wire protocol (see /work/shared/reference/mtn-momo-collection.md and docs/integrations/mtn-momo.md):

    POST {base}/collection/token/                        Basic api_user:api_key -> access token
    POST {base}/collection/v1_0/requesttopay             X-Reference-Id: <our UUID> -> 202
    GET  {base}/collection/v1_0/requesttopay/{reference} -> {"status": "SUCCESSFUL", ...}

Our reference *is* MTN's request id, so a repeated POST is refused with 409 rather than
debiting twice, and the status of any payment can be asked with nothing but our reference.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from adapters.http_client import HttpAdapter
from adapters.payments import wire
from adapters.payments.base import (
    DuplicateReference,
    FailureReason,
    MalformedCallback,
    MalformedResponse,
    Operator,
    PaymentNotFound,
    PaymentNotice,
    PaymentRequest,
    PaymentState,
    ProviderAck,
    ProviderMisconfigured,
    ProviderRejected,
    ProviderStatus,
)

logger = logging.getLogger(__name__)

NAME = "momo"

_STATES: Mapping[str, PaymentState] = {
    "PENDING": PaymentState.PENDING,
    "SUCCESSFUL": PaymentState.SUCCEEDED,
    "FAILED": PaymentState.FAILED,
}

# MTN reason codes, from status bodies and from 4xx error bodies alike.
_REASONS: Mapping[str, FailureReason] = {
    "NOT_ENOUGH_FUNDS": FailureReason.INSUFFICIENT_FUNDS,
    "APPROVAL_REJECTED": FailureReason.PAYER_DECLINED,
    "EXPIRED": FailureReason.EXPIRED,
    # MTN uses this one when the payer never entered the PIN, i.e. the prompt lapsed.
    "COULD_NOT_PERFORM_TRANSACTION": FailureReason.EXPIRED,
    "PAYER_DELAYED": FailureReason.EXPIRED,
    "PAYER_NOT_FOUND": FailureReason.PAYER_NOT_FOUND,
    "PAYER_LIMIT_REACHED": FailureReason.PAYER_LIMIT_REACHED,
    "NOT_ALLOWED": FailureReason.NOT_ALLOWED,
    "INVALID_CURRENCY": FailureReason.INVALID_CURRENCY,
    "INTERNAL_PROCESSING_ERROR": FailureReason.PROVIDER_ERROR,
    "SERVICE_UNAVAILABLE": FailureReason.PROVIDER_ERROR,
    "ONGOING": FailureReason.UNKNOWN,
}

# 400 codes that describe our set-up, not the payment: retrying with another payer won't help.
_CONFIGURATION_CODES = frozenset({"INVALID_CALLBACK_URL_HOST", "NOT_ALLOWED_TARGET_ENVIRONMENT"})

_TOKEN_PATH = "/collection/token/"
_REQUEST_TO_PAY_PATH = "/collection/v1_0/requesttopay"


@dataclass(frozen=True, slots=True)
class MomoSettings:
    """One MoMo Collection subscription. Secrets stay out of `repr` so logs cannot leak them."""

    base_url: str
    subscription_key: str = field(repr=False)
    api_user: str
    api_key: str = field(repr=False)
    target_environment: str  # "sandbox", "mtnbenin", ...
    currency: str = "XOF"  # the currency the account collects in; the sandbox only takes EUR
    connect_timeout: float = 5.0
    read_timeout: float = 20.0

    @property
    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.read_timeout, connect=self.connect_timeout)


@dataclass(frozen=True, slots=True)
class _AccessToken:
    value: str
    refresh_at: float  # on the adapter's monotonic clock


class MomoCollection(HttpAdapter):
    """`PaymentProvider` for MTN MoMo Collection."""

    name = NAME
    serves: frozenset[Operator] = frozenset({"mtn"})

    def __init__(
        self,
        settings: MomoSettings,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(client)
        self.settings = settings
        self._base_url = settings.base_url.rstrip("/")
        self._clock = clock
        self._token: _AccessToken | None = None
        # One token fetch at a time: a burst of payments must not stampede the token endpoint.
        self._token_lock = asyncio.Lock()

    async def request_payment(
        self, request: PaymentRequest, existing_transaction_id: str | None = None
    ) -> ProviderAck:
        # MoMo names a request by our reference: sending it again is answered 409, never a
        # second prompt, so there is nothing to resume and `existing_transaction_id` is unused.
        if request.operator not in self.serves:
            raise ValueError(f"MTN MoMo cannot prompt a {request.operator} subscriber")
        if request.currency != self.settings.currency:
            # Caught here, where the message can name the setting, before MTN answers a code.
            raise ProviderRejected(
                f"this MoMo account collects {self.settings.currency}, not {request.currency}",
                reason=FailureReason.INVALID_CURRENCY,
            )
        headers = {"X-Reference-Id": str(request.reference)}
        if request.callback_url is not None:
            headers["X-Callback-Url"] = request.callback_url
        body = {
            "amount": str(request.amount),  # MTN wants a string
            "currency": request.currency,
            "externalId": request.business_reference,
            "payer": {"partyIdType": "MSISDN", "partyId": request.payer_phone.removeprefix("+")},
            "payerMessage": request.description,
            "payeeNote": request.business_reference,
        }
        response = await self._call("POST", _REQUEST_TO_PAY_PATH, headers=headers, body=body)
        if response.is_success:
            return ProviderAck(reference=request.reference, provider_transaction_id=None)
        if response.status_code == 409:
            raise DuplicateReference(request.reference)
        if wire.is_transient(response.status_code):
            raise wire.unavailable(response)
        code, message = _error(response)
        if response.status_code in (403, 404, 405) or code in _CONFIGURATION_CODES:
            raise ProviderMisconfigured(
                f"MoMo refused requesttopay ({response.status_code} {code}): {message}",
                status_code=response.status_code,
            )
        raise ProviderRejected(
            f"MoMo refused requesttopay ({response.status_code} {code}): {message}",
            reason=_REASONS.get(code or "", FailureReason.INVALID_REQUEST),
            provider_code=code,
            status_code=response.status_code,
        )

    async def fetch_status(
        self, reference: UUID, provider_transaction_id: str | None = None
    ) -> ProviderStatus:
        # MTN names the request by our reference; `provider_transaction_id` adds nothing here.
        response = await self._call("GET", f"{_REQUEST_TO_PAY_PATH}/{reference}")
        if response.status_code == 404:
            raise PaymentNotFound(reference)
        if wire.is_transient(response.status_code):
            raise wire.unavailable(response)
        if not response.is_success:
            code, message = _error(response)
            # Asking the status of a UUID cannot be "refused" for payment reasons: a 4xx here
            # means our set-up is wrong, and must never be read as the payment failing.
            raise ProviderMisconfigured(
                f"MoMo refused the status request ({response.status_code} {code}): {message}",
                status_code=response.status_code,
            )
        body = wire.json_object(response)
        state, reason = _read_outcome(body)
        if state is None:
            raise MalformedResponse(f"MoMo status body has no usable status: {body!r}")
        return ProviderStatus(
            reference=reference,
            state=state,
            amount=wire.whole_amount(body.get("amount")),
            currency=_text(body.get("currency")),
            provider_transaction_id=_text(body.get("financialTransactionId")),
            reason=reason,
            provider_reason=_reason_code(body),
            raw=body,
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """One authorised call, with one retry under a fresh token if MTN says 401.

        Retrying a requesttopay after 401 is safe: 401 means it was not accepted, and if it
        somehow was, the same X-Reference-Id makes MTN answer 409 instead of debiting twice.
        """
        token = await self._access_token()
        response = await self._send(method, path, token, headers, body)
        if response.status_code == 401:
            self._forget(token)
            token = await self._access_token()
            response = await self._send(method, path, token, headers, body)
            if response.status_code == 401:
                raise ProviderMisconfigured(
                    f"MoMo refused a fresh access token on {path}: check MOMO_SUBSCRIPTION_KEY"
                    " and MOMO_TARGET_ENVIRONMENT",
                    status_code=401,
                )
        return response

    async def _send(
        self,
        method: str,
        path: str,
        token: str,
        headers: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
    ) -> httpx.Response:
        return await wire.send(
            self._client,
            method,
            self._base_url + path,
            timeout=self.settings.timeout,
            headers={
                "Authorization": f"Bearer {token}",
                "X-Target-Environment": self.settings.target_environment,
                "Ocp-Apim-Subscription-Key": self.settings.subscription_key,
                **(headers or {}),
            },
            json=body,
        )

    async def _access_token(self) -> str:
        async with self._token_lock:
            token = self._token
            if token is None or self._clock() >= token.refresh_at:
                token = await self._fetch_token()
                self._token = token
            return token.value

    def _forget(self, value: str) -> None:
        # Only drop the token that failed: another task may already hold a newer one.
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _fetch_token(self) -> _AccessToken:
        asked_at = self._clock()
        response = await wire.send(
            self._client,
            "POST",
            self._base_url + _TOKEN_PATH,
            timeout=self.settings.timeout,
            auth=(self.settings.api_user, self.settings.api_key),
            headers={"Ocp-Apim-Subscription-Key": self.settings.subscription_key},
        )
        if wire.is_transient(response.status_code):
            raise wire.unavailable(response)
        if not response.is_success:
            raise ProviderMisconfigured(
                f"MoMo refused our API user ({response.status_code}): check MOMO_API_USER,"
                " MOMO_API_KEY and MOMO_SUBSCRIPTION_KEY",
                status_code=response.status_code,
            )
        body = wire.json_object(response)
        value = body.get("access_token")
        lifetime = wire.whole_amount(body.get("expires_in"))
        if not isinstance(value, str) or not value or lifetime is None or lifetime <= 0:
            raise MalformedResponse("MoMo token response lacks access_token or expires_in")
        # Renew a little early so a token never expires between our check and MTN's.
        margin = min(60.0, lifetime / 10)
        return _AccessToken(value=value, refresh_at=asked_at + lifetime - margin)


def parse_callback(reference: UUID, raw_body: bytes) -> PaymentNotice:
    """Read a MoMo callback (PUT or POST, same body as the status answer).

    It carries neither our reference (hence `reference`, taken from the callback path) nor any
    signature: anyone could send it. Confirm with `MomoCollection.fetch_status` before use.
    """
    try:
        body = json.loads(raw_body)
    except ValueError as exc:
        raise MalformedCallback(f"MoMo callback for {reference} is not JSON") from exc
    if not isinstance(body, dict):
        raise MalformedCallback(f"MoMo callback for {reference} is not a JSON object")
    state, reason = _read_outcome(body)
    if state is None:
        raise MalformedCallback(f"MoMo callback for {reference} has no usable status")
    return PaymentNotice(
        provider=NAME,
        event="callback",
        reference=reference,
        state=state,
        amount=wire.whole_amount(body.get("amount")),
        currency=_text(body.get("currency")),
        provider_transaction_id=_text(body.get("financialTransactionId")),
        reason=reason,
        provider_reason=_reason_code(body),
        raw=body,
    )


def _read_outcome(body: Mapping[str, Any]) -> tuple[PaymentState | None, FailureReason | None]:
    status = body.get("status")
    if not isinstance(status, str) or not status:
        return None, None
    state = _STATES.get(status.upper())
    if state is None:
        # An undocumented status must not settle money either way: keep asking until MTN
        # reports one we know, and leave a trace for whoever reads the logs.
        logger.warning("MoMo reported undocumented status %r; treating it as pending", status)
        return PaymentState.PENDING, None
    if state is not PaymentState.FAILED:
        return state, None
    code = _reason_code(body)
    return state, _REASONS.get(code or "", FailureReason.UNKNOWN)


def _reason_code(body: Mapping[str, Any]) -> str | None:
    # The reference shows a bare string; MTN's published schema also has {"code", "message"}.
    reason = body.get("reason")
    if isinstance(reason, Mapping):
        reason = reason.get("code")
    return reason.upper() if isinstance(reason, str) and reason else None


def _error(response: httpx.Response) -> tuple[str | None, str]:
    body = wire.error_body(response)
    code = body.get("code")
    message = body.get("message")
    return (
        code if isinstance(code, str) and code else None,
        message if isinstance(message, str) else "",
    )


def _text(value: object) -> str | None:
    if isinstance(value, int | str) and not isinstance(value, bool) and str(value):
        return str(value)
    return None
