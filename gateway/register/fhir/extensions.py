"""The extensions our FHIR answers carry: one list, from which the answers take their
URLs, `/fhir/StructureDefinition/<id>` serves their definitions, and
docs/integrations/fhir.md is checked against (tests/register/test_fhir.py).

A FHIR extension is named by an absolute canonical URL (R4 extensibility.html#ext-1);
ours are all `<FHIR_CANONICAL_BASE>/StructureDefinition/<id>`, so one setting moves
them all, and with the default base each URL is served by the gateway itself.

What FHIR R4 says in an element of its own is said there, not in an extension: the
co-payment rate is `insurance.item.benefit` (`copay-percent`), the cover dates are
`insurance.benefitPeriod`, covered or not is `insurance.inforce`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.register import Eligibility
from db.values import CoverGround
from menus.values import NO_PERIOD, CheckSource, CoverageStatus


@dataclass(frozen=True)
class Extension:
    id: str  # the last segment of its URL
    type: str  # FHIR type of its value: code, date...
    short: str
    meaning: str
    codes: tuple[str, ...] = ()  # the codes a `code` value may take

    def url(self, base: str) -> str:
        return f"{base}/StructureDefinition/{self.id}"

    @property
    def value_key(self) -> str:
        return "value" + self.type[0].upper() + self.type[1:]

    def value(self, base: str, value: Any) -> dict[str, Any]:
        return {"url": self.url(base), self.value_key: value}


COVERAGE_STATUS = Extension(
    "coverage-status",
    "code",
    "Where the member's cover stands on the day asked about",
    "The status of the member's household cover on the day asked about, finer than "
    "`insurance.inforce`: pending_payment (enrolled, premium not fully paid), waiting "
    "(paid, waiting period not over), active, grace (the cover year is over, renewal still "
    "possible, care still covered), lapsed, cancelled, none (no enrolment on that day); "
    "covered or not_covered when the central register answered (it says no more).",
    (
        *(str(s) for s in CoverageStatus),
        NO_PERIOD,
        Eligibility.COVERED,
        Eligibility.NOT_COVERED,
    ),
)
ELIGIBILITY_SOURCE = Extension(
    "eligibility-source",
    "code",
    "Who answered: the gateway's own data or the central register",
    "local when the gateway's own data answered (members enrolled through it), register when "
    "the central register (openIMIS or a DCI registry) did, for members enrolled elsewhere.",
    tuple(str(s) for s in CheckSource),
)
WAITING_UNTIL = Extension(
    "waiting-until",
    "date",
    "The last day of the waiting period",
    "Given while the status is waiting: the premium is paid, care is covered from the day "
    "after this one.",
)
COVER_GROUND = Extension(
    "cover-ground",
    "code",
    "On what ground the person is covered",
    "Why this person is on the cover: member (the household pays for them), under_five "
    "(free care for children under five), pregnancy (free care for pregnant women), indigent "
    "(the State or another sponsor pays for people recognised as indigent). Given when the "
    "gateway's own data answered and the person has a line on the cover year.",
    tuple(str(g) for g in CoverGround),
)

EXTENSIONS: tuple[Extension, ...] = (
    COVERAGE_STATUS,
    ELIGIBILITY_SOURCE,
    WAITING_UNTIL,
    COVER_GROUND,
)
BY_ID = {extension.id: extension for extension in EXTENSIONS}


def structure_definition(extension: Extension, base: str, version: str) -> dict[str, Any]:
    """The extension's definition (R4 StructureDefinition, a differential on Extension)."""
    url = extension.url(base)
    meaning = extension.meaning
    if extension.codes:
        meaning += " Codes: " + ", ".join(extension.codes) + "."
    path = "Extension"
    return {
        "resourceType": "StructureDefinition",
        "id": extension.id,
        "url": url,
        "version": version,
        "name": "".join(part.capitalize() for part in extension.id.split("-")),
        "title": extension.short,
        "status": "active",
        "publisher": "Alafia",
        "description": meaning,
        "fhirVersion": "4.0.1",
        "kind": "complex-type",
        "abstract": False,
        "context": [{"type": "element", "expression": "CoverageEligibilityResponse"}],
        "type": "Extension",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "derivation": "constraint",
        "differential": {
            "element": [
                {
                    "id": path,
                    "path": path,
                    "short": extension.short,
                    "definition": meaning,
                    "min": 0,
                    "max": "1",
                },
                {"id": f"{path}.extension", "path": f"{path}.extension", "max": "0"},
                {"id": f"{path}.url", "path": f"{path}.url", "fixedUri": url},
                {
                    "id": f"{path}.value[x]",
                    "path": f"{path}.value[x]",
                    "min": 1,
                    "type": [{"code": extension.type}],
                },
            ]
        },
    }
