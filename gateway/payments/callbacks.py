"""Where mobile-money providers call us back. Quick answers, no crediting here.

A callback only tells the worker to ask the provider now; the money is credited from
the status the provider gives to our own authenticated request. Every body is kept,
its first 8 KiB at most (`gateway.limits.stored`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.payments import (
    CallbackVerificationError,
    MalformedCallback,
    parse_callback,
    verify_webhook,
)
from adapters.payments.fedapay_webhook import MissingSignature, SignatureMismatch
from db.values import NoticeSource
from gateway.limits.stored import stored_text
from gateway.payments.ledger import Billing

log = logging.getLogger(__name__)


def _answer(known: bool) -> Response:
    if known:
        return JSONResponse({"status": "received"})
    return JSONResponse({"error": "unknown payment reference; kept for review"}, status_code=404)


@dataclass
class PaymentCallbacks:
    ledger: Billing
    fedapay_webhook_secrets: tuple[str, ...]  # several while a secret is rotated

    def routes(self) -> list[BaseRoute]:
        return [
            Route(
                "/payments/momo/callback/{reference}", self.momo_callback, methods=["PUT", "POST"]
            ),
            Route("/payments/fedapay/webhook", self.fedapay_webhook, methods=["POST"]),
        ]

    async def momo_callback(self, request: Request) -> Response:
        return await momo_callback(self.ledger, request)

    async def fedapay_webhook(self, request: Request) -> Response:
        return await fedapay_webhook(self.ledger, self.fedapay_webhook_secrets, request)


async def momo_callback(billing: Billing, request: Request) -> Response:
    """MTN sends the status body by PUT or POST, with our reference only in the path."""
    raw = await request.body()
    text = stored_text(raw)  # a stranger's body is kept, but bounded
    try:
        reference = UUID(request.path_params["reference"])
    except ValueError:
        await billing.reject("momo", NoticeSource.CALLBACK, text, "malformed: reference")
        return JSONResponse({"error": "not a payment reference"}, status_code=400)
    try:
        parse_callback(reference, raw)
    except MalformedCallback:
        # MTN may not send it again: the worker still asks about this reference now.
        await billing.receive(str(reference), "momo", NoticeSource.CALLBACK, text)
        log.warning("malformed MoMo callback for a reference; its status will be asked")
        return JSONResponse({"error": "malformed callback"}, status_code=400)
    return _answer(await billing.receive(str(reference), "momo", NoticeSource.CALLBACK, text))


async def fedapay_webhook(billing: Billing, secrets: tuple[str, ...], request: Request) -> Response:
    raw = await request.body()
    text = stored_text(raw)  # a stranger's body is kept, but bounded
    if not secrets:
        log.error("a FedaPay webhook arrived but FEDAPAY_WEBHOOK_SECRET is not set")
        return JSONResponse({"error": "webhooks are not configured here"}, status_code=503)
    try:
        notice = verify_webhook(
            raw,
            request.headers.get("x-fedapay-signature"),
            secrets,
        )
    except CallbackVerificationError as error:
        forged = isinstance(error, MissingSignature | SignatureMismatch)
        await billing.reject(
            "fedapay", NoticeSource.WEBHOOK, text, f"refused: {type(error).__name__}"
        )
        log.warning("FedaPay webhook refused: %s", type(error).__name__)
        return JSONResponse({"error": type(error).__name__}, status_code=401 if forged else 400)
    if notice is None:
        return JSONResponse({"status": "ignored"})  # not about a collection
    reference = str(notice.reference) if notice.reference else None
    return _answer(await billing.receive(reference, "fedapay", NoticeSource.WEBHOOK, text))
