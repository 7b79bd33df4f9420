"""Eligibility in FHIR R4: a CoverageEligibilityRequest read, a CoverageEligibilityResponse
written, as openIMIS speaks them, so facility software that already asks openIMIS can ask
the gateway unchanged, and as R4 requires them, so a strict client accepts the answer.

Example answer (a member covered, the gateway's own data answering; `<base>` is
FHIR_CANONICAL_BASE):

    {"resourceType": "CoverageEligibilityResponse", "status": "active",
     "purpose": ["validation"], "patient": {"reference": "Patient/100000011"},
     "servicedDate": "2027-01-10", "created": "2027-01-10",
     "request": {"type": "CoverageEligibilityRequest", "display": "..."},
     "outcome": "complete",
     "insurer": {"type": "Organization", "display": "Mutuelle de santé de Parakou",
                 "identifier": {"system": "<base>/identifiers/mutual", "value": "MS-PARAKOU"}},
     "contained": [{"resourceType": "Coverage", "id": "coverage", "status": "active", ...}],
     "insurance": [{"coverage": {"reference": "#coverage"}, "inforce": true,
                    "benefitPeriod": {"start": "2026-12-23", "end": "2027-12-22"},
                    "item": [{"category": ..., "benefit": [{"type": copay-percent,
                              "allowedUnsignedInt": 25}]}]}],
     "extension": [{"url": "<base>/StructureDefinition/coverage-status",
                    "valueCode": "active"}, ...]}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.register.eligibility import Answer
from gateway.register.fhir import extensions
from menus.values import NO_PERIOD, CheckSource, CoverageStatus

BENEFIT_CATEGORY = {
    "system": "http://terminology.hl7.org/CodeSystem/ex-benefitcategory",
    "code": "30",
    "display": "Health Benefit Plan Coverage",
}
COPAY_PERCENT = {
    "system": "http://terminology.hl7.org/CodeSystem/benefit-type",
    "code": "copay-percent",
    "display": "Copayment Percent per service",
}
COVERAGE_ID = "coverage"  # the contained Coverage


class FhirRequestError(ValueError):
    pass


@dataclass(frozen=True)
class Asked:
    """What a CoverageEligibilityRequest asks, and how the answer names it back."""

    member_no: str
    on: date
    request: dict[str, Any]  # the response's `request` (a Reference)


def _request_reference(body: dict[str, Any], member_no: str, on: date) -> dict[str, Any]:
    """The request as the response refers to it: by the identifier the client gave it,
    else by a description (the gateway keeps no copy of requests to point at)."""
    reference: dict[str, Any] = {"type": "CoverageEligibilityRequest"}
    identifiers = body.get("identifier")
    first = identifiers[0] if isinstance(identifiers, list) and identifiers else None
    if isinstance(first, dict) and isinstance(first.get("value"), str) and first["value"]:
        identifier = {"value": first["value"]}
        if isinstance(first.get("system"), str) and first["system"]:
            identifier["system"] = first["system"]
        reference["identifier"] = identifier
    else:
        reference["display"] = f"eligibility of Patient/{member_no} on {on.isoformat()}"
    return reference


def read_request(body: Any, today: date) -> Asked:
    """The member number and the day a CoverageEligibilityRequest asks about."""
    if not isinstance(body, dict) or body.get("resourceType") != "CoverageEligibilityRequest":
        raise FhirRequestError("expected a CoverageEligibilityRequest resource")
    patient = body.get("patient")
    if not isinstance(patient, dict):
        raise FhirRequestError("patient is missing")
    member_no = ""
    reference = patient.get("reference")
    if isinstance(reference, str) and reference.startswith("Patient/"):
        member_no = reference.removeprefix("Patient/")
    identifier = patient.get("identifier")
    if not member_no and isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
        member_no = identifier["value"]
    if not member_no:
        raise FhirRequestError("patient.reference must be Patient/<member number>")
    day = body.get("servicedDate") or body.get("created")
    on = today
    if day is not None:
        try:
            on = date.fromisoformat(str(day)[:10])
        except ValueError:
            raise FhirRequestError(f"servicedDate/created is not a date: {day!r}") from None
    return Asked(member_no, on, _request_reference(body, member_no, on))


@dataclass(frozen=True)
class Publisher:
    """What the answers say of who wrote them: the canonical base of our extensions and
    identifiers, and the central register's name for answers it gave."""

    base: str  # FHIR_CANONICAL_BASE, no trailing slash
    register: str  # e.g. "openIMIS", the insurer of the members only the register knows

    def insurer(self, answer: Answer) -> dict[str, Any]:
        if answer.source == CheckSource.LOCAL and answer.mutual_code:
            return {
                "type": "Organization",
                "identifier": {
                    "system": f"{self.base}/identifiers/mutual",
                    "value": answer.mutual_code,
                },
                "display": answer.mutual_name or answer.mutual_code,
            }
        return {"type": "Organization", "display": self.register}

    def coverage(self, answer: Answer, reference: str, insurer: dict[str, Any]) -> dict[str, Any]:
        """The cover year `reference` (ours, CP-<n>, or the register's) as a contained
        Coverage: it has no URL of its own here, and the register's is on another server,
        so the answer carries what it knows of it."""
        if answer.source == CheckSource.LOCAL:
            system = f"{self.base}/identifiers/coverage-period"
        else:
            system = f"{self.base}/identifiers/register-coverage"
        # Coverage.status is the record's (R4 fm-status), not the cover's: a period not yet
        # paid is a draft, a cancelled one cancelled, any other a record in force.
        status = {
            CoverageStatus.CANCELLED.value: "cancelled",
            CoverageStatus.PENDING_PAYMENT.value: "draft",
        }.get(answer.status or "", "active")
        coverage: dict[str, Any] = {
            "resourceType": "Coverage",
            "id": COVERAGE_ID,
            "identifier": [{"system": system, "value": reference}],
            "status": status,
            "beneficiary": {"reference": f"Patient/{answer.member_no}"},
            "payor": [insurer],
        }
        if answer.period_start or answer.period_end:
            coverage["period"] = _period(answer.period_start, answer.period_end)
        return coverage


def _period(start: date | None, end: date | None) -> dict[str, str]:
    period = {}
    if start:
        period["start"] = start.isoformat()
    if end:
        period["end"] = end.isoformat()
    return period


def response(answer: Answer, asked: Asked, today: date, publisher: Publisher) -> dict[str, Any]:
    base = publisher.base
    insurer = publisher.insurer(answer)
    resource: dict[str, Any] = {
        "resourceType": "CoverageEligibilityResponse",
        "extension": _extensions(answer, base),
        "status": "active",
        "purpose": ["validation"],
        "patient": {"reference": f"Patient/{answer.member_no}"},
        "servicedDate": answer.on.isoformat(),
        "created": today.isoformat(),
        "request": asked.request,
        "outcome": "complete",
        "insurer": insurer,
    }
    # R4 makes `insurance.coverage` 1..1: without a cover year there is no insurance entry
    # (the coverage-status extension then says "none").
    if answer.coverage_ref:
        resource["contained"] = [publisher.coverage(answer, answer.coverage_ref, insurer)]
        insurance: dict[str, Any] = {
            "coverage": {"reference": f"#{COVERAGE_ID}"},
            "inforce": answer.covered,
        }
        if answer.period_start and answer.period_end:
            # openIMIS clients read the period, not `inforce`: in grace it must reach the day.
            end = answer.grace_until if answer.status == CoverageStatus.GRACE else None
            insurance["benefitPeriod"] = _period(answer.period_start, end or answer.period_end)
        if answer.copay_percent is not None:
            benefit = {
                "type": {"coding": [COPAY_PERCENT]},
                "allowedUnsignedInt": answer.copay_percent,
            }
            insurance["item"] = [{"category": {"coding": [BENEFIT_CATEGORY]}, "benefit": [benefit]}]
        resource["insurance"] = [insurance]
    return resource


def _extensions(answer: Answer, base: str) -> list[dict[str, Any]]:
    found = [
        extensions.COVERAGE_STATUS.value(base, answer.status or NO_PERIOD),
        extensions.ELIGIBILITY_SOURCE.value(base, answer.source),
    ]
    if answer.waiting_until is not None:
        found.append(extensions.WAITING_UNTIL.value(base, answer.waiting_until.isoformat()))
    # Who pays for this person's care: R4 has no element for it (Coverage.type is the kind
    # of plan, the same for the whole household).
    if answer.ground is not None:
        found.append(extensions.COVER_GROUND.value(base, str(answer.ground)))
    return found
