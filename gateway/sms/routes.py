"""Where Africa's Talking calls us about SMS: delivery reports, incoming messages,
opt-outs. Parse, call one service, answer; the aggregator retries until it gets a 200.

Africa's Talking signs none of these, so each URL carries a secret of ours
(`?token=`, AT_CALLBACK_TOKEN) and a request without it is refused.
"""

from __future__ import annotations

import logging

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.callback_guard import Refused, callback_form, refusal
from menus.identifiers import PhoneNumberError, normalise_phone

log = logging.getLogger(__name__)


def _field(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


async def delivery_report(request: Request) -> Response:
    try:
        runtime, form = await callback_form(request, "id", "status")
    except Refused as refused:
        return refusal(refused)
    known = await runtime.sms_reports.delivery(
        _field(form, "id"), _field(form, "status"), _field(form, "failureReason") or None
    )
    # Unknown ids are logged and answered 200: a 4xx would only make AT retry for hours.
    return JSONResponse({"status": "recorded" if known else "unknown id, logged"})


async def inbound(request: Request) -> Response:
    try:
        runtime, form = await callback_form(request, "id", "from")
    except Refused as refused:
        return refusal(refused)
    outcome = await runtime.sms_inbound.receive(
        _field(form, "id")[:64], _field(form, "from"), _field(form, "to"), _field(form, "text")
    )
    return JSONResponse({"status": outcome})


async def opt_out(request: Request) -> Response:
    try:
        runtime, form = await callback_form(request, "phoneNumber")
    except Refused as refused:
        return refusal(refused)
    try:
        phone = normalise_phone(_field(form, "phoneNumber"), runtime.settings.country)
    except PhoneNumberError:
        # Logged and answered 200: a 4xx would only make the aggregator retry for hours.
        log.warning("opt-out notice for something that is not a phone number")
        return JSONResponse({"status": "ignored: phoneNumber is not a valid number"})
    await runtime.sms_reports.opt_out(phone)
    return JSONResponse({"status": "opted out"})
