"""A small openIMIS for the register adapter's unit tests, rebuilt from openIMIS's own code.

It answers what the adapter meets in a real openIMIS 24.04 (api_fhir_r4 1.7.0, insuree 1.8.0,
policy 1.7.1, contribution 1.7.0), and refuses what that refuses, the way it refuses it.
Each rule names the openIMIS file it comes from (``api_fhir_r4/`` is
openimis-be-api_fhir_r4_py; ``insuree/``, ``policy/``, ``contribution/``, ``core/`` the
modules of the same names). The integration suite (tests/integration/openimis) runs the same
adapter against the real thing.

FHIR (``/api/api_fhir_r4/``):
- login answers a token and its expiry (``api_fhir_r4/views/login``); 401 without a valid one;
- every resource written is parsed by fhir.resources R4B first, as openIMIS's converters do
  (``Patient(**fhir_patient)``): what it refuses is a 500 with an OperationOutcome;
- a refused write is HTTP 500 with an OperationOutcome whose issue says why
  (``exceptions/fhir_api_exception_handler.py``, ``converters/operationOutcomeConverter.py``);
- Patient rules: ``converters/patientConverter.py`` and ``serializers/patientSerializer.py``;
  a head creates its family; a PUT answers 200 but keeps the old values (insuree 1.8.0,
  ``InsureeService.create_or_update``);
- Contract rules: ``converters/contractConverter.py``, ``mapping/contractMapping.py``,
  ``serializers/contractSerializer.py``; no PUT (``views/fhir/contract.py``: 405); a search by
  identifier fails with 500 (``queryset.filter(chf_id=...)`` on Policy);
- ``?identifier=`` retrieves one resource by UUID or code and 404s otherwise
  (``mixins.py`` MultiIdentifierRetrieverMixin, ``model_retrievers.py``).

GraphQL (``/api/graphql``), only the operations the adapter sends:
- ``createPremium``: ``contribution/gql_mutations.py`` and ``contribution/services.py``
  (receipt unique per product; the premium that completes the policy value, or ENFORCE,
  activates the policy from the payment day, ``policy/services.py``
  policy_status_premium_paid);
- ``suspendPolicies``: ``policy/gql_mutations.py``, ``PolicyService.set_suspended``;
- ``mutationLogs``: ``core/schema.py`` (every mutation logged, status 2 done, 1 failed);
- ``policiesByInsuree``: ``policy/services.py`` ByInsureeService.

Tests script failures (a status instead of the work, a slow answer after the work, a garbled
answer after the work) and read back every request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BASE = "/api/api_fhir_r4/"
GRAPHQL = "/api/graphql"
FHIR_JSON = "application/fhir+json"
IG = "https://openimis.github.io/openimis_fhir_r4_ig/"
SYSTEM = IG + "CodeSystem/openimis-identifiers"
# tblRelations of the demo database: a relation is matched by this name.
RELATIONS = {
    "Brother/Sister",
    "Father/Mother",
    "Uncle/Aunt",
    "Son/Daughter",
    "Grand parents",
    "Employee",
    "Others",
    "Spouse",
}
IDENTIFICATION_TYPES = {"D", "N", "P", "V"}  # tblIdentificationTypes
# contractMapping.py: ContractStatus.imis_map_status keys; anything else is Idle.
CONTRACT_STATUS = {"Idle": 1, "Active": 2, "Suspended": 4, "Expired": 8}
# ... and what a Contract read back calls them (ContractStatus.contract_status).
CONTRACT_STATUS_NAME = {1: "Offered", 2: "Policy", 4: "Disputed", 8: "Terminated", 16: "Offered"}
IDLE, ACTIVE, SUSPENDED = 1, 2, 4

# The demo locations the peer knows: a village, its municipality, district and region.
REGION = "75250515-40d7-4c77-bafe-a2c65ffc5a72"
DISTRICT = "6ca4b45b-ac17-4ff4-954c-dc1294bc66d1"
MUNICIPALITY = "4cf9a26d-6cb9-48cc-b42b-55ef61a9d0f2"
VILLAGE = "ca5ec00f-eaa3-4af8-ac11-7bc5abb3341b"
OTHER_VILLAGE = "d7c17b9f-c508-4b92-b308-4c3727a5ada0"
OFFICER = "671ef662-cd56-4740-8d2d-55cb4f451418"


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


class Refused(Exception):
    """What openIMIS raises as FHIRException: answered 500 with an OperationOutcome."""


@dataclass
class Insuree:
    uuid: str
    chf_id: str
    resource: dict[str, Any]  # as posted
    family: str | None = None
    head: bool = False


@dataclass
class Family:
    uuid: str
    head: str  # insuree uuid
    location: str
    members: list[str] = field(default_factory=list)  # insuree uuids, in order


@dataclass
class Policy:
    uuid: str
    family: str
    product: str
    officer: str
    value: int
    start_date: dt.date  # enrolment
    effective_date: dt.date
    expiry_date: dt.date
    insurees: list[str]
    status: int = IDLE
    premiums: list[dict[str, Any]] = field(default_factory=list)


class OpenImisPeer:
    def __init__(
        self,
        *,
        username: str = "gateway",
        password: str = "s3cret",
        token_ttl: float = 3600.0,
        products: tuple[str, ...] = ("FAM-2026",),
    ) -> None:
        self.username = username
        self.password = password
        self.token_ttl = token_ttl
        self.products: dict[str, str] = {code: str(uuid.uuid4()) for code in products}
        self.officers = {OFFICER}
        self.locations: dict[str, tuple[str, str | None]] = {
            REGION: ("Region 1", None),
            DISTRICT: ("Jambero", REGION),
            MUNICIPALITY: ("Actoloby", DISTRICT),
            VILLAGE: ("Holobo", MUNICIPALITY),
            OTHER_VILLAGE: ("Octo", MUNICIPALITY),
        }
        self.insurees: dict[str, Insuree] = {}
        self.families: dict[str, Family] = {}
        self.policies: dict[str, Policy] = {}
        self.mutation_logs: list[dict[str, Any]] = []
        self.refusals: list[str] = []  # reasons the next mutations are refused for, in order
        self.today: Callable[[], dt.date] = dt.date.today  # openIMIS's own clock
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

    def add_product(self, code: str) -> None:
        """A product created in openIMIS, with a UUID of its own."""
        self.products[code] = str(uuid.uuid4())

    def revoke_tokens(self) -> None:
        """Forget every token issued, as a restarted server would."""
        self._tokens.clear()

    def resources(self, resource_type: str) -> list[dict[str, Any]]:
        """What a client reading openIMIS would see: Patients, Groups (families), Contracts."""
        if resource_type == "Patient":
            return [self._patient(i) for i in self.insurees.values()]
        if resource_type == "Group":
            return [self._group(f) for f in self.families.values()]
        if resource_type == "Contract":
            return [self._contract(p) for p in self.policies.values()]
        raise KeyError(resource_type)

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
            return _outcome(500, "JSON parse error")
        seen = Seen(request.method, request.url.path, dict(request.query_params), body)
        self.requests.append(seen)
        with self._idle:
            self._busy += 1
        try:
            fault = self._take_fault(request.method, request.url.path)
            if fault is not None and fault.kind == "status":
                # As a proxy or a crashed worker answers: no OperationOutcome, no reason.
                response: Response = Response("scripted failure", fault.status)
            else:
                if fault is not None and fault.kind == "slow":
                    await asyncio.sleep(fault.seconds)
                try:
                    response = self._route(request, body)
                except Refused as refusal:
                    response = _outcome(500, str(refusal))
                if fault is not None and fault.kind == "garbled":
                    response = Response('{"resourceType": "Bund', 200, media_type=FHIR_JSON)
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
        if path.rstrip("/") == GRAPHQL and method == "POST":
            if not self._authorized(request.headers.get("Authorization", "")):
                return JSONResponse({"errors": [{"message": "Unauthorized"}]}, 401)
            return JSONResponse(self._graphql(body))
        if not path.startswith(BASE):
            return _outcome(404, "not found")
        parts = [p for p in path[len(BASE) :].split("/") if p]
        if parts == ["login"] and method == "POST":
            return self._login(body)
        if not self._authorized(request.headers.get("Authorization", "")):
            return JSONResponse({"detail": "Authentication credentials were not provided."}, 401)
        if not parts:
            return _outcome(404, "not found")
        kind, key = parts[0], parts[1] if len(parts) > 1 else None
        if method == "GET" and key is None and "identifier" in request.query_params:
            key = request.query_params["identifier"]
            if kind == "Contract":  # views/fhir/contract.py: Policy has no chf_id field
                raise Refused("Cannot resolve keyword 'chf_id' into field.")
        if method in ("POST", "PUT") and kind in ("Patient", "Contract", "Group"):
            self._parse(kind, body)
        if kind == "Patient":
            return self._patients(method, key, body)
        if kind == "Contract":
            if method == "PUT":  # views/fhir/contract.py has no UpdateModelMixin
                return _outcome(405, 'Method "PUT" not allowed.')
            if method == "POST" and key is None:
                return self._create_contract(body)
            policy = self.policies.get(key or "")
            return _fhir(self._contract(policy)) if policy else _not_found(key)
        if kind == "Group" and method == "GET" and key is not None:
            family = self.families.get(key) or self._family_of_head(key)
            return _fhir(self._group(family)) if family else _not_found(key)
        if kind == "Group" and method == "POST":
            raise Refused("Insuree already asigned to family")  # groupConverter.py
        if kind == "Location" and method == "GET" and key in self.locations:
            return _fhir(self._location(key))
        if kind == "InsurancePlan" and method == "GET":
            return self._plan(key)
        return _not_found(key)

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

    # -- Patient -------------------------------------------------------------------------

    def _parse(self, kind: str, body: Any) -> None:
        """fhir.resources R4B parses the body first (``Patient(**fhir_patient)``)."""
        if not isinstance(body, dict) or body.get("resourceType") != kind:
            raise Refused(f"expected a {kind}")
        try:
            get_fhir_model_class(kind).model_validate(body)
        except ValidationError as exc:
            raise Refused(str(exc)) from exc

    def _patients(self, method: str, key: str | None, body: Any) -> Response:
        if method == "POST" and key is None:
            return self._create_patient(body)
        insuree = self._insuree(key)
        if insuree is None:
            return _not_found(key)
        if method == "PUT":
            # patientConverter.build_imis_family runs first and refuses a head in a family;
            # then insuree 1.8.0 reloads the insuree by UUID and saves it unchanged.
            self._read_patient(body)
            return _fhir(self._patient(insuree))
        return _fhir(self._patient(insuree))

    def _read_patient(self, patient: dict[str, Any]) -> tuple[str, bool, str | None, str]:
        """The checks of patientConverter.to_imis_obj, in its order; returns the insuree
        number, whether head, the family UUID it points at, and its village."""
        names = patient.get("name") or []
        if not names:
            raise Refused("Missing fhir patient attribute: name")
        if any(not n.get("family") or not n.get("given") for n in names):
            raise Refused("Missing obligatory fields for fhir patient name: family or given")
        chf_id = _identifier(patient, "Code")
        if not chf_id:
            raise Refused("Patient code not provided.")
        if not patient.get("birthDate"):
            raise Refused("Missing patient `birthDate` attribute")
        village = self._village_of(patient.get("address") or [])
        extensions = patient.get("extension") or []
        if not extensions:
            raise Refused("At least one extension with is_head is required")
        head = next(
            (e.get("valueBoolean") for e in extensions if e["url"].endswith("/patient-is-head")),
            None,
        )
        if head is None:
            raise Refused("Missing is-head in IMIS object")
        for ext in extensions:
            if ext["url"].endswith("/patient-identification"):
                parts = {p["url"]: p for p in ext.get("extension", [])}
                code = parts.get("type", {}).get("valueCodeableConcept", {}).get("coding", [{}])
                if code[0].get("code") not in IDENTIFICATION_TYPES:
                    # build_imis_extentions swallows it and clears the id document.
                    patient.setdefault("_lost", []).append("identification")
        family = next(
            (
                e["valueReference"]["reference"].rpartition("/")[2]
                for e in extensions
                if e["url"].endswith("/patient-group-reference")
            ),
            None,
        )
        if family is not None and family not in self.families:
            raise Refused(f"Invalid location reference, {family} doesn't match any location.")
        if family is not None and head:
            raise Refused("Patient assigned to existing family can't be head")
        for contact in patient.get("contact") or []:
            for relationship in contact.get("relationship") or []:
                for coding in relationship.get("coding") or []:
                    if coding.get("display") not in RELATIONS:
                        # build_imis_relationship: Relation.objects.get(...) fails silently.
                        patient.setdefault("_lost", []).append("relationship")
        return chf_id, bool(head), family, village

    def _village_of(self, addresses: list[dict[str, Any]]) -> str:
        """patientConverter._validate_fhir_address_details, then the location lookup."""
        if not addresses:
            raise Refused("'NoneType' object is not iterable")  # the crash of issue 15
        errors: dict[int, list[str]] = {}
        village = ""
        for index, address in enumerate(addresses):
            extensions = address.get("extension") or []
            if not extensions:
                raise Refused("Missing extensions for Address")
            names = [e["url"].rsplit("/")[-1] for e in extensions]
            found = []
            if "address-location-reference" not in names:
                found.append("FHIR Patient address without address-location-reference extension.")
            if "address-municipality" not in names:
                found.append("FHIR Patient address without address-municipality reference.")
            if len(names) != 2:
                found.append("Patient's address should provide exactly 2 extensions")
            for part, label in (("city", "city"), ("district", "district"), ("state", "state")):
                if not address.get(part):
                    found.append(f"Address '{label}' field required")
            if found:
                errors[index] = found
                continue
            reference = next(e for e in extensions if e["url"].endswith("location-reference"))
            village = reference["valueReference"]["reference"].rpartition("/")[2]
            if village not in self.locations:
                raise Refused(f"Invalid location reference, {village} doesn't match any location.")
        if errors:
            raise Refused(json.dumps(errors))
        return village

    def _create_patient(self, patient: dict[str, Any]) -> Response:
        chf_id, head, family_id, village = self._read_patient(patient)
        if self._insuree(chf_id) is not None:  # patientSerializer._validate_data
            raise Refused(f"Exists patient with following chfid `{chf_id}`")
        insuree = Insuree(str(uuid.uuid4()), chf_id, patient, family_id, head)
        self.insurees[insuree.uuid] = insuree
        if head:  # patientSerializer._create_patient_family
            family = Family(str(uuid.uuid4()), insuree.uuid, village, [insuree.uuid])
            self.families[family.uuid] = family
            insuree.family = family.uuid
        elif family_id is not None:
            self.families[family_id].members.append(insuree.uuid)
        return _fhir(self._patient(insuree), 201)

    def _insuree(self, key: str | None) -> Insuree | None:
        """By UUID, or by insuree number (CHFIdentifierModelRetriever)."""
        if key is None:
            return None
        if key in self.insurees:
            return self.insurees[key]
        return next((i for i in self.insurees.values() if i.chf_id == key), None)

    def _patient(self, insuree: Insuree) -> dict[str, Any]:
        posted = insuree.resource
        extensions = [
            {"url": IG + "StructureDefinition/patient-is-head", "valueBoolean": insuree.head}
        ]
        if insuree.family:
            extensions.append(
                {
                    "url": IG + "StructureDefinition/patient-group-reference",
                    "valueReference": {"reference": f"Group/{insuree.family}"},
                }
            )
        lost = posted.get("_lost", [])
        identifiers = [_id("UUID", insuree.uuid), _id("Code", insuree.chf_id)]
        for ext in posted.get("extension", []):
            if ext["url"].endswith("/patient-identification") and "identification" not in lost:
                extensions.append(ext)
        passport = _identifier(posted, "PPN")
        if passport and not any(e["url"].endswith("/patient-identification") for e in extensions):
            identifiers.append(_id("PPN", passport))
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": insuree.uuid,
            "identifier": identifiers,
            "name": [
                {
                    "use": "usual",
                    "family": posted["name"][0]["family"],
                    "given": posted["name"][0]["given"][:1],
                }
            ],
            "gender": posted.get("gender", "unknown"),
            "birthDate": posted["birthDate"],
            "extension": extensions,
            "address": posted.get("address", []),
        }
        if posted.get("telecom"):
            resource["telecom"] = posted["telecom"]
        if posted.get("contact") and "relationship" not in lost:
            resource["contact"] = posted["contact"]
        return resource

    def _family_of_head(self, chf_id: str) -> Family | None:
        head = self._insuree(chf_id)
        return self.families.get(head.family or "") if head else None

    def _group(self, family: Family) -> dict[str, Any]:
        head = self.insurees[family.head]
        return {
            "resourceType": "Group",
            "id": family.uuid,
            "identifier": [_id("UUID", family.uuid), _id("Code", head.chf_id)],
            "type": "person",
            "actual": True,
            "quantity": len(family.members),
            "member": [{"entity": {"reference": f"Patient/{m}"}} for m in family.members],
        }

    # -- Location, InsurancePlan ---------------------------------------------------------

    def _location(self, key: str) -> dict[str, Any]:
        name, parent = self.locations[key]
        resource: dict[str, Any] = {
            "resourceType": "Location",
            "id": key,
            "identifier": [_id("UUID", key)],
            "name": name,
        }
        if parent is not None:
            resource["partOf"] = {"reference": f"Location/{parent}"}
        return resource

    def _plan(self, key: str | None) -> Response:
        by_uuid = {v: k for k, v in self.products.items()}
        code = key if key in self.products else by_uuid.get(key or "")
        if code is None:
            return _not_found(key)
        plan = {
            "resourceType": "InsurancePlan",
            "id": code,  # retrieved by code: CODE_REFERENCE_TYPE
            "identifier": [_id("UUID", self.products[code]), _id("Code", code)],
            "name": code,
        }
        return _fhir(plan)

    # -- Contract ------------------------------------------------------------------------

    def _create_contract(self, contract: dict[str, Any]) -> Response:
        """contractConverter.to_imis_obj, then contractSerializer.create."""
        term = contract["term"][0]
        asset = term["asset"][0]
        period, use = asset.get("period", [{}])[0], asset.get("usePeriod", [{}])[0]
        if not period.get("start") or not period.get("end"):
            raise Refused("Missing  `period start` attribute")
        if not use.get("start") or not use.get("end"):
            raise Refused("Missing  `usePeriod start` attribute")
        status = contract.get("status")
        if not status:
            raise Refused("Missing  `status` attribute")
        author = (contract.get("author") or {}).get("reference", "")
        if not author:
            raise Refused("Missing  `author` attribute")
        if author.partition("Practitioner/")[2] not in self.officers:
            raise Refused("Officer matching query does not exist.")
        subject = (contract.get("subject") or [{}])[0].get("reference", "")
        family = self.families.get(subject.partition("Group/")[2])
        if family is None:
            raise Refused(
                f"Invalid group reference `{subject}`, no family matching provided resource_id."
            )
        item = asset["valuedItem"][0]
        product = item["entityReference"]["reference"].partition("InsurancePlan/")[2]
        if product not in self.products.values():
            raise Refused("Product matching query does not exist.")
        legal = (contract.get("legalState") or {}).get("text")
        if legal is None:
            raise Refused("Missing  `legalState` attribute")
        if legal not in ("Offered",):  # imis_map_stage: {"Offered", "Active"}; else KeyError
            raise Refused(f"'{legal}' is missing")
        insurees = []
        for reference in asset.get("typeReference", []):
            insuree = self.insurees.get(reference["reference"].partition("Patient/")[2])
            if insuree is None:
                raise Refused("Insuree matching query does not exist.")
            if insuree.family != family.uuid:
                raise Refused("Missing  `Invalid Context reference` attribute")
            insurees.append(insuree.uuid)
        start = dt.date.fromisoformat(period["start"])
        effective = dt.date.fromisoformat(use["start"])
        expiry = dt.date.fromisoformat(use["end"])
        for other in self.policies.values():  # contractSerializer.create
            if other.family == family.uuid and effective <= other.start_date <= expiry:
                raise Refused("Contract exists for this patient")
        if start > self.today():  # PolicyService.update_or_create
            raise Refused("['policy.enroll_date_in_the_future']")
        policy = Policy(
            uuid=str(uuid.uuid4()),
            family=family.uuid,
            product=product,
            officer=author.partition("Practitioner/")[2],
            value=int(item.get("net", {}).get("value") or 0),
            start_date=start,
            effective_date=effective,
            expiry_date=expiry,
            insurees=insurees,
            status=CONTRACT_STATUS.get(status, IDLE),
        )
        self.policies[policy.uuid] = policy
        for extension in asset.get("extension", [])[:1]:  # only the first premium is read
            self._add_premium(policy, _premium_of(extension), action=None)
        return _fhir(self._contract(policy), 201)

    def _contract(self, policy: Policy) -> dict[str, Any]:
        family = self.families[policy.family]
        asset: dict[str, Any] = {
            "typeReference": [{"reference": f"Patient/{i}"} for i in policy.insurees],
            "period": [
                {"start": policy.start_date.isoformat(), "end": policy.expiry_date.isoformat()}
            ],
            "usePeriod": [
                {"start": policy.effective_date.isoformat(), "end": policy.expiry_date.isoformat()}
            ],
            "valuedItem": [
                {
                    "entityReference": {"reference": f"InsurancePlan/{policy.product}"},
                    "net": {"value": policy.value},
                }
            ],
        }
        return {
            "resourceType": "Contract",
            "id": policy.uuid,
            "identifier": [_id("UUID", policy.uuid)],
            "status": CONTRACT_STATUS_NAME[policy.status],
            "legalState": {"text": "Offered"},
            "author": {"reference": f"Practitioner/{policy.officer}"},
            "subject": [{"reference": f"Group/{family.uuid}"}],
            "term": [
                {
                    "offer": {
                        "party": [
                            {
                                "reference": [{"reference": f"Patient/{family.head}"}],
                                "role": {"text": "beneficiary"},
                            }
                        ]
                    },
                    "asset": [asset],
                }
            ],
        }

    # -- GraphQL -------------------------------------------------------------------------

    def _graphql(self, body: Any) -> dict[str, Any]:
        query = body.get("query", "") if isinstance(body, dict) else ""
        variables = body.get("variables") or {}
        if "createPremium(" in query:
            return self._mutation("createPremium", variables["input"], self._create_premium)
        if "suspendPolicies(" in query:
            return self._mutation("suspendPolicies", variables["input"], self._suspend)
        if "mutationLogs(" in query:
            logs = [m for m in self.mutation_logs if m["clientMutationId"] == variables["id"]]
            edges = [{"node": {"status": m["status"], "error": m["error"]}} for m in logs]
            return {"data": {"mutationLogs": {"edges": edges}}}
        if "policiesByInsuree(" in query:
            return {"data": {"policiesByInsuree": {"edges": self._by_insuree(variables["chfId"])}}}
        return {"errors": [{"message": f"Cannot query: {query[:60]!r}"}]}

    def _mutation(self, name: str, values: dict[str, Any], run: Any) -> dict[str, Any]:
        """core/schema.py OpenIMISMutation: logged, run, the outcome written to the log."""
        log = {"clientMutationId": values.get("clientMutationId"), "status": 0, "error": None}
        self.mutation_logs.append(log)
        try:
            if self.refusals:  # a refusal scripted by a test, whose cause is later fixed
                raise Refused(self.refusals.pop(0))
            run(values)
            log["status"] = 2
        except Refused as refusal:
            log.update(status=1, error=json.dumps([{"message": name, "detail": str(refusal)}]))
        answer = {
            "clientMutationId": log["clientMutationId"],
            "internalId": str(len(self.mutation_logs)),
        }
        return {"data": {name: answer}}

    def _create_premium(self, values: dict[str, Any]) -> None:
        policy = self.policies.get(values.get("policyUuid", ""))
        if policy is None:
            raise Refused(f"policy_uuid_not_found {values.get('policyUuid')}")
        premium = {
            "amount": int(float(values["amount"])),
            "receipt": values["receipt"],
            "pay_date": dt.date.fromisoformat(values["payDate"]),
            "pay_type": values.get("payType"),
        }
        self._add_premium(policy, premium, action=values.get("action"))

    def _add_premium(self, policy: Policy, premium: dict[str, Any], action: str | None) -> None:
        """contribution/services.py: create_premium, then premium_updated."""
        for other in self.policies.values():
            if other.product == policy.product and any(
                p["receipt"] == premium["receipt"] for p in other.premiums
            ):
                raise Refused("mutation.code_already_taken")
        balance = policy.value - sum(p["amount"] for p in policy.premiums)
        policy.premiums.append(premium)
        if action == "SUSPEND":
            policy.status = SUSPENDED
        elif premium["amount"] >= balance or action == "ENFORCE":
            # policy_status_premium_paid: active from the payment day (or the enrolment).
            policy.status = ACTIVE
            policy.effective_date = max(premium["pay_date"], policy.start_date)

    def _suspend(self, values: dict[str, Any]) -> None:
        for key in values.get("uuids", []):
            policy = self.policies.get(key)
            if policy is None:
                raise Refused(f"policy.mutation.id_does_not_exist {key}")
            policy.status = SUSPENDED

    def _by_insuree(self, chf_id: str) -> list[dict[str, Any]]:
        insuree = self._insuree(chf_id)
        if insuree is None:
            return []
        found = [p for p in self.policies.values() if insuree.uuid in p.insurees]
        return [
            {
                "node": {
                    "policyUuid": p.uuid,
                    "productCode": next(k for k, v in self.products.items() if v == p.product),
                    "status": p.status,
                    "enrollDate": p.start_date.isoformat(),
                    "effectiveDate": p.effective_date.isoformat(),
                    "expiryDate": p.expiry_date.isoformat(),
                }
            }
            for p in found
        ]


def _premium_of(extension: dict[str, Any]) -> dict[str, Any]:
    parts = {e["url"]: e for e in extension.get("extension", [])}
    return {
        "amount": int(parts["amount"]["valueMoney"]["value"]),
        "receipt": parts["receipt"]["valueString"],
        "pay_date": dt.date.fromisoformat(parts["date"]["valueDate"]),
        "pay_type": parts.get("type", {})
        .get("valueCodeableConcept", {})
        .get("coding", [{}])[0]
        .get("code"),
    }


def _id(code: str, value: str) -> dict[str, Any]:
    return {"type": {"coding": [{"system": SYSTEM, "code": code}]}, "value": value}


def _identifier(resource: dict[str, Any], code: str) -> str | None:
    for identifier in resource.get("identifier") or []:
        codes = {c.get("code") for c in identifier.get("type", {}).get("coding", [])}
        if code in codes:
            return str(identifier.get("value"))
    return None


def _fhir(resource: dict[str, Any], status: int = 200) -> Response:
    return JSONResponse(resource, status, media_type=FHIR_JSON)


def _not_found(key: str | None) -> Response:
    return _outcome(404, f"Resource for identifier {key} not found", "error", "not-found")


def _outcome(status: int, text: str, severity: str = "error", code: str = "exception") -> Response:
    issue = {"severity": severity, "code": code, "details": {"text": text}}
    return _fhir({"resourceType": "OperationOutcome", "issue": [issue]}, status)
