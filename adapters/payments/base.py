"""The one interface every mobile-money provider implements, and the values it speaks in.

A payment is always named by *our* reference: a UUID v4 the gateway generates and stores
before any provider is called. Every method here is keyed on it, so that whatever happens on
the wire (timeout, 5xx, lost callback) the gateway can ask "what became of this reference?"
instead of guessing, and never has to create a second request to find out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol, get_args
from uuid import UUID

Operator = Literal["mtn", "moov", "celtiis"]
"""Mobile-money operators in Benin. Which one a phone number belongs to is decided elsewhere
(from its prefix); a provider only says which of them it can reach (`PaymentProvider.serves`)."""

OPERATORS: frozenset[str] = frozenset(get_args(Operator))

_E164 = re.compile(r"\+[1-9]\d{7,14}")
_CURRENCY = re.compile(r"[A-Z]{3}")


class PaymentState(StrEnum):
    """Where a payment stands at the provider. Only `pending` can still change."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class FailureReason(StrEnum):
    """Why a payment failed or was refused, in one vocabulary for all providers.

    The provider's own code is always kept beside it (`provider_reason`, `provider_code`):
    this is for menus, SMS wording and statistics, not for forgetting what the provider said.
    """

    INSUFFICIENT_FUNDS = "insufficient_funds"
    PAYER_DECLINED = "payer_declined"
    EXPIRED = "expired"  # the payer did not confirm the prompt in time
    PAYER_NOT_FOUND = "payer_not_found"
    PAYER_LIMIT_REACHED = "payer_limit_reached"
    NOT_ALLOWED = "not_allowed"
    INVALID_CURRENCY = "invalid_currency"
    INVALID_REQUEST = "invalid_request"
    CANCELLED = "cancelled"
    DECLINED = "declined"  # refused, and the provider does not say why
    PROVIDER_ERROR = "provider_error"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """Ask `payer_phone` to approve a debit of `amount` on their own handset.

    `amount` is in whole units: XOF has no minor unit, and a float never touches money here.
    """

    reference: UUID
    amount: int
    currency: str
    payer_phone: str  # E.164, e.g. "+2290197123456"
    operator: Operator
    description: str  # shown to the payer; MoMo has answered 500 to empty messages
    external_id: str | None = None  # our business reference (household number), else `reference`
    callback_url: str | None = None

    def __post_init__(self) -> None:
        # These are programming errors in the caller, caught before any money moves.
        if not isinstance(self.reference, UUID) or self.reference.version != 4:
            raise ValueError("reference must be a UUID v4 generated and stored by the gateway")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise ValueError(f"amount must be a positive whole number, not {self.amount!r}")
        if not _CURRENCY.fullmatch(self.currency):
            raise ValueError(f"currency must be an ISO 4217 code like XOF: {self.currency!r}")
        if not _E164.fullmatch(self.payer_phone):
            raise ValueError(f"payer_phone must be E.164 like +2290197123456: {self.payer_phone!r}")
        if self.operator not in OPERATORS:
            raise ValueError(f"operator must be one of {sorted(OPERATORS)}, not {self.operator!r}")
        if not self.description.strip():
            raise ValueError("description must not be empty")
        if self.external_id is not None and not self.external_id.strip():
            raise ValueError("external_id must not be empty when given")

    @property
    def business_reference(self) -> str:
        return self.external_id if self.external_id is not None else str(self.reference)


@dataclass(frozen=True, slots=True)
class ProviderAck:
    """The provider accepted the request; the payer is being prompted. Nothing is paid yet."""

    reference: UUID
    provider_transaction_id: str | None  # store it: FedaPay needs it to ask for status cheaply
    raw: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """What the provider says about one of our payments, asked with our own credentials.

    `amount` and `currency` are what the provider reports, for the caller to compare exactly
    with what it asked for; `None` means the provider did not state it.
    """

    reference: UUID
    state: PaymentState
    amount: int | None
    currency: str | None
    provider_transaction_id: str | None
    reason: FailureReason | None  # set when state is failed
    provider_reason: str | None  # the provider's own status or reason code, verbatim
    raw: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class PaymentNotice:
    """Something a provider pushed to us (callback, webhook). A hint, never a proof of payment.

    MoMo callbacks are unsigned; FedaPay webhooks are signed but carry no currency. Either way
    the gateway confirms with `PaymentProvider.fetch_status` before crediting anything.
    `reference` is `None` when the notice is about a transaction we did not create.
    """

    provider: str
    event: str
    reference: UUID | None
    state: PaymentState
    amount: int | None
    currency: str | None
    provider_transaction_id: str | None
    reason: FailureReason | None
    provider_reason: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, hash=False)


class PaymentProvider(Protocol):
    """A mobile-money collection provider, as the gateway sees it."""

    @property
    def name(self) -> str:
        """Stored with each payment; also the path segment of its callback route."""
        ...

    @property
    def serves(self) -> frozenset[Operator]:
        """The operators whose subscribers this provider can prompt."""
        ...

    async def request_payment(
        self, request: PaymentRequest, existing_transaction_id: str | None = None
    ) -> ProviderAck:
        """Send the prompt. On `ProviderUnavailable`, resolve with `fetch_status`, never resend
        blindly. `existing_transaction_id` names a transaction this provider already created
        for `request` (a first attempt failed half-way): prompt on it instead of creating one."""
        ...

    async def fetch_status(
        self, reference: UUID, provider_transaction_id: str | None = None
    ) -> ProviderStatus:
        """Ask the provider what became of `reference`; raises `PaymentNotFound` if nothing."""
        ...

    async def aclose(self) -> None:
        """Release the provider's HTTP connections."""
        ...


class PaymentProviderError(Exception):
    """Base of everything a provider adapter raises about the provider."""


class ProviderUnavailable(PaymentProviderError):
    """Timeout, connection failure, 5xx or 429: we do not know what the provider did.

    Retryable, but never by creating a second request: ask `fetch_status` for the same
    reference, and only on `PaymentNotFound` request again with that same reference.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        provider_transaction_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after
        self.provider_transaction_id = provider_transaction_id


class MalformedResponse(ProviderUnavailable):
    """The provider answered, but not in a form we can read: treated as not knowing."""


class ProviderRejected(PaymentProviderError):
    """The provider refused the request (4xx). Final: nothing will be debited for it."""

    def __init__(
        self,
        message: str,
        *,
        reason: FailureReason,
        provider_code: str | None = None,
        status_code: int | None = None,
        provider_transaction_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.provider_code = provider_code
        self.status_code = status_code
        self.provider_transaction_id = provider_transaction_id


class DuplicateReference(PaymentProviderError):
    """The provider already has a request under this reference (MoMo 409): ask its status."""

    def __init__(self, reference: UUID) -> None:
        super().__init__(f"a payment request already exists for reference {reference}")
        self.reference = reference


class PaymentNotFound(PaymentProviderError):
    """The provider has no payment under this reference: the request never reached it.

    The caller may safely request again with the *same* reference.
    """

    def __init__(self, reference: UUID) -> None:
        super().__init__(f"the provider has no payment for reference {reference}")
        self.reference = reference


class ProviderMisconfigured(PaymentProviderError):
    """Our credentials, subscription or URLs were refused. Not a payment outcome:
    an operator must fix the configuration; pending payments stay pending meanwhile."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class CallbackVerificationError(Exception):
    """An inbound callback or webhook cannot be trusted or read; answer it with a 4xx."""


class MalformedCallback(CallbackVerificationError):
    """The callback body is not the JSON object the provider documents."""
