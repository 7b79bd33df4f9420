"""A small openIMIS FHIR R4 server for the register adapter's tests.

It speaks what the adapter meets in the field: login answering a token and its expiry; 401 for
a missing, unknown or expired token; Patient, Group and Contract stored under ids it assigns,
read or updated by id or by insuree number (as openIMIS's retrievers do), searched with
``?identifier=``; eligibility answered from the stored contracts, listing expired policies as
in force like openIMIS does. Tests script failures (a status instead of the work, a slow answer
after the work, a garbled answer after the work) and read back every request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
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

BASE = "/api/api_fhir_r4/"
FHIR_JSON = "application/fhir+json"
MEMBER_NO_CODE = "Code"
# Policies openIMIS lists in an eligibility answer: active ones, and expired ones it still
# calls in force (Coverage maps Expired to "active"): only the period tells them apart.
_LISTED_STATUSES = frozenset({"active", "Expired"})


@dataclass
class Fault:
    kind: Literal["status", "slow", "garbled"]
    method: str | None
    path: str | None  # matches when contained in the request path
    status: int = 500
    seconds: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0


class OpenImisPeer:
    def __init__(
        self,
        *,
        username: str = "gateway",
        password: str = "s3cret",
        token_ttl: float = 3600.0,
        products: tuple[str, ...] = ("FAM-2026",),
        search_style: Literal["bundle", "openimis"] = "bundle",
    ) -> None:
        self.username = username
        self.password = password
        self.token_ttl = token_ttl
        self.products = set(products)
        # "bundle": a FHIR searchset; "openimis": the single resource, or 404 when none.
        self.search_style = search_style
        self.store: dict[str, dict[str, dict[str, Any]]] = {
            "Patient": {},
            "Group": {},
            "Contract": {},
        }
        self.requests: list[Seen] = []
        self.logins = 0
        self._tokens: dict[str, float] = {}
        self._faults: list[Fault] = []
        self._busy = 0
        self._idle = threading.Condition()
        methods = ["GET", "POST", "PUT"]
        self.app = Starlette(routes=[Route("/{path:path}", self._dispatch, methods=methods)])

    # -- scripting, from the test --------------------------------------------------------

    def fail_next(
        self, status: int = 500, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Answer the next matching request with ``status`` instead of doing the work."""
        self._faults.append(Fault("status", method, path, status=status))

    def slow_next(
        self, seconds: float, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Do the next matching request's work only after ``seconds``, then answer."""
        self._faults.append(Fault("slow", method, path, seconds=seconds))

    def garble_next(self, *, method: str | None = None, path: str | None = None) -> None:
        """Do the next matching request's work, then answer with broken JSON."""
        self._faults.append(Fault("garbled", method, path))

    def revoke_tokens(self) -> None:
        """Forget every token issued, as a restarted server would."""
        self._tokens.clear()

    def resources(self, resource_type: str) -> list[dict[str, Any]]:
        return list(self.store[resource_type].values())

    def seen(self, method: str, path_part: str) -> list[Seen]:
        return [s for s in self.requests if s.method == method and path_part in s.path]

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Block until no request is being handled (a slow one finishes its work)."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._busy == 0, timeout):
                raise TimeoutError("the openIMIS peer is still handling a request")

    # -- HTTP ----------------------------------------------------------------------------

    async def _dispatch(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return _outcome(400, "body is not JSON")
        seen = Seen(request.method, request.url.path, dict(request.query_params), body)
        self.requests.append(seen)
        with self._idle:
            self._busy += 1
        try:
            fault = self._take_fault(request.method, request.url.path)
            if fault is not None and fault.kind == "status":
                response: Response = _outcome(fault.status, "scripted failure")
            else:
                if fault is not None and fault.kind == "slow":
                    await asyncio.sleep(fault.seconds)
                response = self._route(request, body)
                if fault is not None and fault.kind == "garbled":
                    response = Response(
                        '{"resourceType": "Bund', status_code=200, media_type=FHIR_JSON
                    )
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()
        seen.status = response.status_code
        return response

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if (fault.method in (None, method)) and (fault.path is None or fault.path in path):
                self._faults.remove(fault)
                return fault
        return None

    def _route(self, request: Request, body: Any) -> Response:
        path, method = request.url.path, request.method
        if not path.startswith(BASE):
            return _outcome(404, "not found")
        parts = [p for p in path[len(BASE) :].split("/") if p]
        if parts == ["login"] and method == "POST":
            return self._login(body)
        if not self._authorized(request.headers.get("Authorization", "")):
            return JSONResponse({"detail": "Authentication credentials were not provided."}, 401)
        if parts == ["CoverageEligibilityRequest"] and method == "POST":
            return self._eligibility(body)
        if not parts or parts[0] not in self.store:
            return _outcome(404, f"no endpoint {path}")
        resource_type = parts[0]
        if len(parts) == 1 and method == "GET":
            return self._search(resource_type, request.query_params.get("identifier"))
        if len(parts) == 1 and method == "POST":
            return self._write(resource_type, None, body)
        if len(parts) == 2 and method == "GET":
            found = self._find(resource_type, parts[1])
            return _fhir(found) if found else _outcome(404, f"{resource_type} {parts[1]} not found")
        if len(parts) == 2 and method == "PUT":
            found = self._find(resource_type, parts[1])
            if found is None:
                return _outcome(404, f"{resource_type} {parts[1]} not found")
            return self._write(resource_type, found["id"], body)
        return _outcome(405, "method not allowed")

    # -- login ---------------------------------------------------------------------------

    def _login(self, body: Any) -> Response:
        if not isinstance(body, dict) or "username" not in body or "password" not in body:
            return Response(status_code=400)
        if body["username"].lower() != self.username or body["password"] != self.password:
            return Response(status_code=401)
        token = secrets.token_urlsafe(24)
        expires = int(time.time() + self.token_ttl)
        self._tokens[token] = expires
        self.logins += 1
        return JSONResponse({"token": token, "exp": expires})

    def _authorized(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        expires = self._tokens.get(token)
        return scheme == "Bearer" and expires is not None and time.time() < expires

    # -- resources -----------------------------------------------------------------------

    def _find(self, resource_type: str, key: str) -> dict[str, Any] | None:
        """By id, or by insuree number like openIMIS's CHF-id retriever."""
        stored = self.store[resource_type]
        if key in stored:
            return stored[key]
        return next((r for r in stored.values() if _code(r) == key), None)

    def _search(self, resource_type: str, identifier: str | None) -> Response:
        resources = self.resources(resource_type)
        if identifier is not None:
            value = identifier.rpartition("|")[2]
            resources = [r for r in resources if value in _identifier_values(r)]
        if self.search_style == "openimis" and identifier is not None:
            if not resources:
                return _outcome(404, f"Resource for identifier {identifier} not found")
            return _fhir(resources[0])
        entries = [
            {"fullUrl": f"{BASE}{resource_type}/{r['id']}", "resource": r} for r in resources
        ]
        return _fhir(
            {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
        )

    def _write(self, resource_type: str, resource_id: str | None, body: Any) -> Response:
        if not isinstance(body, dict) or body.get("resourceType") != resource_type:
            return _outcome(400, f"expected a {resource_type}")
        problem = getattr(self, f"_check_{resource_type.lower()}")(body)
        if problem:
            return _outcome(400, problem)
        created = resource_id is None
        resource = {**body, "id": resource_id or str(uuid.uuid4())}
        self.store[resource_type][resource["id"]] = resource
        headers = {"Location": f"{BASE}{resource_type}/{resource['id']}/"} if created else None
        return _fhir(resource, 201 if created else 200, headers)

    def _check_patient(self, patient: dict[str, Any]) -> str | None:
        if not _code(patient):
            return "Patient needs an insuree number (identifier Code)"
        name = (patient.get("name") or [{}])[0]
        if not name.get("family") or not name.get("given"):
            return "Missing patient family name or given name"
        if patient.get("gender") not in ("male", "female", "other", "unknown"):
            return "Missing or unknown patient gender"
        try:  # openIMIS keeps a full date of birth
            dt.date.fromisoformat(patient.get("birthDate", ""))
        except ValueError:
            return "Missing patient `birthDate` attribute"
        return None

    def _check_group(self, group: dict[str, Any]) -> str | None:
        if not group.get("identifier"):
            return "FHIR Group entity without identifier"
        for member in group.get("member", []):
            if not self._refers_to("Patient", member["entity"]["reference"]):
                return f"unknown member {member['entity']['reference']}"
        return None

    def _check_contract(self, contract: dict[str, Any]) -> str | None:
        if not contract.get("status"):
            return "Missing `status` attribute"
        subject = (contract.get("subject") or [{}])[0].get("reference", "")
        if not self._refers_to("Group", subject):
            return f"Invalid group reference `{subject}`"
        asset = contract["term"][0]["asset"][0]
        plan = asset["valuedItem"][0]["entityReference"]["reference"].removeprefix("InsurancePlan/")
        if plan not in self.products:
            return f"unknown InsurancePlan {plan}"
        for insuree in asset.get("typeReference", []):
            if not self._refers_to("Patient", insuree["reference"]):
                return f"unknown insuree {insuree['reference']}"
        return None

    def _refers_to(self, resource_type: str, reference: str) -> bool:
        kind, _, key = reference.partition("/")
        return kind == resource_type and key in self.store[resource_type]

    # -- eligibility ---------------------------------------------------------------------

    def _eligibility(self, body: Any) -> Response:
        if not isinstance(body, dict) or body.get("resourceType") != "CoverageEligibilityRequest":
            return _outcome(400, "expected a CoverageEligibilityRequest")
        reference = body.get("patient", {}).get("reference", "")
        patient = self._find("Patient", reference.removeprefix("Patient/"))
        if patient is None:
            return _outcome(404, f"no insuree {reference}")
        insurance = []
        for contract in self.resources("Contract"):
            asset = contract["term"][0]["asset"][0]
            insurees = {r["reference"] for r in asset.get("typeReference", [])}
            if f"Patient/{patient['id']}" in insurees and contract["status"] in _LISTED_STATUSES:
                period = asset["usePeriod"][0]
                insurance.append(
                    {
                        "coverage": {"reference": f"Coverage/{contract['id']}"},
                        "inforce": True,
                        "benefitPeriod": {"start": period["start"], "end": period["end"]},
                    }
                )
        return _fhir(
            {
                "resourceType": "CoverageEligibilityResponse",
                "status": "active",
                "outcome": "complete",
                "purpose": ["benefits"],
                "created": dt.date.today().isoformat(),
                "patient": {"reference": f"Patient/{_code(patient)}"},
                "insurer": body.get("insurer"),
                "insurance": insurance,
            }
        )


def _identifier_values(resource: dict[str, Any]) -> set[str]:
    return {i.get("value") for i in resource.get("identifier", [])}


def _code(resource: dict[str, Any]) -> str | None:
    for identifier in resource.get("identifier", []):
        codes = {c.get("code") for c in identifier.get("type", {}).get("coding", [])}
        if MEMBER_NO_CODE in codes:
            return str(identifier.get("value"))
    return None


def _fhir(
    resource: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse(resource, status, headers=headers, media_type=FHIR_JSON)


def _outcome(status: int, diagnostics: str) -> Response:
    issue = {"severity": "error", "code": "invalid" if status < 500 else "exception"}
    body = {"resourceType": "OperationOutcome", "issue": [{**issue, "diagnostics": diagnostics}]}
    return _fhir(body, status)
