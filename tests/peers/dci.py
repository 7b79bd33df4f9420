"""A small DCI registry (IBR flavour) for the register adapter's tests.

It speaks the DCI v1.0.0 wire protocol: an OAuth2 client-credentials token endpoint; 401 for a
missing, unknown or expired bearer token; signed envelopes ``{signature, header, message}``
checked for sender, receiver and (when given a public key) signature, refused with an ``ERR``
acknowledgement; ``/registry/sync/search`` by ``idtype-value``; ``/registry/sync/enrolled``
answering ``yes``/``no``; ``/registry/receipts`` applying REGISTER and DEREGISTER receipts
once per transaction_id. Tests script failures and read back every request.
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
from dataclasses import dataclass
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN_PATH = "/oauth2/client/token"
_SEX = {"M": "male", "F": "female", "O": "other"}


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
        self.persons: list[dict[str, Any]] = []  # records known before any receipt
        self.beneficiaries: dict[tuple[str, str], dict[str, Any]] = {}  # (member, programme)
        self.receipts: dict[str, dict[str, Any]] = {}  # transaction_id -> receipt message
        self.requests: list[Seen] = []
        self.token_requests = 0
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
        """A person the registry knew before the gateway pushed anything."""
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
                response = self._route(path, request.headers.get("Authorization", ""), body)
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

    def _route(self, path: str, authorization: str, body: Any) -> Response:
        if path == TOKEN_PATH:
            return self._token(body)
        scheme, _, token = authorization.partition(" ")
        expires = self._tokens.get(token)
        if scheme != "Bearer" or expires is None or time.time() >= expires:
            errors = [{"code": "err.request.unauthorized", "message": "invalid or expired token"}]
            return JSONResponse({"errors": errors}, 401)
        handlers = {
            "/registry/sync/search": self._search,
            "/registry/sync/enrolled": self._enrolled,
            "/registry/receipts": self._receipts,
        }
        handler = handlers.get(path)
        if handler is None:
            return JSONResponse({"errors": [{"code": "err.request.not_found"}]}, 404)
        refusal = self._check_envelope(body)
        if refusal is not None:
            return _ack("ERR", error={"code": refusal, "message": "envelope refused"})
        return handler(body["header"], body["message"])

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
        # The DCI standard types expires_in as a string.
        return JSONResponse(
            {"access_token": token, "token_type": "bearer", "expires_in": str(int(self.token_ttl))}
        )

    def _check_envelope(self, body: Any) -> str | None:
        if not isinstance(body, dict) or not isinstance(body.get("header"), dict):
            return "err.request.bad"
        header = body["header"]
        if not isinstance(body.get("message"), dict) or not header.get("message_id"):
            return "err.request.bad"
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

    def _search(self, header: dict[str, Any], message: dict[str, Any]) -> Response:
        request = message["search_request"][0]
        criteria = request["search_criteria"]
        item: dict[str, Any] = {"reference_id": request["reference_id"], "timestamp": _now()}
        if criteria.get("query_type") != "idtype-value":
            item |= {"status": "rjct", "status_reason_code": "rjct.search_criteria.invalid"}
        else:
            kind, value = criteria["query"]["type"], criteria["query"]["value"]
            found = [r for r in self._records() if _identifiers(r).get(kind) == value]
            item |= {
                "status": "succ",
                "data": {"version": "1.0.0", "reg_records": found},
                "pagination": {"page_size": 10, "page_number": 1, "total_count": len(found)},
            }
        return self._answer(header, "on-search", {**_ids(message), "search_response": [item]})

    def _enrolled(self, header: dict[str, Any], message: dict[str, Any]) -> Response:
        criteria = message["enrolled_criteria"]
        kind, value = criteria["query"]["type"], criteria["query"]["value"]
        programme = criteria.get("programme_identifier")
        enrolled = any(
            key[1] == programme
            and _identifiers(self._record(b)).get(kind) == value
            and b["member"]["programme_identifier"]["enrolment_status"] == "Active"
            for key, b in self.beneficiaries.items()
        )
        reply = {**_ids(message), "enrolled_status": "yes" if enrolled else "no"}
        return self._answer(header, "on-enrolled", reply)

    def _receipts(self, header: dict[str, Any], message: dict[str, Any]) -> Response:
        transaction = message["transaction_id"]
        if transaction in self.receipts:  # a replay: acknowledged, not applied twice
            return _ack("ACK", correlation_id=self.receipts[transaction]["correlation_id"])
        information = message["receipt_information"]
        if information.get("receipt_type") not in ("REGISTER", "DEREGISTER", "PAYMENT"):
            return _ack("ERR", error={"code": "err.request.bad", "message": "receipt_type"})
        for beneficiary in information["beneficiaries"]:
            member = beneficiary["member"]
            programme = member["programme_identifier"]["programme"]["programme_identifier"]
            self.beneficiaries[(member["member_identifier"], programme)] = beneficiary
        correlation = str(uuid.uuid4())
        self.receipts[transaction] = {**message, "correlation_id": correlation}
        return _ack("ACK", correlation_id=correlation)

    def _records(self) -> list[dict[str, Any]]:
        return self.persons + [self._record(b) for b in self.beneficiaries.values()]

    def _record(self, beneficiary: dict[str, Any]) -> dict[str, Any]:
        """A stored beneficiary as the IBR search answer shows it."""
        member = beneficiary["member"]
        person = member["demographic_info"]["person"]
        demographics: dict[str, Any] = {
            "name": {
                "surname": person["name"]["surname"],
                "given_name": person["name"]["first_name"],
            },
            "sex": _SEX[person["sex"]],
            "birth_date": person["birth_date"],
        }
        if "identifier_type" in person:
            demographics["identifier"] = [
                {
                    "identifier_type": person["identifier_type"],
                    "identifier_value": person["identifier_value"],
                }
            ]
        programme = member["programme_identifier"]
        return {
            "assistance_unit": beneficiary["assistance_unit"],
            "member": {
                "member_identifier": [
                    {
                        "identifier_type": self.member_id_type,
                        "identifier_value": member["member_identifier"],
                    }
                ],
                "demographic_info": demographics,
            },
            "programme_identifier": [
                {"programme_code": programme["programme"]["programme_identifier"]}
            ],
            "enrollment_status": "active"
            if programme["enrolment_status"] == "Active"
            else "inactive",
        }

    def _answer(
        self, request_header: dict[str, Any], action: str, message: dict[str, Any]
    ) -> Response:
        header = {
            "version": "1.0.0",
            "message_id": str(uuid.uuid4()),
            "message_ts": _now(),
            "action": action,
            "status": "succ",
            "total_count": request_header.get("total_count", 1),
            "completed_count": request_header.get("total_count", 1),
            "sender_id": self.registry_id,
            "receiver_id": request_header["sender_id"],
            "is_msg_encrypted": False,
        }
        return JSONResponse({"signature": "", "header": header, "message": message})


def _identifiers(record: dict[str, Any]) -> dict[str, str]:
    items = list(record.get("identifier", []))
    member = record.get("member", {})
    items += member.get("member_identifier", []) + member.get("demographic_info", {}).get(
        "identifier", []
    )
    return {i["identifier_type"]: i["identifier_value"] for i in items}


def _ids(message: dict[str, Any]) -> dict[str, str]:
    return {"transaction_id": message["transaction_id"], "correlation_id": str(uuid.uuid4())}


def _ack(status: str, **fields: Any) -> Response:
    return JSONResponse({"message": {"ack_status": status, "timestamp": _now(), **fields}})


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
