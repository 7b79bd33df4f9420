"""A DCI registry (OpenSPP, OpenG2P, openIMIS...) as the central register.

    POST {token_url}             client_credentials -> {"access_token", "expires_in"}
    POST /registry/sync/search   query_type idtype-value: find a person
    POST /registry/sync/enrolled is this member enrolled in our programme: "yes" | "no"
    POST /registry/receipts      IBR receipts REGISTER / DEREGISTER: push enrolments

Every body is a signed envelope (see ``dci_envelope``). What each event becomes:

- household_enrolled: REGISTER of every member, enrolment status from the coverage (Pending
  while nothing is paid);
- member_added: REGISTER of the new member;
- household_updated: REGISTER of every member again, as they are now (a corrected name or
  birth date, a new contact phone on the head, a member moved in under this assistance unit);
- coverage_activated: REGISTER of every member, Active from the period's first covered day;
- coverage_lapsed: DEREGISTER of every member, Suspended;
- payment_recorded: not supported. DCI receipts of type PAYMENT record benefits a programme paid
  *to* a beneficiary; the standard has no message for a premium a member pays.

The receipt's transaction_id is the outbox event id, the same on every retry, so the registry
can recognise a replay; each beneficiary is keyed by member number and programme.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from adapters.http_client import HttpAdapter
from adapters.register import dci_envelope as envelope
from adapters.register import dci_records as records
from adapters.register.answers import as_dict, get_dict, get_str, json_object, opt_str
from adapters.register.base import Eligibility, PushResult, RegisterEligibility, RegisterPerson
from adapters.register.errors import (
    RegisterMalformedAnswer,
    RegisterRejected,
    RegisterUnavailable,
    RegisterUnsupported,
)
from adapters.register.events import EventKind, MemberRecord, RegisterEvent
from adapters.register.tokens import AccessToken, TokenCache, send_authorized
from adapters.register.transport import raise_for_login, raise_for_status, send, timeout

SEARCH_PATH = "/registry/sync/search"
ENROLLED_PATH = "/registry/sync/enrolled"
RECEIPTS_PATH = "/registry/receipts"
TOKEN_PATH = "/oauth2/client/token"
# RFC 6749 lets a token answer omit expires_in; renew early rather than trust a guess.
_DEFAULT_TOKEN_LIFETIME = 300.0

# DCI error codes (standard v1.0.0, Error.code) that do not blame the event.
_TRY_AGAIN = frozenset(
    {"err.request.timeout", "err.request.too_many_requests", "err.service.unavailable"}
)
_REFUSES_US = frozenset(
    {
        "err.request.unauthorized",
        "err.request.forbidden",
        "err.sender_id.invalid",
        "err.sender_uri.invalid",
        "err.receiver_id.invalid",
        "err.signature.missing",
        "err.signature.invalid",
        "err.encryption.invalid",
        "err.version.not_supported",
    }
)


@dataclass(frozen=True)
class DciSettings:
    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    sender_id: str  # our id as registered with the registry, e.g. "alafia.gateway"
    receiver_id: str  # the registry's id, e.g. "social.registry"
    programme_id: str  # our health-insurance programme's identifier at the registry
    token_url: str = TOKEN_PATH  # relative to base_url, or absolute
    receipts_path: str | None = RECEIPTS_PATH  # None: the registry takes no receipts
    id_types: records.IdTypes = field(default_factory=records.IdTypes)
    signing_key: str | None = field(default=None, repr=False)  # base64 Ed25519 private key
    signing_key_id: str | None = None
    timeout_seconds: float = 10.0


class DciRegister(HttpAdapter):
    def __init__(self, settings: DciSettings) -> None:
        super().__init__(base_url=settings.base_url, timeout=timeout(settings.timeout_seconds))
        self._settings = settings
        self._tokens = TokenCache(self._fetch_token)
        self._signer: envelope.EnvelopeSigner | None = None
        if settings.signing_key:
            self._signer = envelope.Ed25519Signer(
                settings.signing_key,
                sender_id=settings.sender_id,
                key_id=settings.signing_key_id or "",
            )

    async def push(self, event: RegisterEvent) -> PushResult:
        if event.kind is EventKind.PAYMENT_RECORDED:
            raise RegisterUnsupported(
                event.kind,
                "DCI receipts record benefits paid to beneficiaries; the standard has no"
                " message for a premium paid by a member",
            )
        if self._settings.receipts_path is None:
            raise RegisterUnsupported(event.kind, "this registry takes no receipts (search only)")
        receipt_type, members, status = self._receipt_plan(event)
        beneficiaries = [
            records.beneficiary(
                member,
                event.household,
                event.coverage,
                status=status,
                changed_on=event.occurred_at.date(),
                programme_id=self._settings.programme_id,
                id_types=self._settings.id_types,
            )
            for member in members
        ]
        message = {
            "transaction_id": event.event_id,
            "receipt_information": {"receipt_type": receipt_type, "beneficiaries": beneficiaries},
        }
        # The standard's receipts endpoint declares the action "notify".
        answer = await self._exchange(self._settings.receipts_path, "notify", message)
        ack = get_dict(answer, "message", "receipt answer")
        if get_str(ack, "ack_status", "receipt answer") not in ("ACK", "NACK"):
            raise RegisterMalformedAnswer(f"receipt answer: ack_status {ack['ack_status']!r}")
        ids = dict(event.known_ids)
        correlation = opt_str(ack, "correlation_id", "receipt answer")
        if correlation:
            ids[f"receipt:{event.kind}"] = correlation
        return PushResult(register_ids=MappingProxyType(ids))

    async def find_person(
        self, national_id: str | None, member_no: str | None
    ) -> RegisterPerson | None:
        if national_id is None and member_no is None:
            raise ValueError("give a national id, a member number, or both")
        id_types = self._settings.id_types
        for id_type, value in (
            (id_types.national_id, national_id),
            (id_types.member_no, member_no),
        ):
            if value:
                record = await self._search(id_type, value)
                if record is not None:
                    return records.person(record, id_types)
        return None

    async def check_eligibility(self, member_no: str, on: dt.date) -> RegisterEligibility:
        """DCI's enrolled check takes no date: the answer is the registry's status of the day,
        reported for ``on``. It names no period either."""
        message = {
            "transaction_id": envelope.new_id(),
            "enrolled_criteria": {
                "query_type": "idtype-value",
                "query": {"type": self._settings.id_types.member_no, "value": member_no},
                # Where the programme goes is not fixed by the standard: see the docs page.
                "programme_identifier": self._settings.programme_id,
            },
        }
        answer = await self._exchange(ENROLLED_PATH, "search", message)
        reply = get_dict(answer, "message", "enrolled answer")
        enrolled = get_str(reply, "enrolled_status", "enrolled answer")
        if enrolled == "yes":
            return RegisterEligibility(member_no, on, Eligibility.COVERED)
        if enrolled != "no":
            raise RegisterMalformedAnswer(f"enrolled answer: enrolled_status {enrolled!r}")
        # "no" covers both a stranger and a member whose rights are closed: tell them apart.
        if await self._search(self._settings.id_types.member_no, member_no) is None:
            return RegisterEligibility(member_no, on, Eligibility.UNKNOWN_MEMBER)
        return RegisterEligibility(member_no, on, Eligibility.NOT_COVERED)

    @staticmethod
    def _receipt_plan(event: RegisterEvent) -> tuple[str, tuple[MemberRecord, ...], str]:
        members = event.household.members
        if event.kind is EventKind.COVERAGE_LAPSED:
            return "DEREGISTER", members, records.SUSPENDED
        if event.kind is EventKind.MEMBER_ADDED:
            assert event.member_no is not None  # RegisterEvent guarantees it
            members = (event.household.member(event.member_no),)
        return "REGISTER", members, records.enrolment_status(event.coverage)

    async def _search(self, id_type: str, value: str) -> dict[str, Any] | None:
        message = {
            "transaction_id": envelope.new_id(),
            "search_request": [
                {
                    "reference_id": envelope.new_id(),
                    "timestamp": envelope.now(),
                    "search_criteria": {
                        "version": envelope.VERSION,
                        "query_type": "idtype-value",
                        "query": {"type": id_type, "value": value},
                        "pagination": {"page_size": 10, "page_number": 1},
                    },
                }
            ],
        }
        answer = await self._exchange(SEARCH_PATH, "search", message)
        reply = get_dict(answer, "message", "search answer")
        responses = reply.get("search_response")
        if not isinstance(responses, list) or not responses:
            raise RegisterMalformedAnswer("search answer: no search_response")
        item = as_dict(responses[0], "search_response")
        _check_status(item, "search")
        id_types = self._settings.id_types
        candidates = [as_dict(r, "reg_record") for r in records.records_of(item)]
        # Keep exact matches only: a registry may answer loosely (prefix or fuzzy match).
        found = [r for r in candidates if records.matches(r, id_type, value, id_types)]
        if len(found) > 1:
            raise RegisterRejected(
                f"the registry holds {len(found)} records with {id_type} {value}"
            )
        return found[0] if found else None

    async def _exchange(self, path: str, action: str, message: Mapping[str, Any]) -> dict[str, Any]:
        """Send one signed envelope and return the answer, or raise what it means."""
        head = envelope.header(
            action,
            sender_id=self._settings.sender_id,
            receiver_id=self._settings.receiver_id,
        )
        body = envelope.envelope(head, message, self._signer)
        response = await send_authorized(self._client, self._tokens, "POST", path, json=body)
        raise_for_status(response)
        answer = json_object(response)
        ack = answer.get("message")
        if isinstance(ack, dict) and ack.get("ack_status") == "ERR":
            _raise_ack_error(ack, path)
        answer_header = answer.get("header")
        if isinstance(answer_header, dict):
            _check_status(answer_header, path)
        return answer

    async def _fetch_token(self) -> AccessToken:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._settings.client_id,
            "client_secret": self._settings.client_secret,
        }
        response = await send(self._client, "POST", self._settings.token_url, data=form)
        raise_for_login(response)
        body = json_object(response)
        token = get_str(body, "access_token", "token answer")
        lifetime = body.get("expires_in", _DEFAULT_TOKEN_LIFETIME)
        try:  # the standard types expires_in as a string ("36000"); RFC 6749 as a number
            seconds = float(lifetime)
        except (TypeError, ValueError) as exc:
            raise RegisterMalformedAnswer(f"token answer: expires_in {lifetime!r}") from exc
        return AccessToken(token, time.time() + seconds)


def _check_status(part: Mapping[str, Any], where: str) -> None:
    """A request status in a synchronous answer: only "succ" carries a usable result."""
    status = part.get("status")
    if status is None or status == "succ":
        return
    reason = f"{part.get('status_reason_code') or ''} {part.get('status_reason_message') or ''}"
    if status == "rjct":
        raise RegisterRejected(f"{where}: rejected: {reason.strip()}")
    if status in ("rcvd", "pdng"):
        raise RegisterUnavailable(f"{where}: the registry queued a synchronous request ({status})")
    raise RegisterMalformedAnswer(f"{where}: unknown status {status!r}")


def _raise_ack_error(ack: Mapping[str, Any], where: str) -> None:
    error = as_dict(ack.get("error") or {}, f"{where}.error")
    code = str(error.get("code") or "")
    detail = f"{where}: {code}: {error.get('message') or ''}".rstrip(": ")
    if code in _TRY_AGAIN:
        raise RegisterUnavailable(detail)
    if code in _REFUSES_US:
        raise RegisterUnavailable(f"{detail} (check our DCI credentials, ids and signing key)")
    raise RegisterRejected(detail)
