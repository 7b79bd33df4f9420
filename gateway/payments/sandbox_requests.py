"""How the MoMo sandbox reads a request as MTN's Collection API does, and answers a bad
one in MTN's own shapes (`{code, message}`; the API gateway's 401 for credentials).

Kept apart from the sandbox's state and endpoints (`gateway.payments.sandbox`): these
are the wire's rules, checked the same way on every call.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from uuid import UUID

import httpx
from starlette.responses import JSONResponse

_DIGITS = re.compile(r"[0-9]+")
_CURRENCY = re.compile(r"[A-Z]{3}")
PARTY_ID = re.compile(r"[0-9]{6,15}")  # a payer's MSISDN, digits without +
_TEXT_FIELDS = (
    ("externalId", "INVALID_EXTERNAL_ID"),
    ("payerMessage", "INVALID_PAYER_MESSAGE"),
    ("payeeNote", "INVALID_PAYEE_NOTE"),
)


def read_body(body: Any) -> tuple[str, str, str, str, str, str] | JSONResponse:
    """The request-to-pay fields, or the 400 MTN-style answer naming what is wrong."""
    if not isinstance(body, dict):
        return mtn_error(400, "INVALID_JSON", "the body must be a JSON object")
    amount = body.get("amount")
    # A string, as MTN wants; whole units, since XOF has none smaller.
    if not isinstance(amount, str) or not _DIGITS.fullmatch(amount) or int(amount) <= 0:
        return mtn_error(400, "INVALID_AMOUNT", "amount must be a string of digits, above 0")
    currency = body.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        return mtn_error(400, "INVALID_CURRENCY", "currency must be an ISO 4217 code like XOF")
    payer = body.get("payer")
    party_id = payer.get("partyId") if isinstance(payer, dict) else None
    if (
        not isinstance(payer, dict)
        or payer.get("partyIdType") != "MSISDN"
        or not isinstance(party_id, str)
        or not PARTY_ID.fullmatch(party_id)
    ):
        return mtn_error(
            400, "INVALID_PAYER", "payer must be {partyIdType: MSISDN, partyId: digits}"
        )
    texts: list[str] = []
    for name, code in _TEXT_FIELDS:
        value = body.get(name)
        # Empty ones have made production MTN answer 500: refuse them plainly here.
        if not isinstance(value, str) or not value.strip():
            return mtn_error(400, code, f"{name} must be a non-empty string")
        texts.append(value)
    external_id, payer_message, payee_note = texts
    return amount, currency, external_id, party_id, payer_message, payee_note


def basic_credentials(authorization: str) -> bool:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, colon, key = decoded.partition(":")
    return bool(colon and user and key)


def canonical(reference: str, version: int | None = None) -> str | None:
    """A UUID in its canonical lower-case form, so case cannot split one reference in two.

    Only the hyphenated form is a reference: `UUID()` would also take braces or bare hex.
    """
    try:
        parsed = UUID(reference)
    except ValueError:
        return None
    if str(parsed) != reference.lower():
        return None
    if version is not None and parsed.version != version:
        return None
    return str(parsed)


def is_absolute_http_url(url: str) -> bool:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host)


def mtn_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def access_denied(why: str) -> JSONResponse:
    # MTN's API gateway answers 401 in this shape, not {code, message}.
    return JSONResponse(
        {"statusCode": 401, "message": f"Access denied due to {why}."}, status_code=401
    )
