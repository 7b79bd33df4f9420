"""A local Africa's Talking messaging API, speaking the wire protocol the SDK speaks.

    POST /version1/messaging   header apiKey; form username, to (comma-joined), message,
                               from, bulkSMSMode
    -> 201 {"SMSMessageData": {"Message": "Sent to 1/2 Total Cost: XOF 25.0000",
            "Recipients": [{"statusCode": 101, "number": "+229...", "status": "Success",
                            "cost": "XOF 25.0000", "messageId": "ATXid_..."}, ...]}}

It checks the username and the apiKey (401 with a text body, as AT does), answers each
number on its own, keeps every message it accepted, and can be told to misbehave:

    peer = AtSmsPeer()
    peer.refuse("+2290166000001", 406, "UserInBlacklist")         # every time
    peer.fail_number("+2290166000002", 500, "InternalServerError")  # once
    peer.fail_next("messaging", 500, after=True)   # send the messages, then answer 500
    peer.hang_next("messaging")                    # answer only after the client gave up
    peer.answer_content_type = "text/plain"        # JSON body, wrong content type
    AtSmsPeer(sender_ids=frozenset({"ALAFIA"}))    # others get "InvalidSenderId", no recipients
    with serve(peer.app) as base_url: ...

The app runs in the server's own thread; tests read its records from theirs, hence the lock.
"""

from __future__ import annotations

import math
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from menus import gsm
from tests.peers.faults import FaultInjection

ROUTES = ("messaging",)

# What AT itself refuses as InvalidPhoneNumber: not "+", country code, 8 to 15 digits.
_VALID_NUMBER = re.compile(r"\+[1-9]\d{7,14}", re.ASCII)


@dataclass(frozen=True)
class RecordedCall:
    """Every request to /version1/messaging, answered or not."""

    headers: dict[str, str]  # lower-case names
    form: dict[str, str]


@dataclass(frozen=True)
class SentSms:
    """One message AT accepted for one number."""

    number: str
    text: str
    sender_id: str | None
    message_id: str
    cost: str


@dataclass
class _Outcome:
    status_code: int
    status: str
    times: int | None  # None: every time


class AtSmsPeer(FaultInjection):
    routes = ROUTES

    def __init__(
        self,
        *,
        username: str = "alafia-test",
        api_key: str = "peer-at-api-key",
        currency: str = "XOF",
        price_per_segment: float = 25.0,
        sender_ids: frozenset[str] | None = None,
    ) -> None:
        super().__init__()
        self.username = username
        self.api_key = api_key
        self.currency = currency
        self.price_per_segment = price_per_segment
        self.sender_ids = sender_ids  # registered alphanumeric sender ids; None: any
        self.answer_content_type = "application/json"  # what the real API sends
        self.calls: list[RecordedCall] = []
        self.messages: list[SentSms] = []
        self._outcomes: dict[str, _Outcome] = {}
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[Route("/version1/messaging", self._messaging, methods=["POST"])]
        )

    # -- what a test can ask for ---------------------------------------------------------

    def refuse(
        self,
        phone: str,
        status_code: int = 406,
        status: str = "UserInBlacklist",
        *,
        times: int | None = None,
    ) -> None:
        """Refuse `phone` with a 4xx recipient status, every time unless `times` is given."""
        if not 400 <= status_code < 500:
            raise ValueError("a refusal is a 4xx statusCode")
        self._set_outcome(phone, _Outcome(status_code, status, times))

    def fail_number(
        self,
        phone: str,
        status_code: int = 500,
        status: str = "InternalServerError",
        *,
        times: int | None = 1,
    ) -> None:
        """Answer a 5xx recipient status for `phone`, once unless `times` says otherwise
        (None: every time)."""
        if not 500 <= status_code < 600:
            raise ValueError("a failure is a 5xx statusCode")
        self._set_outcome(phone, _Outcome(status_code, status, times))

    def sent_to(self, phone: str) -> list[SentSms]:
        with self._lock:
            return [m for m in self.messages if m.number == phone]

    def sent(self) -> list[SentSms]:
        with self._lock:
            return list(self.messages)

    def recorded_calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self.calls)

    # -- the API -----------------------------------------------------------------------------

    async def _messaging(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        with self._lock:
            self.calls.append(
                RecordedCall({k.lower(): v for k, v in request.headers.items()}, form)
            )
        if fault := await self._fault("messaging", after=False):
            return fault
        if request.headers.get("apikey") != self.api_key or form.get("username") != self.username:
            return PlainTextResponse("The supplied authentication is invalid", status_code=401)
        for field in ("to", "message"):
            if not form.get(field):
                return PlainTextResponse(
                    f"Request is missing required form field '{field}'", status_code=400
                )
        text = form["message"]
        sender_id = form.get("from") or None
        if (
            sender_id is not None
            and self.sender_ids is not None
            and sender_id not in self.sender_ids
        ):
            # What AT answers for an unregistered sender id: 201, and nobody in Recipients.
            body = {"SMSMessageData": {"Message": "InvalidSenderId", "Recipients": []}}
            return await self._fault("messaging", after=True) or self._json(body)
        price = self.price_per_segment * _segments(text)
        recipients: list[dict[str, Any]] = []
        total = 0.0
        with self._lock:
            for number in (n.strip() for n in form["to"].split(",")):
                recipient = self._answer_for(number, text, sender_id, price)
                if recipient["statusCode"] == 101:
                    total += price
                recipients.append(recipient)
        sent = sum(1 for r in recipients if r["statusCode"] == 101)
        body = {
            "SMSMessageData": {
                "Message": f"Sent to {sent}/{len(recipients)} Total Cost: "
                f"{self.currency} {total:.4f}",
                "Recipients": recipients,
            }
        }
        return await self._fault("messaging", after=True) or self._json(body)

    def _answer_for(
        self, number: str, text: str, sender_id: str | None, price: float
    ) -> dict[str, Any]:
        """Under the lock: the recipient entry for one number, recording it if accepted."""
        outcome = self._outcomes.get(number)
        if outcome is not None:
            if outcome.times is not None:
                outcome.times -= 1
                if outcome.times <= 0:
                    del self._outcomes[number]
            return _not_sent(number, outcome.status_code, outcome.status)
        if not _VALID_NUMBER.fullmatch(number):
            return _not_sent(number, 403, "InvalidPhoneNumber")
        message_id = f"ATXid_{uuid.uuid4().hex}"
        cost = f"{self.currency} {price:.4f}"
        self.messages.append(SentSms(number, text, sender_id, message_id, cost))
        return {
            "statusCode": 101,
            "number": number,
            "status": "Success",
            "cost": cost,
            "messageId": message_id,
        }

    # -- plumbing -------------------------------------------------------------------------------

    def _set_outcome(self, phone: str, outcome: _Outcome) -> None:
        with self._lock:
            self._outcomes[phone] = outcome

    def _json(self, body: dict[str, Any]) -> Response:
        answer = JSONResponse(body, status_code=201)
        answer.headers["content-type"] = self.answer_content_type
        return answer

    def _fault_response(self, status: int, hung: bool) -> Response:
        return PlainTextResponse(
            "Gateway Timeout" if hung else "Internal Server Error", status_code=status
        )


def _not_sent(number: str, status_code: int, status: str) -> dict[str, Any]:
    return {
        "statusCode": status_code,
        "number": number,
        "status": status,
        "cost": "0",
        "messageId": "None",
    }


def _segments(text: str) -> int:
    """Parts AT bills: GSM-7 160 single / 153 per part, UCS-2 70 / 67."""
    units = gsm.length(text)
    single, part = (160, 153) if gsm.is_gsm7(text) else (70, 67)
    return 1 if units <= single else math.ceil(units / part)
