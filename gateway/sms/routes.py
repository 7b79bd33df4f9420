"""Where Africa's Talking calls us about SMS: delivery reports, incoming messages,
opt-outs. Parse, call one service, answer; the aggregator retries until it gets a 200.

Africa's Talking signs none of these, so each URL carries a secret of ours
(`?token=`, AT_CALLBACK_TOKEN) and a request without it is refused.
"""

from __future__ import annotations

import hmac
import logging

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.runtime import Runtime
from menus.identifiers import PhoneNumberError, normalise_phone

log = logging.getLogger(__name__)


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def _form(request: Request, *required: str) -> tuple[Runtime, FormData]:
    runtime: Runtime = request.app.state.runtime
    expected = runtime.settings.sms.callback_token
    given = request.query_params.get("token", "")
    if expected is not None and not hmac.compare_digest(given.encode(), expected.encode()):
        raise Refused(401, "missing or wrong token")
    form = await request.form()
    missing = [name for name in required if not str(form.get(name) or "").strip()]
    if missing:
        raise Refused(400, f"missing field(s): {', '.join(missing)}")
    return runtime, form


def _field(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


def _refusal(refused: Refused) -> Response:
    return JSONResponse({"error": refused.reason}, status_code=refused.status)


async def delivery_report(request: Request) -> Response:
    try:
        runtime, form = await _form(request, "id", "status")
    except Refused as refused:
        return _refusal(refused)
    known = await runtime.sms_reports.delivery(
        _field(form, "id"), _field(form, "status"), _field(form, "failureReason") or None
    )
    # Unknown ids are logged and answered 200: a 4xx would only make AT retry for hours.
    return JSONResponse({"status": "recorded" if known else "unknown id, logged"})


async def inbound(request: Request) -> Response:
    try:
        runtime, form = await _form(request, "id", "from")
    except Refused as refused:
        return _refusal(refused)
    outcome = await runtime.sms_inbound.receive(
        _field(form, "id")[:64], _field(form, "from"), _field(form, "to"), _field(form, "text")
    )
    return JSONResponse({"status": outcome})


async def opt_out(request: Request) -> Response:
    try:
        runtime, form = await _form(request, "phoneNumber")
    except Refused as refused:
        return _refusal(refused)
    try:
        phone = normalise_phone(_field(form, "phoneNumber"), runtime.settings.country)
    except PhoneNumberError:
        # Logged and answered 200: a 4xx would only make the aggregator retry for hours.
        log.warning("opt-out notice for something that is not a phone number")
        return JSONResponse({"status": "ignored: phoneNumber is not a valid number"})
    await runtime.sms_reports.opt_out(phone)
    return JSONResponse({"status": "opted out"})
