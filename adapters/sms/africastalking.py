"""Africa's Talking SMS, through the official `africastalking` SDK.

Wire protocol (see /work/shared/reference/africastalking-sms.md and
docs/integrations/africastalking-sms.md):

    POST {base}/version1/messaging   header apiKey, form username, to (comma-joined), message, from
    -> 201 {"SMSMessageData": {"Message": "...", "Recipients": [{"statusCode": 101, "number": ...,
            "status": "Success", "cost": "XOF 25.0000", "messageId": "ATXid_..."}, ...]}}

One call carries one text to many numbers, and each number gets its own verdict: 100-102
accepted, 4xx refused for good (invalid number, blacklisted, no balance...), 5xx retryable.
Anything that goes wrong with the call as a whole (timeout, outage, a body we cannot read)
is a RETRY for every number: nothing is known to have left, and the outbox tries again.

The SDK is blocking (requests, no session), so calls run in a thread pool owned by this
sender, never in the loop's default executor, which serves the USSD enrolment writes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from africastalking.Service import AfricasTalkingException
from africastalking.SMS import SMSService

from adapters.sms.base import OutgoingSms, SendOutcome, SendResult
from menus.identifiers import mask_phone

logger = logging.getLogger(__name__)

NAME = "africastalking"

# The SDK's own check, made stricter: it uses re.match with `$` (a trailing newline passes)
# and a Unicode `\d` (Arabic-Indic digits pass). A number that fails the SDK's check makes it
# raise ValueError for the whole call, so we refuse bad numbers ourselves, one by one.
_PHONE = re.compile(r"\+\d{1,3}\d{3,}", re.ASCII)

_ACCEPTED_CODES = frozenset({100, 101, 102})  # Processed, Sent, Queued

DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)  # (connect, read) seconds, for requests


def is_sendable(phone: str) -> bool:
    """True when the SDK will take this number (E.164-like: +, country code, digits)."""
    return _PHONE.fullmatch(phone) is not None


class AfricasTalkingSender:
    """An `SmsSender` over Africa's Talking's bulk messaging API."""

    name = NAME

    def __init__(
        self,
        username: str,
        api_key: str,
        sender_id: str | None,
        base_url: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        concurrency: int = 8,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        # An instance of our own, not africastalking.initialize(): module globals would be
        # shared by every sender in the process and by tests.
        self._service: Any = SMSService(username, api_key)
        if base_url:
            # Staging and tests (AT_SMS_URL). Without it the SDK chooses: the sandbox host
            # for username "sandbox", production otherwise.
            self._service._baseUrl = base_url.rstrip("/") + "/version1"
        self._sender_id = sender_id or None  # an empty setting means AT's default sender
        self._timeout = timeout
        # The pool bounds the calls in flight; further sends queue here, not in the loop.
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="at-sms")
        self._in_flight: set[asyncio.Future[list[SendResult]]] = set()
        self._closed = False

    def __repr__(self) -> str:  # keep the API key out of logs and tracebacks
        return f"AfricasTalkingSender(sender_id={self._sender_id!r})"

    async def send(self, sms: OutgoingSms) -> Sequence[SendResult]:
        if self._closed:
            raise RuntimeError("AfricasTalkingSender is closed")
        results: dict[str, SendResult] = {}
        good: list[str] = []
        for phone in dict.fromkeys(sms.phones):  # each number once on the wire
            if is_sendable(phone):
                good.append(phone)
            else:
                logger.info(
                    "SMS to %s refused before sending: InvalidPhoneNumber", mask_phone(phone)
                )
                results[phone] = SendResult(phone, SendOutcome.REFUSED, reason="InvalidPhoneNumber")
        if good:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self._pool, self._send_blocking, sms.text, good)
            self._in_flight.add(future)
            future.add_done_callback(self._in_flight.discard)
            # If this coroutine is cancelled the thread still finishes its call: the message
            # may have left while we record a RETRY. The outbox is at-least-once by design.
            for result in await future:
                results[result.phone] = result
        return [results[phone] for phone in sms.phones]

    async def aclose(self) -> None:
        """Let calls in flight finish (each is bounded by the timeout), then stop the pool."""
        if self._closed:
            return
        self._closed = True
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- in the pool's threads ------------------------------------------------------------------

    def _send_blocking(self, text: str, phones: list[str]) -> list[SendResult]:
        """One SDK call; never raises, so every number always gets a result."""
        try:
            answer = self._service.send(
                text, phones, sender_id=self._sender_id, timeout=self._timeout
            )
        # requests' JSONDecodeError is a RequestException too: the SDK calls res.json() on a
        # body announced as application/json, so a broken body lands here, not in a parse.
        except requests.exceptions.JSONDecodeError:
            return _retry_all(phones, "bad_answer")
        except requests.exceptions.Timeout:  # ConnectTimeout included
            return _retry_all(phones, "timeout")
        except requests.exceptions.ConnectionError:
            return _retry_all(phones, "unreachable")
        except requests.exceptions.RequestException as exc:
            return _retry_all(phones, f"request_error: {type(exc).__name__}")
        except AfricasTalkingException as exc:
            # Raised for any non-2xx answer, carrying only the body text (e.g. 401
            # "The supplied authentication is invalid"); the status code is lost.
            return _retry_all(phones, "http_error: " + str(exc)[:80])
        except Exception as exc:
            # Never let a surprise escape to the worker; log the type only, since SDK
            # messages can quote a full phone number.
            logger.error("Africa's Talking SDK failed unexpectedly: %s", type(exc).__name__)
            return _retry_all(phones, f"error: {type(exc).__name__}")
        return _map_answer(answer, phones)


def _map_answer(answer: object, phones: Sequence[str]) -> list[SendResult]:
    # The SDK returns res.json() only for a content-type of exactly "application/json"
    # ("application/json; charset=utf-8" is not), and the body text otherwise.
    if isinstance(answer, str | bytes):
        try:
            answer = json.loads(answer)
        except ValueError:
            return _retry_all(phones, "bad_answer")
    data = _message_data(answer)
    recipients = data.get("Recipients") if data is not None else None
    if data is None or not isinstance(recipients, list):
        return _retry_all(phones, "bad_answer")

    by_number: dict[str, Mapping[str, Any]] = {}
    for recipient in recipients:
        if isinstance(recipient, Mapping):
            # Keyed on digits: AT echoes the numbers, but a formatting difference must not
            # turn an accepted message into a retry (and so a duplicate).
            by_number.setdefault(_digits(recipient.get("number")), recipient)

    results = [_map_recipient(phone, by_number.get(_digits(phone))) for phone in phones]
    if any(r.reason == "no_answer" for r in results):
        # e.g. {"Message": "InvalidSenderId", "Recipients": []}: the Message says why.
        message = str(data.get("Message"))[:80]
        logger.warning("Africa's Talking left numbers unanswered; its message: %r", message)
    return results


def _message_data(answer: object) -> Mapping[str, Any] | None:
    if not isinstance(answer, Mapping):
        return None
    data = answer.get("SMSMessageData")
    return data if isinstance(data, Mapping) else None


# 401 RiskHold, 402 InvalidSenderId, 405 InsufficientBalance.
_ACCOUNT_CODES = frozenset({401, 402, 405})


def _map_recipient(phone: str, recipient: Mapping[str, Any] | None) -> SendResult:
    if recipient is None:
        return SendResult(phone, SendOutcome.RETRY, reason="no_answer")
    status = str(recipient.get("status") or "")
    code = _status_code(recipient.get("statusCode"))
    if code in _ACCEPTED_CODES:
        message_id = recipient.get("messageId")
        cost = recipient.get("cost")
        return SendResult(
            phone,
            SendOutcome.ACCEPTED,
            provider_id=str(message_id) if message_id not in (None, "", "None") else None,
            cost=str(cost) if cost is not None else None,
        )
    if code in _ACCOUNT_CODES:
        # The account, not the number: no credit, a held account, a sender id not approved.
        # Retried (and logged loudly) until someone fixes it; never a lost receipt.
        logger.warning("Africa's Talking refuses our account: %s (%d)", status, code)
        return SendResult(phone, SendOutcome.RETRY, reason=status or str(code))
    if 400 <= code < 500:
        logger.info(
            "SMS to %s refused by Africa's Talking: %s (%d)", mask_phone(phone), status, code
        )
        return SendResult(phone, SendOutcome.REFUSED, reason=status or str(code))
    if not 500 <= code < 600:
        # Undocumented: retrying risks a duplicate, refusing risks a lost receipt; a duplicate
        # receipt is the lesser harm.
        logger.warning("SMS to %s: undocumented statusCode %r", mask_phone(phone), code)
    return SendResult(phone, SendOutcome.RETRY, reason=status or str(code))


def _status_code(raw: object) -> int:
    """AT sends an integer; a string of digits is read too, anything else is 0 (unknown)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().isdecimal():
        return int(raw)
    return 0


def _retry_all(phones: Sequence[str], reason: str) -> list[SendResult]:
    logger.warning("Africa's Talking call for %d number(s) failed: %s", len(phones), reason)
    return [SendResult(phone, SendOutcome.RETRY, reason=reason) for phone in phones]


def _digits(number: object) -> str:
    return re.sub(r"\D", "", str(number or ""))
