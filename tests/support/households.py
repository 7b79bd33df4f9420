"""Households enrolled straight through the enrolment service, for tests that start
after the USSD journey: reminders, SMS, billing."""

from __future__ import annotations

import uuid
from datetime import date

from gateway.enrolment.service import EnrolmentService
from menus.effects import EnrolHousehold, PersonDraft
from tests.conftest import TODAY


def person(relationship: str, name: str) -> PersonDraft:
    return PersonDraft("ASSOGBA", name, "F", "1990-01-01", True, relationship)


async def enrol_household(
    enrolment: EnrolmentService,
    phone: str = "+2290197000701",
    *,
    persons: int = 3,
    language: str = "fr",
    mutual: str = "MS-PARAKOU",
    product: str = "FAMILLE",
    day: date = TODAY,
) -> str:
    """The head's member number of a new household."""
    result = await enrolment.enrol(
        EnrolHousehold(
            mutual,
            product,
            phone,
            language,
            person("head", "Rose"),
            tuple(person("child", f"Enfant{i}") for i in range(persons - 1)),
        ),
        f"test:{uuid.uuid4()}",
        day,
    )
    assert result["outcome"] == "enrolled", result
    return result["member_no"]
