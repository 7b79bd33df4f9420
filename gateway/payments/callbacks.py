"""Where mobile-money providers call us back. Quick answers, no crediting here.

A callback only tells the worker to ask the provider now; the money is credited from
the status the provider gives to our own authenticated request. Every body is kept.
"""

from __future__ import annotations

import logging
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.payments import (
    CallbackVerificationError,
    MalformedCallback,
    parse_callback,
    verify_webhook,
)
from adapters.payments.fedapay_webhook import MissingSignature, SignatureMismatch

log = logging.getLogger(__name__)


def _answer(known: bool) -> Response:
    if known:
        return JSONResponse({"status": "received"})
    return JSONResponse({"error": "unknown payment reference; kept for review"}, status_code=404)


async def momo_callback(request: Request) -> Response:
    """MTN sends the status body by PUT or POST, with our reference only in the path."""
    billing = request.app.state.runtime.billing
    raw = await request.body()
    text = raw.decode("utf-8", "replace")
    try:
        reference = UUID(request.path_params["reference"])
    except ValueError:
        await billing.reject("momo", "callback", text, "malformed: reference")
        return JSONResponse({"error": "not a payment reference"}, status_code=400)
    try:
        parse_callback(reference, raw)
    except MalformedCallback:
        # MTN may not send it again: the worker still asks about this reference now.
        await billing.receive(str(reference), "momo", "callback", text)
        log.warning("malformed MoMo callback for a reference; its status will be asked")
        return JSONResponse({"error": "malformed callback"}, status_code=400)
    return _answer(await billing.receive(str(reference), "momo", "callback", text))


async def fedapay_webhook(request: Request) -> Response:
    runtime = request.app.state.runtime
    raw = await request.body()
    text = raw.decode("utf-8", "replace")
    if not runtime.settings.payments.fedapay_webhook_secrets:
        log.error("a FedaPay webhook arrived but FEDAPAY_WEBHOOK_SECRET is not set")
        return JSONResponse({"error": "webhooks are not configured here"}, status_code=503)
    try:
        notice = verify_webhook(
            raw,
            request.headers.get("x-fedapay-signature"),
            runtime.settings.payments.fedapay_webhook_secrets,
        )
    except CallbackVerificationError as error:
        forged = isinstance(error, MissingSignature | SignatureMismatch)
        await runtime.billing.reject("fedapay", "webhook", text, f"refused: {type(error).__name__}")
        log.warning("FedaPay webhook refused: %s", type(error).__name__)
        return JSONResponse({"error": type(error).__name__}, status_code=401 if forged else 400)
    if notice is None:
        return JSONResponse({"status": "ignored"})  # not about a collection
    reference = str(notice.reference) if notice.reference else None
    return _answer(await runtime.billing.receive(reference, "fedapay", "webhook", text))
