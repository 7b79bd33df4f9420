"""FedaPay webhooks: prove they come from FedaPay, then read them.

    X-FEDAPAY-SIGNATURE: t=1700000000,s=5f0c...e9
    s = hex(HMAC-SHA256(endpoint secret, b"<t>." + raw body))

    {"name": "transaction.approved", "entity": {"klass": "v1/transaction", "id": 104291, ...}}

The signature covers the bytes as received, so the raw body must reach `verify_webhook`
before anything parses or re-encodes it. The timestamp bounds replays to `tolerance` seconds;
the same event may still arrive twice inside that window, or out of order, so the gateway
confirms with `FedapayCollection.fetch_status` and applies outcomes idempotently.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Sequence
from typing import Any

from adapters.payments import wire
from adapters.payments.base import (
    CallbackVerificationError,
    MalformedCallback,
    MalformedResponse,
    PaymentNotice,
)
from adapters.payments.fedapay import NAME, our_reference, transaction_outcome

SIGNATURE_HEADER = "X-FEDAPAY-SIGNATURE"
DEFAULT_TOLERANCE = 300  # seconds, FedaPay's own default

_HEX = re.compile(r"[0-9a-fA-F]{64}")  # a SHA-256 digest in hex
_UNIX_TIME = re.compile(r"[0-9]{1,12}")


class MissingSignature(CallbackVerificationError):
    """The request has no X-FEDAPAY-SIGNATURE header."""


class MalformedSignatureHeader(CallbackVerificationError):
    """The header is not `t=<unix seconds>,s=<hex digest>[,s=...]`."""


class SignatureMismatch(CallbackVerificationError):
    """No signature in the header matches the body under any configured secret."""


class TimestampOutOfTolerance(CallbackVerificationError):
    """The signature is valid but too old, or too far in the future: a replay or a bad clock."""


def verify_webhook(
    raw_body: bytes,
    signature_header: str | None,
    secrets: Sequence[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> PaymentNotice | None:
    """Check the signature, then read the event. `None` for events that are not about a
    collection (payouts, customers...): acknowledge those and move on."""
    _verify_signature(raw_body, signature_header, secrets, tolerance=tolerance, now=now)
    return _parse_event(raw_body)


def _verify_signature(
    raw_body: bytes,
    signature_header: str | None,
    secrets: Sequence[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    if not secrets:
        # Accepting unsigned webhooks because nobody configured a secret would be silent.
        raise ValueError("no FedaPay webhook secret is configured")
    if not signature_header or not signature_header.strip():
        raise MissingSignature(f"the {SIGNATURE_HEADER} header is missing")
    signed_at, signatures = _parse_header(signature_header)
    # FedaPay signs the timestamp as it wrote it in the header, so sign that text, not int(t).
    signed = signed_at.encode() + b"." + raw_body
    expected = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest().encode() for s in secrets]
    # Every comparison is made, in constant time, so timing reveals neither which secret nor
    # which signature came close.
    matched = False
    for candidate in signatures:
        for digest in expected:
            matched |= hmac.compare_digest(candidate, digest)
    if not matched:
        raise SignatureMismatch("no signature matches the body under the configured secrets")
    age = (time.time() if now is None else now) - int(signed_at)
    if abs(age) > tolerance:
        raise TimestampOutOfTolerance(
            f"signed {age:+.0f} s from now, outside the {tolerance:.0f} s tolerance"
        )


def _parse_event(raw_body: bytes) -> PaymentNotice | None:
    try:
        event = json.loads(raw_body)
    except ValueError as exc:
        raise MalformedCallback("FedaPay webhook body is not JSON") from exc
    if not isinstance(event, dict) or not isinstance(event.get("name"), str):
        raise MalformedCallback("FedaPay webhook has no event name")
    name: str = event["name"]
    if not name.startswith("transaction."):
        return None
    entity: Any = event.get("entity")
    if not isinstance(entity, dict):
        raise MalformedCallback(f"FedaPay {name} webhook has no entity")
    try:
        state, reason, status = transaction_outcome(entity)
    except MalformedResponse as exc:
        raise MalformedCallback(f"FedaPay {name} webhook: {exc}") from exc
    transaction_id = entity.get("id")
    return PaymentNotice(
        provider=NAME,
        event=name,
        reference=our_reference(entity),
        state=state,
        amount=wire.whole_amount(entity.get("amount")),
        # Webhooks carry only FedaPay's internal currency id; fetch_status resolves it.
        currency=None,
        provider_transaction_id=(
            str(transaction_id) if isinstance(transaction_id, int | str) else None
        ),
        reason=reason,
        provider_reason=status,
        raw=event,
    )


def _parse_header(header: str) -> tuple[str, list[bytes]]:
    timestamps: list[str] = []
    signatures: list[bytes] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise MalformedSignatureHeader(f"{SIGNATURE_HEADER} item {item.strip()!r} has no '='")
        if key == "t":
            timestamps.append(value.strip())
        elif key == "s":
            value = value.strip()
            if not _HEX.fullmatch(value):
                raise MalformedSignatureHeader(f"{SIGNATURE_HEADER} s= is not a hex SHA-256")
            signatures.append(value.lower().encode())
        # Other schemes are ignored, so FedaPay can add one without breaking us.
    if len(timestamps) != 1 or not _UNIX_TIME.fullmatch(timestamps[0]):
        raise MalformedSignatureHeader(f"{SIGNATURE_HEADER} needs exactly one numeric t=")
    if not signatures:
        raise MalformedSignatureHeader(f"{SIGNATURE_HEADER} has no s= signature")
    return timestamps[0], signatures
