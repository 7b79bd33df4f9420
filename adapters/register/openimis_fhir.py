"""openIMIS FHIR R4 resources built from register events, and read back into our types.

No I/O here. Every rule below comes from openIMIS's FHIR module (openimis-be-api_fhir_r4_py,
tested for real at 1.7.0, release 24.04; the file each rule comes from is named):

- a Patient needs an identifier typed ``Code`` (the insuree number, unique), ``name.family``
  and ``name.given`` (``converters/patientConverter.py`` keeps the first name entry and joins
  nothing: the given names go as one string), ``birthDate``, the ``patient-is-head``
  extension, and an ``address`` with exactly two extensions, ``address-municipality`` and
  ``address-location-reference``, plus ``city``, ``district`` and ``state``
  (``_validate_fhir_address_details``);
- posting a head creates the family; a member joins it through ``patient-group-reference``
  and may not claim to be head (``build_imis_family``); a relation is matched on its
  *display*, openIMIS's relation name (``build_imis_relationship``);
- the NPI is read from a ``PPN`` identifier or the ``patient-identification`` extension, never
  from another identifier type (``build_imis_identifiers``, ``build_imis_extentions``);
- a Contract needs ``author`` (``Practitioner/<officer uuid>``), ``subject``
  (``Group/<family uuid>``), the product as ``InsurancePlan/<product uuid>``, the insurees by
  UUID, both periods, a ``status`` among Idle/Active/Suspended/Expired and ``legalState.text``
  "Offered" (``converters/contractConverter.py``, ``mapping/contractMapping.py``: "Renewed"
  raises a KeyError); FHIR itself requires ``term.offer``;
- openIMIS answers a refused write with HTTP 500 and an OperationOutcome
  (``exceptions/fhir_api_exception_handler.py``, ``converters/operationOutcomeConverter.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.register.answers import as_dict, get_str, opt_list, opt_str
from adapters.register.base import RegisterPerson
from adapters.register.errors import RegisterMalformedAnswer
from adapters.register.events import BirthDate, CoverageRecord, HouseholdRecord, MemberRecord, Sex
from menus.values import Relationship

IG = "https://openimis.github.io/openimis_fhir_r4_ig/"
IDENTIFIER_SYSTEM = IG + "CodeSystem/openimis-identifiers"
IS_HEAD = IG + "StructureDefinition/patient-is-head"
GROUP_REFERENCE = IG + "StructureDefinition/patient-group-reference"
IDENTIFICATION = IG + "StructureDefinition/patient-identification"
MUNICIPALITY = IG + "StructureDefinition/address-municipality"
LOCATION_REFERENCE = IG + "StructureDefinition/address-location-reference"
RELATIONSHIP_SYSTEM = IG + "CodeSystem/patient-contact-relationship"
IDENTIFICATION_TYPE_SYSTEM = IG + "CodeSystem/patient-identification-type"
PARTY_ROLE_SYSTEM = IG + "CodeSystem/contract-resource-party-role"
UUID_CODE = "UUID"  # openIMIS lists every resource's UUID as an identifier of this type

# A relation is matched by its name in openIMIS's tblRelations (patientConverter.py,
# build_imis_relationship: Relation.objects.get(relation=display)); the code is its id there.
RELATIONS: Mapping[Relationship, tuple[str, str]] = {
    Relationship.SPOUSE: ("8", "Spouse"),
    Relationship.CHILD: ("4", "Son/Daughter"),
    Relationship.PARENT: ("2", "Father/Mother"),
    Relationship.OTHER: ("7", "Others"),
}

# What openIMIS calls its policy statuses in a Contract it writes (contractMapping.py,
# ContractStatus.contract_status) and the codes it reads (R4CoverageConfig).
IN_FORCE = frozenset({"Policy", "Offered"})  # Active, Idle: still to suspend on a lapse
OFFERED = "Offered"  # legalState of a new policy; the only one openIMIS reads safely
IDLE = "Idle"  # status of a new policy: openIMIS activates it when premiums cover it

# Words of an OperationOutcome that say the server itself failed (a database, a network),
# not that it refuses the data: such a 500 is retried like any other.
_TRANSIENT_WORDS = (
    "connection",
    "timeout",
    "timed out",
    "deadlock",
    "temporarily",
    "could not connect",
    "server closed",
    "operationalerror",
    "name or service not known",
)


@dataclass(frozen=True)
class Identifiers:
    """How this deployment types its identifiers."""

    system: str = IDENTIFIER_SYSTEM
    member_no_code: str = "Code"
    national_id_code: str = "PPN"  # the only other identifier type openIMIS reads
    national_id_type: str | None = None  # an openIMIS identification type code, e.g. "N"

    def make(self, code: str, value: str) -> dict[str, Any]:
        return {"type": {"coding": [{"system": self.system, "code": code}]}, "value": value}


@dataclass(frozen=True)
class Place:
    """An openIMIS village and the names of the levels above it, as its Patients carry them."""

    village_id: str  # Location UUID
    village: str
    municipality: str
    district: str
    region: str


def patient(
    member: MemberRecord,
    household: HouseholdRecord,
    identifiers: Identifiers,
    place: Place,
    *,
    family_id: str | None,
) -> dict[str, Any]:
    """An insuree. The head goes without a family (openIMIS makes one for it); the others
    point at their family."""
    is_head = member.relationship is Relationship.HEAD
    ids = [identifiers.make(identifiers.member_no_code, member.member_no)]
    extensions: list[dict[str, Any]] = [{"url": IS_HEAD, "valueBoolean": is_head}]
    if member.national_id:
        ids.append(identifiers.make(identifiers.national_id_code, member.national_id))
        if identifiers.national_id_type:
            extensions.append(_identification(member.national_id, identifiers.national_id_type))
    if family_id is not None:
        reference = {"reference": f"Group/{family_id}"}
        extensions.append({"url": GROUP_REFERENCE, "valueReference": reference})
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": ids,
        "name": [{"use": "usual", "family": member.family_name, "given": [member.given_names]}],
        "gender": member.sex.value,
        # openIMIS keeps a full date of birth: a year-only one goes as 1 January of that year.
        "birthDate": member.birth_date.as_date().isoformat(),
        "address": [address(place)],
        "extension": extensions,
    }
    phone = member.phone or (household.phone if is_head else None)
    if phone:
        resource["telecom"] = [{"system": "phone", "value": phone}]
    if not is_head:
        code, name = RELATIONS[member.relationship]
        coding = {"system": RELATIONSHIP_SYSTEM, "code": code, "display": name}
        resource["contact"] = [{"relationship": [{"coding": [coding]}]}]
    return resource


def address(place: Place) -> dict[str, Any]:
    """The family's home: openIMIS takes the village from the location reference."""
    return {
        "use": "home",
        "type": "physical",
        "city": place.village,
        "district": place.district,
        "state": place.region,
        "extension": [
            {"url": MUNICIPALITY, "valueString": place.municipality},
            {
                "url": LOCATION_REFERENCE,
                "valueReference": {"reference": f"Location/{place.village_id}"},
            },
        ],
    }


def _identification(number: str, id_type: str) -> dict[str, Any]:
    coding = {"system": IDENTIFICATION_TYPE_SYSTEM, "code": id_type}
    return {
        "url": IDENTIFICATION,
        "extension": [
            {"url": "number", "valueString": number},
            {"url": "type", "valueCodeableConcept": {"coding": [coding]}},
        ],
    }


@dataclass(frozen=True)
class ContractParties:
    """The openIMIS UUIDs a Contract names."""

    officer_id: str
    product_id: str
    family_id: str
    head_id: str
    insuree_ids: Sequence[str]  # the members the cover year covers


def contract(
    coverage: CoverageRecord, parties: ContractParties, *, enrolled_on: dt.date | None = None
) -> dict[str, Any]:
    """A new policy, offered and idle: openIMIS activates it itself once the premiums
    (sent apart, see ``openimis_graphql``) cover its value. A renewal is a new Contract too:
    openIMIS reads no other legal state safely."""
    asset = {
        "typeReference": [{"reference": f"Patient/{uuid}"} for uuid in parties.insuree_ids],
        # period.start is openIMIS's enrolment date; usePeriod.start its effective date.
        "period": [
            {
                "start": (enrolled_on or coverage.enrolled_on).isoformat(),
                "end": coverage.end.isoformat(),
            }
        ],
        "usePeriod": [{"start": coverage.start.isoformat(), "end": coverage.end.isoformat()}],
        "valuedItem": [
            {
                "entityReference": {"reference": f"InsurancePlan/{parties.product_id}"},
                "net": {"value": coverage.premium_due, "currency": "XOF"},
            }
        ],
    }
    party = {
        "reference": [{"reference": f"Patient/{parties.head_id}"}],
        "role": {"coding": [{"system": PARTY_ROLE_SYSTEM, "code": "beneficiary"}]},
    }
    return {
        "resourceType": "Contract",
        "status": IDLE,
        "legalState": {"text": OFFERED},
        "author": {"reference": f"Practitioner/{parties.officer_id}"},
        "subject": [{"reference": f"Group/{parties.family_id}"}],
        "term": [{"offer": {"party": [party]}, "asset": [asset]}],
    }


# -- reading answers ---------------------------------------------------------------------


def refusal(body: object) -> str | None:
    """openIMIS's reason when a 500 carries an OperationOutcome that refuses the data;
    None when it says the server itself failed, or carries none."""
    if not isinstance(body, Mapping) or body.get("resourceType") != "OperationOutcome":
        return None
    texts = []
    for item in body.get("issue") or []:
        if not isinstance(item, Mapping) or item.get("severity") not in ("error", "fatal"):
            continue
        details = item.get("details") if isinstance(item.get("details"), Mapping) else {}
        text = item.get("diagnostics") or (details or {}).get("text")
        if isinstance(text, str) and text:
            texts.append(text)
    reason = "; ".join(texts)
    return None if not reason or is_transient(reason) else reason


def is_transient(message: str) -> bool:
    """Whether openIMIS's message says it failed itself rather than refused the data."""
    return any(word in message.lower() for word in _TRANSIENT_WORDS)


def resource_id(resource: Mapping[str, Any]) -> str:
    return get_str(resource, "id", str(resource.get("resourceType", "resource")))


def uuid_of(resource: Mapping[str, Any]) -> str:
    """The resource's UUID: openIMIS answers some reads with the insuree number as ``id``
    (a retrieval by insuree number), never without the UUID identifier."""
    return identifier_value(resource, UUID_CODE) or resource_id(resource)


def identifier_value(resource: Mapping[str, Any], code: str) -> str | None:
    where = f"{resource.get('resourceType')}.identifier"
    for item in opt_list(resource, "identifier", where):
        identifier = as_dict(item, where)
        codings = opt_list(as_dict(identifier.get("type") or {}, where), "coding", where)
        if any(as_dict(c, where).get("code") == code for c in codings):
            return opt_str(identifier, "value", where)
    return None


def family_of(resource: Mapping[str, Any]) -> str | None:
    """The family UUID a Patient read back points at."""
    for item in opt_list(resource, "extension", "Patient.extension"):
        extension = as_dict(item, "Patient.extension")
        if extension.get("url", "").endswith("/patient-group-reference"):
            reference = as_dict(extension.get("valueReference"), "patient-group-reference")
            return get_str(reference, "reference", "patient-group-reference").rpartition("/")[2]
    return None


def contract_status(resource: Mapping[str, Any]) -> str:
    return get_str(resource, "status", "Contract")


def place(locations: Sequence[Mapping[str, Any]]) -> Place:
    """A village read back with its parents: village, municipality, district, region."""
    if len(locations) != 4:
        raise RegisterMalformedAnswer("a village's Location needs three levels above it")
    names = [get_str(loc, "name", "Location") for loc in locations]
    return Place(resource_id(locations[0]), *names)


def parent_of(location: Mapping[str, Any]) -> str | None:
    part_of = location.get("partOf")
    if not isinstance(part_of, Mapping):
        return None
    reference = part_of.get("reference")
    return reference.rpartition("/")[2] if isinstance(reference, str) else None


def person(resource: Mapping[str, Any], identifiers: Identifiers) -> RegisterPerson:
    where = "Patient"
    names = opt_list(resource, "name", where)
    name = as_dict(names[0], f"{where}.name") if names else {}
    given = [g for g in opt_list(name, "given", f"{where}.name") if isinstance(g, str)]
    birth = opt_str(resource, "birthDate", where)
    try:
        birth_date = BirthDate.parse(birth) if birth else None
    except ValueError as exc:
        raise RegisterMalformedAnswer(f"{where}.birthDate {birth!r}: {exc}") from exc
    gender = opt_str(resource, "gender", where)
    return RegisterPerson(
        register_id=uuid_of(resource),
        member_no=identifier_value(resource, identifiers.member_no_code),
        national_id=identifier_value(resource, identifiers.national_id_code)
        or _identification_number(resource),
        family_name=opt_str(name, "family", f"{where}.name") or "",
        given_names=" ".join(given),
        sex=Sex(gender) if gender in {s.value for s in Sex} else None,
        birth_date=birth_date,
        phone=_phone(resource),
        is_head=_is_head(resource),
    )


def _identification_number(resource: Mapping[str, Any]) -> str | None:
    """openIMIS writes an insuree's id document as this extension once it has a type."""
    for item in opt_list(resource, "extension", "Patient.extension"):
        extension = as_dict(item, "Patient.extension")
        if extension.get("url") == IDENTIFICATION:
            for part in opt_list(extension, "extension", "patient-identification"):
                part = as_dict(part, "patient-identification")
                if part.get("url") == "number":
                    return opt_str(part, "valueString", "patient-identification")
    return None


def _phone(resource: Mapping[str, Any]) -> str | None:
    for item in opt_list(resource, "telecom", "Patient.telecom"):
        telecom = as_dict(item, "Patient.telecom")
        if telecom.get("system") == "phone":
            return opt_str(telecom, "value", "Patient.telecom")
    return None


def _is_head(resource: Mapping[str, Any]) -> bool | None:
    for item in opt_list(resource, "extension", "Patient.extension"):
        extension = as_dict(item, "Patient.extension")
        if extension.get("url") == IS_HEAD and isinstance(extension.get("valueBoolean"), bool):
            return bool(extension["valueBoolean"])
    return None
