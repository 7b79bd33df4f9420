"""FedaPay: one account that reaches MTN, Moov and Celtiis subscribers in Benin.

A collection is three calls (see docs/integrations/fedapay.md for sources and doubts):

    POST {base}/v1/transactions              -> {"v1/transaction": {"id": 104291, ...}}
    POST {base}/v1/transactions/{id}/token   -> {"token": "...", "url": "..."}
    POST {base}/v1/{mode}                    {"token": ..., "phone_number": {...}}  (the push)

FedaPay names the transaction by its own integer id, so our reference travels with it as
`merchant_reference` and in `custom_metadata.payment_ref`, where webhooks and searches find it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from adapters.http_client import HttpAdapter
from adapters.payments import wire
from adapters.payments.base import (
    FailureReason,
    MalformedResponse,
    Operator,
    PaymentNotFound,
    PaymentRequest,
    PaymentState,
    ProviderAck,
    ProviderMisconfigured,
    ProviderRejected,
    ProviderStatus,
)

NAME = "fedapay"

# The "no redirect" modes FedaPay lists for Benin. The official SDKs still allow-list "mtn"
# (older) and lack "sbin"; FedaPay's payment-methods page gives these three.
_MODES: Mapping[Operator, str] = {"mtn": "mtn_open", "moov": "moov", "celtiis": "sbin"}

# Countries FedaPay collects in, by E.164 calling code; it wants the ISO code beside the number.
_COUNTRIES: Mapping[str, str] = {
    "229": "bj",
    "226": "bf",
    "228": "tg",
    "225": "ci",
    "227": "ne",
    "221": "sn",
    "223": "ml",
    "224": "gn",
}

_STATES: Mapping[str, PaymentState] = {
    "pending": PaymentState.PENDING,
    "approved": PaymentState.SUCCEEDED,
    # The money was collected; what happened to it afterwards does not undo that.
    "transferred": PaymentState.SUCCEEDED,
    "refunded": PaymentState.SUCCEEDED,
    "approved_partially_refunded": PaymentState.SUCCEEDED,
    "transferred_partially_refunded": PaymentState.SUCCEEDED,
    "declined": PaymentState.FAILED,
    "canceled": PaymentState.FAILED,
}

# FedaPay does not publish the values of `last_error_code`, so failures map by status alone.
_REASONS: Mapping[str, FailureReason] = {
    "declined": FailureReason.DECLINED,
    "canceled": FailureReason.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class FedapaySettings:
    """One FedaPay account. Secrets stay out of `repr` so logs cannot leak them."""

    base_url: str  # https://sandbox-api.fedapay.com or https://api.fedapay.com, without /v1
    secret_key: str = field(repr=False)
    webhook_secrets: tuple[str, ...] = field(default=(), repr=False)  # several during rotation
    currency: str = "XOF"
    connect_timeout: float = 5.0
    read_timeout: float = 20.0

    @property
    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.read_timeout, connect=self.connect_timeout)


class FedapayCollection(HttpAdapter):
    """`PaymentProvider` for FedaPay collections without redirection (a push to the phone)."""

    name = NAME
    serves: frozenset[Operator] = frozenset(_MODES)

    def __init__(self, settings: FedapaySettings, *, client: httpx.AsyncClient | None = None):
        super().__init__(client)
        self.settings = settings
        self._api = settings.base_url.rstrip("/") + "/v1"
        self._currencies: dict[int, str] = {}  # FedaPay currency id -> ISO code; never changes

    async def request_payment(
        self, request: PaymentRequest, existing_transaction_id: str | None = None
    ) -> ProviderAck:
        mode = _MODES.get(request.operator)
        if mode is None:
            raise ValueError(f"FedaPay cannot prompt a {request.operator} subscriber")
        if request.currency != self.settings.currency:
            raise ProviderRejected(
                f"this FedaPay account collects {self.settings.currency}, not {request.currency}",
                reason=FailureReason.INVALID_CURRENCY,
            )
        phone = {"number": request.payer_phone, "country": _country(request.payer_phone)}
        body: dict[str, Any] = {
            "description": request.description,
            "amount": request.amount,
            "currency": {"iso": request.currency},
            "customer": {"phone_number": phone},
            "merchant_reference": str(request.reference),
            "custom_metadata": {
                "payment_ref": str(request.reference),
                "external_id": request.business_reference,
            },
        }
        if request.callback_url is not None:
            # FedaPay sends the payer's browser here after a hosted checkout; a push never
            # uses it. Outcomes reach us by the webhook registered in the dashboard.
            body["callback_url"] = request.callback_url
        if existing_transaction_id is not None:
            # Creating the transaction does not prompt anybody; only the push does. A push
            # lost to an error is sent again on the same transaction, never on a new one.
            transaction: Any = {"id": existing_transaction_id}
            transaction_id = existing_transaction_id
        else:
            created = await self._post("/transactions", body, transaction_id=None)
            transaction = _unwrap(created, "v1/transaction")
            transaction_id = _transaction_id(transaction)
        # From here on the transaction exists at FedaPay: every error carries its id, so the
        # caller can ask its status instead of creating another one.
        token_body = await self._post(
            f"/transactions/{transaction_id}/token", {}, transaction_id=transaction_id
        )
        token = token_body.get("token")
        if not isinstance(token, str) or not token:
            raise MalformedResponse(
                "FedaPay token response has no token", provider_transaction_id=transaction_id
            )
        pushed = await self._post(
            f"/{mode}", {"token": token, "phone_number": phone}, transaction_id=transaction_id
        )
        return ProviderAck(
            reference=request.reference,
            provider_transaction_id=transaction_id,
            raw={"transaction": transaction, "push": pushed},
        )

    async def fetch_status(
        self, reference: UUID, provider_transaction_id: str | None = None
    ) -> ProviderStatus:
        if provider_transaction_id is None:
            provider_transaction_id = await self._find(reference)
        response = await self._get(f"/transactions/{provider_transaction_id}")
        if response.status_code == 404:
            raise PaymentNotFound(reference)
        self._raise_for_status_call(response)
        transaction = _unwrap(wire.json_object(response), "v1/transaction")
        theirs = our_reference(transaction)
        if theirs is not None and theirs != reference:
            # A stored id pointing at another payment is a bug on our side; crediting either
            # payment from it would be wrong, so refuse loudly.
            raise MalformedResponse(
                f"FedaPay transaction {provider_transaction_id} belongs to payment {theirs},"
                f" not {reference}",
                provider_transaction_id=provider_transaction_id,
            )
        state, reason, status = transaction_outcome(transaction)
        return ProviderStatus(
            reference=reference,
            state=state,
            amount=wire.whole_amount(transaction.get("amount")),
            currency=await self._currency(transaction),
            provider_transaction_id=_transaction_id(transaction),
            reason=reason,
            provider_reason=status,
            raw=transaction,
        )

    async def _find(self, reference: UUID) -> str:
        """The id of the transaction created for `reference`, when we never learnt it.

        That happens only when the create call's answer was lost. FedaPay documents a search
        endpoint but not which fields it searches; matching is therefore done here, exactly,
        on the reference we stored in the transaction.
        """
        response = await self._get("/transactions/search", params={"search": str(reference)})
        self._raise_for_status_call(response)
        found = wire.json_object(response).get("v1/transactions", [])
        if not isinstance(found, list):
            raise MalformedResponse("FedaPay search answered no transaction list")
        ours = [t for t in found if isinstance(t, dict) and our_reference(t) == reference]
        if not ours:
            raise PaymentNotFound(reference)
        # Several transactions for one reference means a create was repeated; the one that
        # moved money matters most, then the one that still may.
        ours.sort(key=lambda t: _PREFERENCE[transaction_outcome(t)[0]])
        return _transaction_id(ours[0])

    async def _currency(self, transaction: Mapping[str, Any]) -> str | None:
        embedded = transaction.get("currency")
        if isinstance(embedded, Mapping) and isinstance(embedded.get("iso"), str):
            return str(embedded["iso"])
        currency_id = transaction.get("currency_id")
        if not isinstance(currency_id, int) or isinstance(currency_id, bool):
            return None
        if currency_id not in self._currencies:
            response = await self._get(f"/currencies/{currency_id}")
            self._raise_for_status_call(response)
            iso = _unwrap(wire.json_object(response), "v1/currency").get("iso")
            if not isinstance(iso, str) or not iso:
                raise MalformedResponse(f"FedaPay currency {currency_id} has no ISO code")
            self._currencies[currency_id] = iso
        return self._currencies[currency_id]

    async def _post(
        self, path: str, body: Mapping[str, Any], *, transaction_id: str | None
    ) -> dict[str, Any]:
        response = await wire.send(
            self._client,
            "POST",
            self._api + path,
            timeout=self.settings.timeout,
            headers=self._headers(),
            json=body,
            provider_transaction_id=transaction_id,
        )
        if response.is_success:
            return wire.json_object(response) if response.content else {}
        if wire.is_transient(response.status_code):
            raise wire.unavailable(response, provider_transaction_id=transaction_id)
        message = _message(response)
        if response.status_code in (401, 403, 404, 405):
            raise ProviderMisconfigured(
                f"FedaPay refused POST {path} ({response.status_code}): {message}; check"
                " FEDAPAY_SECRET_KEY, FEDAPAY_BASE_URL and the modes enabled on the account",
                status_code=response.status_code,
            )
        raise ProviderRejected(
            f"FedaPay refused POST {path} ({response.status_code}): {message}",
            reason=FailureReason.INVALID_REQUEST,
            status_code=response.status_code,
            provider_transaction_id=transaction_id,
        )

    async def _get(self, path: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        return await wire.send(
            self._client,
            "GET",
            self._api + path,
            timeout=self.settings.timeout,
            headers=self._headers(),
            params=params,
        )

    def _raise_for_status_call(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        if wire.is_transient(response.status_code):
            raise wire.unavailable(response)
        # A read refused for any other reason says nothing about the payment: never let it
        # pass for a failure.
        raise ProviderMisconfigured(
            f"FedaPay refused GET {response.request.url.path} ({response.status_code}):"
            f" {_message(response)}",
            status_code=response.status_code,
        )

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.secret_key}", "Accept": "application/json"}


_PREFERENCE: Mapping[PaymentState, int] = {
    PaymentState.SUCCEEDED: 0,
    PaymentState.PENDING: 1,
    PaymentState.FAILED: 2,
}


def transaction_outcome(
    transaction: Mapping[str, Any],
) -> tuple[PaymentState, FailureReason | None, str | None]:
    """State, normalised reason and FedaPay's own status of a transaction object."""
    status = transaction.get("status")
    if not isinstance(status, str) or not status:
        raise MalformedResponse(f"FedaPay transaction has no status: {dict(transaction)!r}")
    state = _STATES.get(status)
    if state is None:
        # Unknown statuses settle nothing: keep asking until FedaPay reports one we know.
        return PaymentState.PENDING, None, status
    reason = _REASONS.get(status, FailureReason.UNKNOWN) if state is PaymentState.FAILED else None
    return state, reason, status


def our_reference(transaction: Mapping[str, Any]) -> UUID | None:
    """The payment reference we stored in a FedaPay transaction, if it is one of ours."""
    metadata = transaction.get("custom_metadata")
    candidates = (
        transaction.get("merchant_reference"),
        metadata.get("payment_ref") if isinstance(metadata, Mapping) else None,
    )
    for candidate in candidates:
        if isinstance(candidate, str):
            try:
                return UUID(candidate)
            except ValueError:
                continue
    return None


def _unwrap(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    # FedaPay wraps single objects in their class name: {"v1/transaction": {...}}.
    inner = body.get(key)
    if not isinstance(inner, dict):
        raise MalformedResponse(f"FedaPay answered without a {key!r} object")
    return inner


def _transaction_id(transaction: Mapping[str, Any]) -> str:
    value = transaction.get("id")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value):
        raise MalformedResponse("FedaPay transaction has no id")
    return str(value)


def _country(phone: str) -> str:
    country = _COUNTRIES.get(phone[1:4])
    if country is None:
        raise ValueError(f"FedaPay does not collect from {phone[:4]} numbers")
    return country


def _message(response: httpx.Response) -> str:
    message = wire.error_body(response).get("message")
    return message if isinstance(message, str) and message else response.text[:200]
