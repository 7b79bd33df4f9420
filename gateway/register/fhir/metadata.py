"""`GET /fhir/metadata`: the CapabilityStatement, what this FHIR server really does, so a
client can find out before it asks (R4 capabilitystatement.html, http.html#capabilities).

It lists only what is served: the eligibility request answered at once (nothing stored,
so no read, no search, and no search parameter), the StructureDefinitions of our
extensions by read, JSON only, and the facility's bearer key.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.register.fhir.media import FHIR_JSON

FHIR_VERSION = "4.0.1"


def capability_statement(*, base: str, endpoint: str, version: str, today: date) -> dict[str, Any]:
    """`base`: FHIR_CANONICAL_BASE; `endpoint`: where this server's /fhir is reached."""
    return {
        "resourceType": "CapabilityStatement",
        "id": "alafia",
        "url": f"{base}/CapabilityStatement/alafia",
        "version": version,
        "name": "AlafiaEligibility",
        "title": "Alafia: eligibility of health-mutual members",
        "status": "active",
        "date": today.isoformat(),
        "publisher": "Alafia",
        "description": "Health facilities ask whether a member of a health mutual is covered "
        "on a day, as they ask openIMIS.",
        "kind": "instance",
        "software": {"name": "Alafia", "version": version},
        "implementation": {"description": "Alafia gateway, FHIR R4 endpoint", "url": endpoint},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Eligibility checks by health facilities. XML is not served "
                "(406); every error is an OperationOutcome.",
                "security": {
                    "cors": False,
                    "description": "Each health facility has its own API key (alafia "
                    "facilities add), sent as `Authorization: Bearer <key>` on "
                    "CoverageEligibilityRequest; a missing or revoked key gets 401, more than "
                    "ELIGIBILITY_CHECKS_PER_MINUTE checks a minute 429. metadata and "
                    "StructureDefinition are public.",
                },
                "resource": [
                    {
                        "type": "CoverageEligibilityRequest",
                        "documentation": "POST a CoverageEligibilityRequest (patient: "
                        "Patient/<member number>; servicedDate or created: the day asked "
                        "about, today if neither): the answer is a CoverageEligibilityResponse "
                        "at once, with status 200. The request is not stored.",
                        "interaction": [
                            {
                                "code": "create",
                                "documentation": "answered with a CoverageEligibilityResponse; "
                                "nothing is created",
                            }
                        ],
                    },
                    {
                        "type": "StructureDefinition",
                        "documentation": "The definitions of the extensions our answers carry.",
                        "interaction": [{"code": "read"}],
                    },
                ],
            }
        ],
    }
