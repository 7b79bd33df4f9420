"""openIMIS FHIR R4 resources built from register events, and read back into our types.

No I/O here. Facts from openIMIS's FHIR module (openimis-be-api_fhir_r4_py) shape it:

- identifiers are typed with a code of the openimis-identifiers code system ("Code" for the
  insuree number, the CHF id); the code for a national id is deployment configuration;
- a family's head carries the ``patient-is-head`` extension and the other members point at
  their family with ``patient-group-reference``;
- references inside written resources use the register's own ids (UUIDs), while a
  CoverageEligibilityRequest names the patient by insuree number: ``Patient/<member_no>``;
- Contract.status is written as "Idle", "active", "suspended" or "Expired"; openIMIS stores any
  other code as Idle;
- the eligibility answer also lists expired policies as in force, so only the benefit period
  tells whether a day is covered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from adapters.register.answers import as_dict, get_str, opt_list, opt_str
from adapters.register.base import Eligibility, RegisterEligibility, RegisterPerson
from adapters.register.errors import RegisterMalformedAnswer
from adapters.register.events import BirthDate, CoverageRecord, HouseholdRecord, MemberRecord, Sex
from menus.values import CoverageStatus, Relationship

IG = "https://openimis.github.io/openimis_fhir_r4_ig/"
IDENTIFIER_SYSTEM = IG + "CodeSystem/openimis-identifiers"
IS_HEAD = IG + "StructureDefinition/patient-is-head"
GROUP_REFERENCE = IG + "StructureDefinition/patient-group-reference"
GROUP_ADDRESS = IG + "StructureDefinition/group-address"
ADDRESS_LOCATION = IG + "StructureDefinition/address-location-reference"
CONTRACT_PREMIUM = IG + "StructureDefinition/contract-premium"
RELATIONSHIP_SYSTEM = IG + "CodeSystem/patient-contact-relationship"
PREMIUM_TYPE_SYSTEM = IG + "CodeSystem/contract-premium-type"

# openIMIS's default relation table (tblRelations); a deployment may renumber it.
_RELATION_CODES = {
    Relationship.SPOUSE: "8",
    Relationship.CHILD: "4",
    Relationship.PARENT: "2",
    Relationship.OTHER: "7",
}


class PolicyStatus(IntEnum):
    """openIMIS policy statuses."""

    IDLE = 1
    ACTIVE = 2
    SUSPENDED = 4
    EXPIRED = 8
    READY = 16


POLICY_STATUS = {
    CoverageStatus.PENDING_PAYMENT: PolicyStatus.IDLE,
    CoverageStatus.WAITING: PolicyStatus.READY,  # paid, waiting period not over
    CoverageStatus.ACTIVE: PolicyStatus.ACTIVE,
    CoverageStatus.GRACE: PolicyStatus.ACTIVE,  # rights stay open until the grace period ends
    CoverageStatus.LAPSED: PolicyStatus.EXPIRED,
    CoverageStatus.CANCELLED: PolicyStatus.SUSPENDED,  # openIMIS has no "cancelled"
}

# Contract.status codes openIMIS reads back into policy statuses. It has no code for Ready and
# stores it as Idle; "Ready" is still sent so a register that knows it can keep it.
CONTRACT_STATUS = {
    PolicyStatus.IDLE: "Idle",
    PolicyStatus.ACTIVE: "active",
    PolicyStatus.SUSPENDED: "suspended",
    PolicyStatus.EXPIRED: "Expired",
    PolicyStatus.READY: "Ready",
}


@dataclass(frozen=True)
class Identifiers:
    """How this deployment types its identifiers."""

    system: str = IDENTIFIER_SYSTEM
    member_no_code: str = "Code"
    national_id_code: str = "NationalId"

    def make(self, code: str, value: str) -> dict[str, Any]:
        return {"type": {"coding": [{"system": self.system, "code": code}]}, "value": value}


def patient(
    member: MemberRecord,
    household: HouseholdRecord,
    identifiers: Identifiers,
    *,
    group_id: str | None,
) -> dict[str, Any]:
    is_head = member.relationship is Relationship.HEAD
    ids = [identifiers.make(identifiers.member_no_code, member.member_no)]
    if member.national_id:
        ids.append(identifiers.make(identifiers.national_id_code, member.national_id))
    extensions: list[dict[str, Any]] = [{"url": IS_HEAD, "valueBoolean": is_head}]
    if group_id is not None:
        extensions.append(
            {"url": GROUP_REFERENCE, "valueReference": {"reference": f"Group/{group_id}"}}
        )
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": ids,
        "name": [
            {"use": "usual", "family": member.family_name, "given": member.given_names.split()}
        ],
        "gender": member.sex.value,
        # openIMIS keeps a full date of birth: a year-only one goes as 1 January of that year.
        "birthDate": member.birth_date.as_date().isoformat(),
        "extension": extensions,
    }
    phone = member.phone or (household.phone if is_head else None)
    if phone:
        resource["telecom"] = [{"system": "phone", "value": phone}]
    if not is_head:
        coding = {
            "system": RELATIONSHIP_SYSTEM,
            "code": _RELATION_CODES[member.relationship],
            "display": member.relationship.value,
        }
        resource["contact"] = [{"relationship": [{"coding": [coding]}]}]
    return resource


def group(
    household: HouseholdRecord, identifiers: Identifiers, patient_ids: Mapping[str, str]
) -> dict[str, Any]:
    """The family; openIMIS identifies it by its head's insuree number."""
    members = [m for m in household.members if m.member_no in patient_ids]
    resource: dict[str, Any] = {
        "resourceType": "Group",
        "type": "person",
        "actual": True,
        "name": household.head.family_name,
        "quantity": len(members),
        "identifier": [identifiers.make(identifiers.member_no_code, household.head.member_no)],
        "member": [
            {"entity": {"reference": f"Patient/{patient_ids[m.member_no]}"}} for m in members
        ],
    }
    if household.location_code:
        location = {"reference": f"Location/{household.location_code}"}
        address = {
            "use": "home",
            "type": "physical",
            "extension": [{"url": ADDRESS_LOCATION, "valueReference": location}],
        }
        resource["extension"] = [{"url": GROUP_ADDRESS, "valueAddress": address}]
    return resource


def contract(
    coverage: CoverageRecord,
    household: HouseholdRecord,
    identifiers: Identifiers,
    *,
    group_id: str,
    patient_ids: Mapping[str, str],
) -> dict[str, Any]:
    """The policy: who it covers, when, for which product, and every premium paid so far."""
    status = POLICY_STATUS[coverage.status]
    asset = {
        "typeReference": [
            {"reference": f"Patient/{patient_ids[m.member_no]}"}
            for m in household.members
            if m.member_no in patient_ids
        ],
        "period": [{"start": coverage.enrolled_on.isoformat(), "end": coverage.end.isoformat()}],
        "usePeriod": [{"start": coverage.start.isoformat(), "end": coverage.end.isoformat()}],
        "valuedItem": [
            {
                "entityReference": {"reference": f"InsurancePlan/{coverage.product_code}"},
                "net": {"value": coverage.premium_due, "currency": "XOF"},
            }
        ],
        "extension": [
            _premium(p.reference, p.amount, p.currency, p.paid_on) for p in coverage.payments
        ],
    }
    return {
        "resourceType": "Contract",
        "identifier": [identifiers.make(identifiers.member_no_code, coverage.reference)],
        "status": CONTRACT_STATUS[status],
        "legalState": {"text": "Renewed" if coverage.renewal else "Offered"},
        "subject": [{"reference": f"Group/{group_id}"}],
        "term": [{"asset": [asset]}],
    }


def _premium(reference: str, amount: int, currency: str, paid_on: dt.date) -> dict[str, Any]:
    return {
        "url": CONTRACT_PREMIUM,
        "extension": [
            {"url": "amount", "valueMoney": {"value": amount, "currency": currency}},
            {"url": "receipt", "valueString": reference},
            {"url": "date", "valueDate": paid_on.isoformat()},
            # openIMIS pay types: B bank, C cash, M mobile phone, F funding.
            {
                "url": "type",
                "valueCodeableConcept": {"coding": [{"system": PREMIUM_TYPE_SYSTEM, "code": "M"}]},
            },
        ],
    }


def eligibility_request(
    member_no: str, on: dt.date, *, insurer: str, service_code: str | None
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "resourceType": "CoverageEligibilityRequest",
        "status": "active",
        "purpose": ["benefits"],
        "patient": {"reference": f"Patient/{member_no}"},
        "created": on.isoformat(),
        "insurer": {"reference": f"Organization/{insurer}"},
    }
    if service_code:
        request["item"] = [
            {
                "category": {"coding": [{"code": "service"}]},
                "productOrService": {"text": service_code},
            }
        ]
    return request


# -- reading answers ---------------------------------------------------------------------


def resources_in(body: Mapping[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """The resources of a search answer: a FHIR searchset Bundle, or (openIMIS's own answer to
    ``?identifier=``) the single resource itself."""
    kind = body.get("resourceType")
    if kind == resource_type:
        return [dict(body)]
    if kind != "Bundle":
        raise RegisterMalformedAnswer(f"{resource_type} search: answer is a {kind!r}")
    found = []
    for entry in opt_list(body, "entry", "Bundle"):
        resource = as_dict(as_dict(entry, "Bundle.entry").get("resource"), "Bundle.entry.resource")
        if resource.get("resourceType") == resource_type:
            found.append(resource)
    return found


def resource_id(resource: Mapping[str, Any]) -> str:
    return get_str(resource, "id", str(resource.get("resourceType", "resource")))


def identifier_value(resource: Mapping[str, Any], code: str) -> str | None:
    where = f"{resource.get('resourceType')}.identifier"
    for item in opt_list(resource, "identifier", where):
        identifier = as_dict(item, where)
        codings = opt_list(as_dict(identifier.get("type") or {}, where), "coding", where)
        if any(as_dict(c, where).get("code") == code for c in codings):
            return opt_str(identifier, "value", where)
    return None


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
        register_id=resource_id(resource),
        member_no=identifier_value(resource, identifiers.member_no_code),
        national_id=identifier_value(resource, identifiers.national_id_code),
        family_name=opt_str(name, "family", f"{where}.name") or "",
        given_names=" ".join(given),
        sex=Sex(gender) if gender in {s.value for s in Sex} else None,
        birth_date=birth_date,
        phone=_phone(resource),
        is_head=_is_head(resource),
    )


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


@dataclass(frozen=True)
class _Benefit:
    start: dt.date
    end: dt.date | None
    coverage_ref: str | None

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def eligibility(body: Mapping[str, Any], member_no: str, on: dt.date) -> RegisterEligibility:
    where = "CoverageEligibilityResponse"
    if body.get("resourceType") != where:
        raise RegisterMalformedAnswer(f"eligibility answer is a {body.get('resourceType')!r}")
    benefits = []
    for item in opt_list(body, "insurance", where):
        insurance = as_dict(item, f"{where}.insurance")
        if insurance.get("inforce") is False:
            continue
        period = as_dict(insurance.get("benefitPeriod"), f"{where}.insurance.benefitPeriod")
        end = opt_str(period, "end", "benefitPeriod")
        coverage = as_dict(insurance.get("coverage") or {}, f"{where}.insurance.coverage")
        benefits.append(
            _Benefit(
                start=_date(get_str(period, "start", "benefitPeriod")),
                end=_date(end) if end else None,
                coverage_ref=opt_str(coverage, "reference", f"{where}.insurance.coverage"),
            )
        )
    covering = [b for b in benefits if b.covers(on)]
    if covering:
        return _answer(member_no, on, Eligibility.COVERED, covering[0])
    if benefits:
        latest = max(benefits, key=lambda b: b.end or dt.date.max)
        return _answer(member_no, on, Eligibility.NOT_COVERED, latest)
    return RegisterEligibility(member_no, on, Eligibility.NOT_COVERED)


def _answer(
    member_no: str, on: dt.date, status: Eligibility, benefit: _Benefit
) -> RegisterEligibility:
    return RegisterEligibility(
        member_no, on, status, benefit.start, benefit.end, benefit.coverage_ref
    )


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError as exc:
        raise RegisterMalformedAnswer(f"not a date: {text!r}") from exc
