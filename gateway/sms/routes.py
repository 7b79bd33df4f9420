"""Where Africa's Talking calls us about SMS: delivery reports, incoming messages,
opt-outs. Parse, call one service, answer; the aggregator retries until it gets a 200.

Africa's Talking signs none of these, so each URL carries a secret of ours
(`?token=`, AT_CALLBACK_TOKEN) and a request without it is refused, as one from outside
CALLBACK_ALLOW_NETWORKS is when that is set (gateway/callback_guard.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.callback_guard import CallbackGuard, Refused, callback_form, refusal
from gateway.sms.inbound import InboundService
from gateway.sms.reports import Reports
from menus.identifiers import PhoneNumberError, normalise_phone

log = logging.getLogger(__name__)


def _field(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


@dataclass(frozen=True)
class SmsCallbacks:
    reports: Reports
    inbound: InboundService
    guard: CallbackGuard  # AT_CALLBACK_TOKEN, CALLBACK_ALLOW_NETWORKS
    country: str

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/sms/delivery", self.delivery_report, methods=["POST"]),
            Route("/sms/inbound", self.receive, methods=["POST"]),
            Route("/sms/optout", self.opt_out, methods=["POST"]),
        ]

    async def delivery_report(self, request: Request) -> Response:
        try:
            form = await callback_form(request, self.guard, "id", "status")
        except Refused as refused:
            return refusal(refused)
        known = await self.reports.delivery(
            _field(form, "id"), _field(form, "status"), _field(form, "failureReason") or None
        )
        # Unknown ids are logged and answered 200: a 4xx would only make AT retry for hours.
        return JSONResponse({"status": "recorded" if known else "unknown id, logged"})

    async def receive(self, request: Request) -> Response:
        try:
            form = await callback_form(request, self.guard, "id", "from")
        except Refused as refused:
            return refusal(refused)
        outcome = await self.inbound.receive(
            _field(form, "id")[:64], _field(form, "from"), _field(form, "to"), _field(form, "text")
        )
        return JSONResponse({"status": outcome})

    async def opt_out(self, request: Request) -> Response:
        try:
            form = await callback_form(request, self.guard, "phoneNumber")
        except Refused as refused:
            return refusal(refused)
        try:
            phone = normalise_phone(_field(form, "phoneNumber"), self.country)
        except PhoneNumberError:
            # Logged and answered 200: a 4xx would only make the aggregator retry for hours.
            log.warning("opt-out notice for something that is not a phone number")
            return JSONResponse({"status": "ignored: phoneNumber is not a valid number"})
        await self.reports.opt_out(phone)
        return JSONResponse({"status": "opted out"})
