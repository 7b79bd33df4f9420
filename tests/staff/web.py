"""Logging staff in and reading pages, for the dashboard page tests."""

from __future__ import annotations

import html
import re
import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway.enrolment.service import EnrolmentService
from gateway.staff.accounts import StaffAccounts
from menus.effects import EnrolHousehold, PersonDraft
from tests.conftest import TODAY
from tests.support.gateway import shared

PASSWORD = "correct horse battery"
PARAKOU_PHONE = "+2290197000701"
PARAKOU_OTHER_PHONE = "+2290197000703"
KANDI_PHONE = "+2290197000702"
MANAGER = ("mutual_manager", "MS-PARAKOU")
OTHER_MANAGER = ("mutual_manager", "MS-KANDI")
ADMIN = ("central_admin", None)
VIEWER = ("viewer", "ZS-PARAKOU")


async def add_staff(app: Starlette, email: str, role: str, scope: str | None) -> int:
    runtime = shared(app)
    return await StaffAccounts(runtime.sessions, runtime.now).add(
        email, role, scope, PASSWORD, "test"
    )


def hidden(page: httpx.Response, name: str) -> str:
    """A hidden input's value on a page (the form's CSRF token, its version...)."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page.text)
    assert found, f"no hidden {name} in:\n{page.text}"
    return html.unescape(found.group(1))


async def login(web: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    form = await web.get("/admin/login")
    return await web.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf": hidden(form, "csrf"), "next": ""},
    )


async def logged_in(web: httpx.AsyncClient, app: Starlette, role: str, scope: str | None) -> str:
    """Log in a new account of this role and scope; the session's CSRF token."""
    web.cookies.clear()
    email = f"{role}.{scope or 'all'}@agence.bj".lower()
    await add_staff(app, email, role, scope)
    answer = await login(web, email)
    assert answer.status_code == 303, answer.text
    return hidden(await web.get("/admin"), "csrf")


CHILDREN = ("Afi", "Sena", "Koffi", "Ayaba", "Dossi")


async def household_of(
    enrolment: EnrolmentService,
    db: Session,
    phone: str,
    mutual: str,
    persons: int = 3,
    family_name: str = "ASSOGBA",
    product: str = "FAMILLE",
) -> int:
    """A household enrolled as the short code would: the head Rose, then her children
    Afi, Sena..., all born in 1990 (year only), with names the enrolment rules accept."""
    result = await enrolment.enrol(
        EnrolHousehold(
            mutual,
            product,
            phone,
            "fr",
            PersonDraft(family_name, "Rose", "F", "1990-01-01", True, "head"),
            tuple(
                PersonDraft(family_name, name, "F", "1990-01-01", True, "child")
                for name in CHILDREN[: persons - 1]
            ),
        ),
        f"test:{uuid.uuid4()}",
        TODAY,
    )
    assert result["outcome"] == "enrolled", result
    household_id = db.scalar(
        select(models.Member.household_id).where(models.Member.member_no == result["member_no"])
    )
    assert household_id is not None
    return household_id


def members(db: Session, household_id: int) -> list[models.Member]:
    """The head first, then in the order they were registered, as the pages list them."""
    db.expire_all()
    return list(
        db.scalars(
            select(models.Member)
            .where(models.Member.household_id == household_id)
            .order_by(models.Member.relationship_to_head != "head", models.Member.id)
        ).all()
    )


def audit_rows(db: Session, action: str) -> list[models.AuditEntry]:
    db.expire_all()
    return list(
        db.scalars(
            select(models.AuditEntry)
            .where(models.AuditEntry.action == action)
            .order_by(models.AuditEntry.id)
        ).all()
    )


def register_events(db: Session, household_id: int | None = None) -> list[models.RegisterEvent]:
    db.expire_all()
    query = select(models.RegisterEvent).order_by(models.RegisterEvent.id)
    if household_id is not None:
        query = query.where(models.RegisterEvent.household_id == household_id)
    return list(db.scalars(query).all())


def text_of(page: httpx.Response) -> str:
    """The page's words without tags, spaces folded: what a reader sees."""
    words = html.unescape(re.sub(r"<[^>]+>", " ", page.text))
    # Only ASCII spaces are folded: amounts keep their no-break spaces (1 575 FCFA).
    return re.sub(r"[ \t\r\n]+", " ", words).strip()
