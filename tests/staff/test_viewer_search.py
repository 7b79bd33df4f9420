"""A viewer searches households by member number only: a search by phone would tell
them whether a phone is enrolled, which their role may not learn. A phone or a name gets
a message saying so, in French or English, finds nothing and is audited as such;
managers and central admins search by phone as before."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.values import StaffRole
from gateway.enrolment.service import EnrolmentService
from tests.staff import test_web as staff_web
from tests.staff.test_web import audit_rows, logged_in
from tests.support.households import enrol_household

web = staff_web.web  # the fixture: a browser over https

PHONE = "+2290197000801"
REFUSED = {
    "fr": "par numéro de membre seulement (9 chiffres), pas par téléphone ni par nom",
    "en": "by member number only (9 digits), not by phone or name",
}


async def _household(enrolment: EnrolmentService, db: Session) -> tuple[int, str]:
    """A household of MS-PARAKOU: its id and its head's member number."""
    member_no = await enrol_household(enrolment, PHONE, mutual="MS-PARAKOU")
    household_id = db.scalar(
        select(models.Member.household_id).where(models.Member.member_no == member_no)
    )
    assert household_id is not None
    return household_id, member_no


@pytest.mark.parametrize(
    ("query", "lang"),
    [
        (PHONE, "fr"),
        ("97 00 08 01", "en"),  # the old 8-digit form people still type
        ("ASSOGBA", "fr"),  # a name
        ("Rose Assogba", "en"),
    ],
)
async def test_a_viewer_may_not_search_by_phone_or_name(
    web: httpx.AsyncClient,
    app: Starlette,
    enrolment: EnrolmentService,
    db: Session,
    query: str,
    lang: str,
) -> None:
    household, _ = await _household(enrolment, db)
    await logged_in(web, app, StaffRole.VIEWER, "ZS-PARAKOU")

    answer = await web.get("/admin/households", params={"q": query, "lang": lang})

    assert answer.status_code == 200
    assert REFUSED[lang] in answer.text
    assert f"/admin/households/{household}" not in answer.text
    assert "+229********01" not in answer.text  # not even the masked number of a hit
    [search] = audit_rows(db, "household_search")
    assert search.details == {"kind": "member_no_only", "results": 0}
    assert search.member_no is None
    assert "97000" not in json.dumps(search.details)


async def test_a_viewer_finds_a_household_by_member_number(
    web: httpx.AsyncClient, app: Starlette, enrolment: EnrolmentService, db: Session
) -> None:
    household, member_no = await _household(enrolment, db)
    await logged_in(web, app, StaffRole.VIEWER, "ZS-PARAKOU")

    answer = await web.get("/admin/households", params={"q": member_no, "lang": "en"})

    assert f"/admin/households/{household}" in answer.text
    assert "+229********01" in answer.text and PHONE not in answer.text  # masked
    assert REFUSED["en"] not in answer.text
    [search] = audit_rows(db, "household_search")
    assert (search.member_no, search.details) == (
        member_no,
        {"kind": "member_no", "results": 1},
    )


async def test_a_mistyped_member_number_gets_the_same_message(
    web: httpx.AsyncClient, app: Starlette, enrolment: EnrolmentService, db: Session
) -> None:
    _, member_no = await _household(enrolment, db)
    wrong = member_no[:-1] + str((int(member_no[-1]) + 1) % 10)  # the check digit is off
    await logged_in(web, app, StaffRole.VIEWER, None)

    answer = await web.get("/admin/households", params={"q": wrong, "lang": "en"})

    assert REFUSED["en"] in answer.text


@pytest.mark.parametrize(
    ("role", "scope"), [(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU"), (StaffRole.CENTRAL_ADMIN, None)]
)
async def test_managers_and_admins_still_search_by_phone(
    web: httpx.AsyncClient,
    app: Starlette,
    enrolment: EnrolmentService,
    db: Session,
    role: str,
    scope: str | None,
) -> None:
    household, _ = await _household(enrolment, db)
    await logged_in(web, app, role, scope)

    answer = await web.get("/admin/households", params={"q": PHONE, "lang": "en"})

    assert f"/admin/households/{household}" in answer.text and PHONE in answer.text
    assert REFUSED["en"] not in answer.text
    [search] = audit_rows(db, "household_search")
    assert search.details == {"kind": "phone", "results": 1}
