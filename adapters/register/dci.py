"""A DCI registry (OpenSPP, OpenG2P, openIMIS...) as the central register.

Follows the DCI standard's release files (``spdci/standards``, ``release/yaml``,
``ibr_api_v1.0.0.yaml`` for the beneficiary registry and ``social_api_v1.0.0.yaml`` for the
social registry; the exact commit is in docs/integrations/dci.md)::

    POST {token_url}                       client_credentials -> {"access_token", "expires_in"}
    POST /registry/sync/search             idtype-value: find a person (IBR Beneficiary), or
                                           with response_entity Group, their household's
                                           social standing (social registry Group)
    POST /registry/sync/enrolled           enrolled_criteria, the programme in the query
                                           expression -> enrolled_response[].enrolled_status
    POST /registry/sync/enrollment/updates enrolled_updates.beneficiaries -> enrolled_response[]

Every body is a signed envelope (see ``dci_envelope``). What each event becomes (the
programme's enrolment status is one of the standard's: Active, Suspended; see
``dci_records.enrolment_status``):

- coverage_activated: an update of every member, Active from the period's first covered day;
- coverage_lapsed: an update of every member, Suspended;
- household_enrolled, household_updated: an update of every member as they are now, with the
  household's status (and, on household_updated, of those who left it: Deceased when they
  died, else Suspended); member_added: of the new member. Before the cover starts (nothing paid,
  or the waiting period) the standard has no status for them: not applicable, and the
  activation that follows carries the whole household;
- payment_recorded: not applicable. The IBR records benefits a programme pays *to* a
  beneficiary; the standard has no message for a premium a member pays.

The update's transaction_id is the outbox event id, the same on every retry, so the registry
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
from adapters.register.events import EventKind, RegisterEvent
from adapters.register.tokens import AccessToken, TokenCache, send_authorized
from adapters.register.transport import raise_for_login, raise_for_status, send, timeout

SEARCH_PATH = "/registry/sync/search"
ENROLLED_PATH = "/registry/sync/enrolled"
UPDATES_PATH = "/registry/sync/enrollment/updates"
TOKEN_PATH = "/oauth2/client/token"
# Where the enrolled query names the programme: the standard's example spells it so
# (src/extensions/ibr/EnrolledCriteria.yaml), "program" included.
PROGRAMME_ATTRIBUTE = "programme_identifier.program.programme_identifier"
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
    updates_path: str | None = UPDATES_PATH  # None: the registry takes no enrolment updates
    # Who is indigent by the social registry's groups; None: we do not ask it.
    indigence: records.IndigenceRule | None = None
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
                "the DCI beneficiary registry records benefits paid to beneficiaries; the"
                " standard has no message for a premium paid by a member",
            )
        if self._settings.updates_path is None:
            raise RegisterUnsupported(
                event.kind, "this registry takes no enrolment updates (search only)"
            )
        status = records.enrolment_status(event.coverage)
        if status is None:
            raise RegisterUnsupported(
                event.kind,
                "not a beneficiary yet: the standard's enrolment statuses (Active, Suspended,"
                " Deceased, Graduated) have none before the cover starts; the activation"
                " carries the whole household",
            )
        members = event.household.members
        if event.kind is EventKind.MEMBER_ADDED:
            assert event.member_no is not None  # RegisterEvent guarantees it
            members = (event.household.member(event.member_no),)
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
        # Who left the household: Deceased when they died, else Suspended (the standard has
        # no status for someone who just left; Graduated means leaving the programme for good).
        beneficiaries += [
            records.beneficiary(
                gone.member,
                event.household,
                event.coverage,
                status=records.DECEASED if gone.died else records.SUSPENDED,
                changed_on=gone.left_on,
                programme_id=self._settings.programme_id,
                id_types=self._settings.id_types,
            )
            for gone in event.household.left
        ]
        message = {
            "transaction_id": event.event_id,
            "enrolled_updates": {"beneficiaries": beneficiaries},
        }
        # The standard gives this endpoint a callback header: action "notify" and a status.
        answer = await self._exchange(
            self._settings.updates_path,
            "notify",
            message,
            status="succ",
            count=len(beneficiaries),
            queued_is_fine=True,  # the standard's own example answers it "rcvd"
        )
        reply = _message_of(answer, "enrolled_response", "enrolment update answer")
        for item in _items(reply, "enrolled_response", "enrolment update answer"):
            # rcvd/pdng: the registry holds the update and applies it later; a replay of the
            # same transaction_id is how we would send it again, so nothing is lost.
            _check_status(item, "enrolment update", queued_is_fine=True)
        ids = dict(event.known_ids)
        correlation = opt_str(reply, "correlation_id", "enrolment update answer")
        if correlation:
            ids[f"update:{event.kind}"] = correlation
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
                "query_type": "expression",
                "response_entity": "Member",
                # The programme goes inside the query expression, with the attribute names
                # of the standard's own example (src/extensions/ibr/EnrolledCriteria.yaml).
                "query": {
                    "person_identifier": {"eq": member_no},
                    PROGRAMME_ATTRIBUTE: {"eq": self._settings.programme_id},
                },
            },
        }
        # Each item has its own status, checked below: a header "rcvd" (as the standard's
        # example answer has) does not hide a usable answer.
        answer = await self._exchange(ENROLLED_PATH, "search", message, queued_is_fine=True)
        reply = _message_of(answer, "enrolled_response", "enrolled answer")
        # An item names no member: we asked one question about one member and programme, so
        # only a single item is that answer. Several would let a loose registry's "yes" for
        # someone else mark this member covered.
        items = _items(reply, "enrolled_response", "enrolled answer")
        if len(items) != 1:
            raise RegisterMalformedAnswer(
                f"enrolled answer: {len(items)} items for one member's question, expected 1"
            )
        [item] = items
        _check_status(item, "enrolled check")
        enrolled = get_str(item, "enrolled_status", "enrolled answer")
        if enrolled not in ("yes", "no"):
            raise RegisterMalformedAnswer(f"enrolled answer: enrolled_status {enrolled!r}")
        if enrolled == "yes":
            return RegisterEligibility(member_no, on, Eligibility.COVERED)
        # "no" covers both a stranger and a member whose rights are closed: tell them apart.
        if await self._search(self._settings.id_types.member_no, member_no) is None:
            return RegisterEligibility(member_no, on, Eligibility.UNKNOWN_MEMBER)
        return RegisterEligibility(member_no, on, Eligibility.NOT_COVERED)

    async def social_standing(self, national_id: str) -> records.SocialStanding | None:
        """The social registry's group (household) of the person with this NPI, with its
        poverty score; None when the registry lists no group holding them."""
        id_type = self._settings.id_types.national_id
        found = await self._search_records(id_type, national_id, entity="Group")
        groups = records.groups_holding(found, id_type, national_id, self._settings.id_types)
        if len(groups) > 1:
            raise RegisterRejected(f"the registry lists {len(groups)} groups holding one NPI")
        return records.standing(groups[0], self._settings.id_types) if groups else None

    async def is_indigent(self, national_id: str) -> bool | None:
        """By the configured rule; None when the registry does not know the person."""
        rule = self._settings.indigence
        if rule is None:
            raise ValueError("no indigence rule is configured (DCI_INDIGENT_SCORE_BELOW)")
        standing = await self.social_standing(national_id)
        return None if standing is None else rule.holds(standing)

    async def _search(self, id_type: str, value: str) -> dict[str, Any] | None:
        candidates = await self._search_records(id_type, value)
        id_types = self._settings.id_types
        # Keep exact matches only: a registry may answer loosely (prefix or fuzzy match).
        found = [r for r in candidates if records.matches(r, id_type, value, id_types)]
        if len(found) > 1:
            raise RegisterRejected(
                f"the registry holds {len(found)} records with {id_type} {value}"
            )
        return found[0] if found else None

    async def _search_records(
        self, id_type: str, value: str, *, entity: str | None = None
    ) -> list[dict[str, Any]]:
        criteria: dict[str, Any] = {
            "version": envelope.VERSION,
            "query_type": "idtype-value",
            "query": {"type": id_type, "value": value},
            "pagination": {"page_size": 10, "page_number": 1},
        }
        if entity:  # the social registry's search answers Groups or Members
            criteria["response_entity"] = entity
        message = {
            "transaction_id": envelope.new_id(),
            "search_request": [
                {
                    "reference_id": envelope.new_id(),
                    "timestamp": envelope.now(),
                    "search_criteria": criteria,
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
        return [as_dict(r, "reg_record") for r in records.records_of(item)]

    async def _exchange(
        self,
        path: str,
        action: str,
        message: Mapping[str, Any],
        *,
        status: str | None = None,
        count: int = 1,
        queued_is_fine: bool = False,
    ) -> dict[str, Any]:
        """Send one signed envelope and return the answer, or raise what it means."""
        head = envelope.header(
            action,
            sender_id=self._settings.sender_id,
            receiver_id=self._settings.receiver_id,
            status=status,
            total_count=count,
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
            _check_status(answer_header, path, queued_is_fine=queued_is_fine)
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


def _message_of(answer: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    """The answer's message. The standard declares these answers' schema where OpenAPI wants
    a response (``default: $ref: .../EnrolledResponse``): read the message from the envelope
    the other synchronous answers use, or the bare message a registry may send instead."""
    if key in answer:
        return dict(answer)
    return get_dict(answer, "message", where)


def _items(reply: Mapping[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    items = reply.get(key)
    if not isinstance(items, list) or not items:
        raise RegisterMalformedAnswer(f"{where}: no {key}")
    return [as_dict(item, key) for item in items]


def _check_status(part: Mapping[str, Any], where: str, *, queued_is_fine: bool = False) -> None:
    """A request status in a synchronous answer: only "succ" carries a usable result."""
    status = part.get("status")
    if status is None or status == "succ" or (queued_is_fine and status in ("rcvd", "pdng")):
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
