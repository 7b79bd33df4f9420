"""Mobile-money providers behind one interface (`PaymentProvider`).

`base` holds the interface and its values; `momo` and `fedapay` implement it;
`fedapay_webhook` verifies FedaPay's signed webhooks; `wire` is their shared HTTP plumbing.
"""

from adapters.payments.base import (
    OPERATORS,
    CallbackVerificationError,
    DuplicateReference,
    FailureReason,
    MalformedCallback,
    MalformedResponse,
    Operator,
    PaymentNotFound,
    PaymentNotice,
    PaymentProvider,
    PaymentProviderError,
    PaymentRequest,
    PaymentState,
    ProviderAck,
    ProviderMisconfigured,
    ProviderRejected,
    ProviderStatus,
    ProviderUnavailable,
)
from adapters.payments.fedapay import FedapayCollection, FedapaySettings
from adapters.payments.fedapay_webhook import verify_webhook
from adapters.payments.momo import MomoCollection, MomoSettings, parse_callback

__all__ = [
    "OPERATORS",
    "CallbackVerificationError",
    "DuplicateReference",
    "FailureReason",
    "FedapayCollection",
    "FedapaySettings",
    "MalformedCallback",
    "MalformedResponse",
    "MomoCollection",
    "MomoSettings",
    "Operator",
    "PaymentNotFound",
    "PaymentNotice",
    "PaymentProvider",
    "PaymentProviderError",
    "PaymentRequest",
    "PaymentState",
    "ProviderAck",
    "ProviderMisconfigured",
    "ProviderRejected",
    "ProviderStatus",
    "ProviderUnavailable",
    "parse_callback",
    "verify_webhook",
]
