"""A small DCI registry, beneficiary registry (IBR) and social registry in one, for the register
adapter's tests, built from the DCI standard's release files.

Every rule it enforces comes from the standard (spdci/standards, ``release/yaml`` at the commit
named in ``tests/peers/dci_schemas/README.md``), cited where it is applied:

- each request is validated against its operation's schema in ``ibr_api_v1.0.0.yaml`` (the
  social registry's ``social_api_v1.0.0.yaml`` for a search by ``response_entity``) and refused
  as the standard's ``Response`` does for an invalid request: ``ack_status: ERR`` with the
  ``Error`` code ``err.request.bad``;
- each answer it makes is validated against the same files before it leaves (a peer that
  drifts from the standard fails the test that used it);
- OAuth2 client credentials at ``/oauth2/client/token`` (``authz_core_api_v1.0.0.yaml``;
  ``expires_in`` typed as a string there); 401 ``err.request.unauthorized`` otherwise
  (``securitySchemas.Authorization``: every endpoint but the token one needs the bearer);
- the envelope's ``sender_id``/``receiver_id`` and signature (``MsgSignature``: "verified
  using sender's signing public key") checked, refused with the ``Error`` codes
  ``err.sender_id.invalid``, ``err.receiver_id.invalid``, ``err.signature.missing``,
  ``err.signature.invalid``;
- ``/registry/sync/enrollment/updates`` keeps each beneficiary by member identifier and
  programme, answers an ``EnrollmentUpdatesResponse`` with one ``enrolled_response`` item per
  beneficiary, and refuses (item ``status: rjct``) an ``enrolment_status`` outside the code
  directory CD.IBR.02 (``src/extensions/ibr/EnrollmentStatus.yaml``: Active, Deceased,
  Graduated, Suspended); a ``transaction_id`` seen before is answered again, not re-applied
  (``SearchRequest.transaction_id``: "same across processing systems");
- ``/registry/sync/enrolled`` reads the query expression of ``EnrolledCriteria`` (its example:
  ``person_identifier`` and ``programme_identifier.program.programme_identifier``, each
  ``{"eq": value}``) and answers ``EnrolledResponse.enrolled_response[].enrolled_status``
  ``yes``/``no``: yes for an Active beneficiary of that programme;
- ``/registry/sync/search`` by ``idtype-value`` answers IBR ``Beneficiary`` records (the
  ``reg_records`` example), or with ``response_entity: Group`` the social registry's
  ``Group`` records (``group_head_info``, ``member_list``, ``poverty_score``,
  ``poverty_score_type``); another ``query_type`` is answered ``rjct`` with
  ``rjct.search_criteria.invalid`` (``SearchStatusReasonCode``).

The 2024 draft's ``/registry/receipts`` is not served: 404, as a released registry would.
Tests script failures and read back every request and answer.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.peers import dci_standard as standard

TOKEN_PATH = "/oauth2/client/token"
SEARCH = "/registry/sync/search"
ENROLLED = "/registry/sync/enrolled"
UPDATES = "/registry/sync/enrollment/updates"
# CD.IBR.02, src/extensions/ibr/EnrollmentStatus.yaml
ENROLMENT_STATUSES = frozenset({"Active", "Deceased", "Graduated", "Suspended"})
# The EnrolledCriteria example's attribute names (src/extensions/ibr/EnrolledCriteria.yaml).
PERSON_ATTRIBUTE = "person_identifier"
PROGRAMME_ATTRIBUTE = "programme_identifier.program.programme_identifier"
_ACTIONS = {SEARCH: "on-search", ENROLLED: "on-enrolled", UPDATES: "on-notify"}


@dataclass
class Fault:
    kind: Literal["status", "slow", "garbled"]
    path: str | None
    status: int = 500
    seconds: float = 0.0
    body: Any = None


@dataclass
class Seen:
    path: str
    body: Any
    status: int = 0
    answer: Any = None
    problems: list[str] = field(default_factory=list)  # the standard's objections, if any


class DciPeer:
    def __init__(
        self,
        *,
        client_id: str = "alafia",
        client_secret: str = "s3cret",
        sender_id: str = "alafia.gateway",  # the sender we accept
        registry_id: str = "social.registry",
        national_id_type: str = "UIN",
        member_id_type: str = "MEMBER_NO",
        token_ttl: float = 3600.0,
        public_key: bytes | None = None,  # raw Ed25519 key: signatures are then required
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.sender_id, self.registry_id = sender_id, registry_id
        self.national_id_type, self.member_id_type = national_id_type, member_id_type
        self.token_ttl = token_ttl
        self.public_key = public_key
        self.persons: list[dict[str, Any]] = []  # records known before any update
        self.groups: list[dict[str, Any]] = []  # the social registry's households
        self.beneficiaries: dict[tuple[str, str], dict[str, Any]] = {}  # (member, programme)
        self.updates: dict[str, dict[str, Any]] = {}  # transaction_id -> applied update
        self.requests: list[Seen] = []
        self.token_requests = 0
        self._answers: dict[str, Any] = {}  # transaction_id -> the answer given
        self._tokens: dict[str, float] = {}
        self._faults: list[Fault] = []
        self._busy = 0
        self._idle = threading.Condition()
        self.app = Starlette(routes=[Route("/{path:path}", self._dispatch, methods=["POST"])])

    # -- scripting, from the test --------------------------------------------------------

    def fail_next(self, status: int = 500, *, path: str | None = None, body: Any = None) -> None:
        self._faults.append(Fault("status", path, status=status, body=body))

    def slow_next(self, seconds: float, *, path: str | None = None) -> None:
        self._faults.append(Fault("slow", path, seconds=seconds))

    def garble_next(self, *, path: str | None = None) -> None:
        self._faults.append(Fault("garbled", path))

    def revoke_tokens(self) -> None:
        self._tokens.clear()

    def add_person(
        self, *, national_id: str, surname: str, given_name: str, sex: str, birth_date: str
    ) -> None:
        """A person the registry knew before the gateway pushed anything (``Person``)."""
        identifier = {"identifier_type": self.national_id_type, "identifier_value": national_id}
        self.persons.append(
            {
                "@type": "Person",
                "identifier": [identifier],
                "name": {"surname": surname, "given_name": given_name},
                "sex": sex,
                "birth_date": birth_date,
            }
        )

    def add_group(
        self,
        national_ids: list[str],
        *,
        poverty_score: float | str | None,
        score_type: str = "PMT",
        group_id: str | None = None,
    ) -> None:
        """A household of the social registry (the social API's ``Group`` example): the first
        NPI is its head, every NPI is in its ``member_list``."""
        members = [
            {
                "@type": "Member",
                "member_identifier": [
                    {"identifier_type": self.national_id_type, "identifier_value": npi}
                ],
                "demographic_info": {
                    "@type": "SRPerson",
                    "identifier": [
                        {"identifier_type": self.national_id_type, "identifier_value": npi}
                    ],
                },
            }
            for npi in national_ids
        ]
        group: dict[str, Any] = {
            "@type": "spdci:Group",
            "group_identifier": [
                {
                    "identifier_type": "GROUP_ID",
                    "identifier_value": group_id or f"G-{len(self.groups) + 1:04d}",
                }
            ],
            "group_type": "family",
            "group_head_info": members[0],
            "group_size": len(members),
            "member_list": members,
        }
        if poverty_score is not None:
            group |= {"poverty_score": poverty_score, "poverty_score_type": score_type}
        self.groups.append(group)

    def seen(self, path_part: str) -> list[Seen]:
        return [s for s in self.requests if path_part in s.path]

    def wait_idle(self, timeout: float = 10.0) -> None:
        with self._idle:
            if not self._idle.wait_for(lambda: self._busy == 0, timeout):
                raise TimeoutError("the DCI peer is still handling a request")

    # -- HTTP ----------------------------------------------------------------------------

    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        if path == TOKEN_PATH:
            body: Any = dict(await request.form())
        else:
            try:
                body = json.loads(await request.body())
            except ValueError:
                return JSONResponse({"errors": [{"code": "err.request.bad"}]}, 400)
        seen = Seen(path, body)
        self.requests.append(seen)
        with self._idle:
            self._busy += 1
        try:
            fault = self._take_fault(path)
            if fault is not None and fault.kind == "status":
                errors = {"errors": [{"code": "err.service.unavailable", "message": "scripted"}]}
                response: Response = JSONResponse(fault.body or errors, fault.status)
            else:
                if fault is not None and fault.kind == "slow":
                    await asyncio.sleep(fault.seconds)
                response = self._route(seen, request.headers.get("Authorization", ""))
                if fault is not None and fault.kind == "garbled":
                    response = Response('{"message": {"ack_st', media_type="application/json")
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()
        seen.status = response.status_code
        return response

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.path is None or fault.path in path:
                self._faults.remove(fault)
                return fault
        return None

    def _route(self, seen: Seen, authorization: str) -> Response:
        path, body = seen.path, seen.body
        if path == TOKEN_PATH:
            return self._token(body)
        scheme, _, token = authorization.partition(" ")
        expires = self._tokens.get(token)
        if scheme != "Bearer" or expires is None or time.time() >= expires:
            errors = [{"code": "err.request.unauthorized", "message": "invalid or expired token"}]
            return JSONResponse({"errors": errors}, 401)
        handlers = {SEARCH: self._search, ENROLLED: self._enrolled, UPDATES: self._updates}
        handler = handlers.get(path)
        if handler is None:
            return JSONResponse({"errors": [{"code": "err.request.not_found"}]}, 404)
        seen.problems = standard.request_problems(_api_of(path, body), path, body)
        if seen.problems:
            return _ack("ERR", error={"code": "err.request.bad", "message": seen.problems[0]})
        refusal = self._check_envelope(body)
        if refusal is not None:
            return _ack("ERR", error={"code": refusal, "message": "envelope refused"})
        answer = handler(body["header"], body["message"])
        objections = standard.answer_problems(_api_of(path, body), path, answer)
        assert not objections, f"the DCI peer's own answer breaks the standard: {objections}"
        seen.answer = answer
        return JSONResponse(answer)

    def _token(self, form: dict[str, str]) -> Response:
        self.token_requests += 1
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return JSONResponse({"error": "invalid_client"}, 401)
        token = secrets.token_urlsafe(24)
        self._tokens[token] = time.time() + self.token_ttl
        # authz_core_api_v1.0.0.yaml types expires_in as a string.
        return JSONResponse(
            {"access_token": token, "token_type": "bearer", "expires_in": str(int(self.token_ttl))}
        )

    def _check_envelope(self, body: dict[str, Any]) -> str | None:
        header = body["header"]
        if header.get("sender_id") != self.sender_id:
            return "err.sender_id.invalid"
        if header.get("receiver_id") != self.registry_id:
            return "err.receiver_id.invalid"
        if self.public_key is not None:
            if not body.get("signature"):
                return "err.signature.missing"
            if not _signature_holds(body, self.public_key, self.sender_id):
                return "err.signature.invalid"
        return None

    # -- registry operations -------------------------------------------------------------

    def _search(self, header: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        request = message["search_request"][0]
        criteria = request["search_criteria"]
        item: dict[str, Any] = {"reference_id": request["reference_id"], "timestamp": _now()}
        if criteria["query_type"] != "idtype-value":
            item |= {"status": "rjct", "status_reason_code": "rjct.search_criteria.invalid"}
        else:
            kind, value = criteria["query"]["type"], criteria["query"]["value"]
            if criteria.get("response_entity") == "Group":
                found = [g for g in self.groups if _in_group(g, kind, value)]
            else:
                found = [r for r in self._records() if self._ids_of(r).get(kind) == value]
            item |= {
                "status": "succ",
                "data": {"version": "1.0.0", "reg_records": found},
                "pagination": {"page_size": 10, "page_number": 1, "total_count": len(found)},
            }
        return self._answer(header, SEARCH, {**_ids(message), "search_response": [item]})

    def _enrolled(self, header: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        query = message["enrolled_criteria"]["query"]
        person = _eq(query.get(PERSON_ATTRIBUTE))
        programme = _eq(query.get(PROGRAMME_ATTRIBUTE))
        item: dict[str, Any] = {"reference_id": str(uuid.uuid4()), "timestamp": _now()}
        if person is None:
            item |= {
                "status": "rjct",
                "status_reason_message": f"{PERSON_ATTRIBUTE} eq: missing",
                "enrolled_status": "no",
            }
        else:
            enrolled = any(
                (programme is None or key[1] == programme)
                and person in (key[0], *_identifiers(b).values())
                and b["member"]["programme_identifier"]["enrolment_status"] == "Active"
                for key, b in self.beneficiaries.items()
            )
            item |= {"status": "succ", "enrolled_status": "yes" if enrolled else "no"}
        return self._answer(header, ENROLLED, {**_ids(message), "enrolled_response": [item]})

    def _updates(self, header: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        transaction = message["transaction_id"]
        if transaction in self._answers:  # a replay: answered again, not applied twice
            return self._answer(header, UPDATES, self._answers[transaction])
        items, accepted = [], []
        for beneficiary in message["enrolled_updates"].get("beneficiaries", []):
            member = beneficiary.get("member") or {}
            number = member.get("member_identifier")
            programme = (member.get("programme_identifier") or {}).get("programme") or {}
            status = (member.get("programme_identifier") or {}).get("enrolment_status")
            item: dict[str, Any] = {"reference_id": str(number), "timestamp": _now()}
            if status not in ENROLMENT_STATUSES:
                item |= {
                    "status": "rjct",
                    "status_reason_message": f"enrolment_status {status!r} is not in CD.IBR.02",
                }
            elif not isinstance(number, str) or not programme.get("programme_identifier"):
                item |= {
                    "status": "rjct",
                    "status_reason_message": "member_identifier and programme are needed",
                }
            else:
                item["status"] = "succ"
                accepted.append(((number, programme["programme_identifier"]), beneficiary))
            items.append(item)
        if all(i["status"] == "succ" for i in items):  # all or nothing, like one transaction
            self.beneficiaries.update(accepted)
            self.updates[transaction] = message
        reply = {**_ids(message), "enrolled_response": items}
        self._answers[transaction] = reply
        return self._answer(header, UPDATES, reply)

    def _ids_of(self, record: dict[str, Any]) -> dict[str, str]:
        """A Beneficiary's bare ``member_identifier`` (the IBR example's form) is the member
        number agreed with the gateway."""
        found = _identifiers(record)
        bare = record.get("member", {}).get("member_identifier")
        if isinstance(bare, str):
            found[self.member_id_type] = bare
        return found

    def _records(self) -> list[dict[str, Any]]:
        # IBR search records are the Beneficiary objects as they were sent.
        return self.persons + list(self.beneficiaries.values())

    def _answer(
        self, request_header: dict[str, Any], path: str, message: dict[str, Any]
    ) -> dict[str, Any]:
        total = request_header.get("total_count", 1)
        header = {
            "version": "1.0.0",
            "message_id": str(uuid.uuid4()),
            "message_ts": _now(),
            "action": _ACTIONS[path],
            "status": "succ",
            "total_count": total,
            "completed_count": total,
            "sender_id": self.registry_id,
            "receiver_id": request_header["sender_id"],
            "is_msg_encrypted": False,
        }
        return {"signature": "", "header": header, "message": message}


def _api_of(path: str, body: Any) -> standard.Api:
    """A search that asks for Groups or Members is the social registry's (social_api's
    SearchRequest has response_entity; the IBR's has not)."""
    if path == SEARCH and isinstance(body, dict):
        try:
            criteria = body["message"]["search_request"][0]["search_criteria"]
        except (KeyError, IndexError, TypeError):
            return "ibr"
        if isinstance(criteria, dict) and "response_entity" in criteria:
            return "social"
    return "ibr"


def _eq(condition: Any) -> str | None:
    if isinstance(condition, dict) and isinstance(condition.get("eq"), str):
        return condition["eq"]
    return None


def _identifiers(record: dict[str, Any]) -> dict[str, str]:
    """Typed identifiers of a Person or a Beneficiary (whose person carries a flat
    identifier_type/identifier_value, as the IBR example shows)."""
    found = {}
    member = record.get("member", {})
    items = list(record.get("identifier", []))
    if isinstance(member.get("member_identifier"), list):
        items += member["member_identifier"]
    person = member.get("demographic_info", {})
    person = person.get("person", person)
    items += person.get("identifier", [])
    if "identifier_type" in person:
        items.append(person)
    for item in items:
        found[item["identifier_type"]] = item["identifier_value"]
    return found


def _in_group(group: dict[str, Any], kind: str, value: str) -> bool:
    return any(
        _identifiers({"member": m}).get(kind) == value
        for m in [group["group_head_info"], *group["member_list"]]
    )


def _ids(message: dict[str, Any]) -> dict[str, str]:
    return {"transaction_id": message["transaction_id"], "correlation_id": str(uuid.uuid4())}


def _ack(status: str, **fields: Any) -> Response:
    """The standard's ``Response``: an acknowledgement (ack_status, timestamp, correlation_id)."""
    message = {"ack_status": status, "timestamp": _now(), "correlation_id": str(uuid.uuid4())}
    return JSONResponse({"message": {**message, **fields}})


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def _signature_holds(body: dict[str, Any], public_key: bytes, sender_id: str) -> bool:
    """Check the Beckn-style signature the DCI standard shows (see dci_envelope)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    params = dict(re.findall(r'(\w+)="([^"]*)"', body["signature"]))
    if (
        not params.get("kidId", "").startswith(f"{sender_id}|")
        or params.get("algorithm") != "ed25519"
    ):
        return False
    if not params.get("created") or int(params.get("expires", "0")) < time.time():
        return False
    content = json.dumps(
        {"header": body["header"], "message": body["message"]},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    digest = base64.b64encode(hashlib.blake2b(content, digest_size=64).digest()).decode()
    created, expires = params["created"], params["expires"]
    text = f"(created): {created}\n(expires): {expires}\ndigest: BLAKE-512={digest}"
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            base64.b64decode(params["signature"]), text.encode()
        )
    except (InvalidSignature, ValueError):
        return False
    return True
