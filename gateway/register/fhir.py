"""Eligibility in FHIR R4, as openIMIS speaks it, so facility software that already
asks openIMIS can ask the gateway unchanged."""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.register.eligibility import Answer
from menus.values import NO_PERIOD, CoverageStatus

FHIR_JSON = "application/fhir+json"


class FhirRequestError(ValueError):
    pass


def read_request(body: Any, today: date) -> tuple[str, date]:
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
    if day is None:
        return member_no, today
    try:
        return member_no, date.fromisoformat(str(day)[:10])
    except ValueError:
        raise FhirRequestError(f"servicedDate/created is not a date: {day!r}") from None


def response(answer: Answer, today: date) -> dict[str, Any]:
    insurance: dict[str, Any] = {"inforce": answer.covered}
    if answer.coverage_ref:
        # The register's answers already carry "Coverage/<id>"; the gateway's own, "CP-<n>".
        ref = answer.coverage_ref.removeprefix("Coverage/")
        insurance["coverage"] = {"reference": f"Coverage/{ref}"}
    if answer.period_start and answer.period_end:
        # openIMIS clients read the period, not `inforce`: in grace it must reach the day.
        end = answer.grace_until if answer.status == CoverageStatus.GRACE else None
        insurance["benefitPeriod"] = {
            "start": answer.period_start.isoformat(),
            "end": (end or answer.period_end).isoformat(),
        }
    extension: list[dict[str, Any]] = [{"url": "status", "valueCode": answer.status or NO_PERIOD}]
    extension.append({"url": "source", "valueCode": answer.source})
    if answer.copay_percent is not None:
        extension.append({"url": "copay_percent", "valueInteger": answer.copay_percent})
    if answer.waiting_until is not None:
        extension.append({"url": "waiting_until", "valueDate": answer.waiting_until.isoformat()})
    return {
        "resourceType": "CoverageEligibilityResponse",
        "status": "active",
        "purpose": ["validation"],
        "outcome": "complete",
        "patient": {"reference": f"Patient/{answer.member_no}"},
        "created": today.isoformat(),
        "servicedDate": answer.on.isoformat(),
        "insurance": [insurance],
        "extension": extension,
    }


def outcome(code: str, diagnostics: str) -> dict[str, Any]:
    """An OperationOutcome: how FHIR servers say no."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }
