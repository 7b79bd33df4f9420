"""Staff of every role at the management pages (agents, facilities), over https as a
browser sends them, and the field work those pages show: households an agent registered
and cash they took, made through the same services as on the short code.

A test module makes its fixture of `staff_browsers` (a conftest.py here would be shared
with other pages' tests):

    @pytest.fixture
    async def staff_as(app: Starlette, clean: None) -> AsyncIterator[OpenAs]:
        async with staff_browsers(app) as open_as:
            yield open_as

    async def test_...(staff_as: OpenAs) -> None:
        manager = await staff_as(MUTUAL_MANAGER, "MS-PARAKOU")
"""

from __future__ import annotations

import html
import itertools
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway.enrolment.service import EnrolmentService
from gateway.payments.capability import Payments
from gateway.sms.capability import Sms
from menus.effects import EnrolHousehold
from tests.conftest import TODAY
from tests.staff.test_web import add_staff, csrf_in, login
from tests.support.gateway import part, shared
from tests.support.households import person

ORIGIN = "https://gateway.test"


@dataclass
class StaffBrowser:
    """One staff member's browser: their session cookie and the session's CSRF token."""

    http: httpx.AsyncClient
    staff_id: int
    csrf: str

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get(path)

    async def post(self, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
        """A form as the browser posts it: the session's token, our own Origin."""
        return await self.http.post(
            path, data={"csrf": self.csrf, **(data or {})}, headers={"Origin": ORIGIN}
        )


async def open_browser(app: Starlette, role: str, scope: str | None, n: int) -> StaffBrowser:
    transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 40000 + n))
    http = httpx.AsyncClient(transport=transport, base_url=ORIGIN)
    email = f"{role}.{scope or 'all'}.{n}@agence.bj".lower()
    staff_id = await add_staff(app, email, role, scope)
    answer = await login(http, email)
    assert answer.status_code == 303, answer.text
    return StaffBrowser(http, staff_id, csrf_in(await http.get("/admin")))


OpenAs = Callable[[str, str | None], Awaitable[StaffBrowser]]


@asynccontextmanager
async def staff_browsers(app: Starlette) -> AsyncIterator[OpenAs]:
    """`await open_as(MUTUAL_MANAGER, "MS-PARAKOU")`: a new account of that role and
    scope, logged in in a browser of its own; all closed on the way out."""
    opened: list[StaffBrowser] = []
    numbers = itertools.count(1)

    async def open_as(role: str, scope: str | None) -> StaffBrowser:
        browser = await open_browser(app, role, scope, next(numbers))
        opened.append(browser)
        return browser

    try:
        yield open_as
    finally:
        for browser in opened:
            await browser.http.aclose()


def field_error(page: httpx.Response, field: str) -> str:
    """The error written under a form field ('' when there is none), as a reader sees it."""
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page.text)
    return html.unescape(found.group(1)) if found else ""


def shown(page: httpx.Response) -> str:
    """The page's text as a reader sees it (`&#39;` read as `'`)."""
    return html.unescape(page.text)


def audit(db: Session, action: str) -> list[models.AuditEntry]:
    db.expire_all()
    return list(
        db.scalars(
            select(models.AuditEntry)
            .where(models.AuditEntry.action == action)
            .order_by(models.AuditEntry.id)
        ).all()
    )


def agent_row(db: Session, phone: str) -> models.Agent | None:
    db.expire_all()
    return db.scalar(select(models.Agent).where(models.Agent.phone == phone))


async def household_by(
    app: Starlette,
    db: Session,
    agent_id: int,
    phone: str,
    *,
    persons: int,
    mutual: str = "MS-PARAKOU",
    day: date = TODAY,
    cash: int = 0,
) -> str:
    """A household registered by the agent on `day` (and `cash` francs they took from
    it); the head's member number."""
    enrolment = EnrolmentService(shared(app).sync_sessions, part(app, Sms).outbox, shared(app).now)
    result = await enrolment.enrol(
        EnrolHousehold(
            mutual,
            "FAMILLE",
            phone,
            "fr",
            person("head", "Rose"),
            tuple(person("child", f"Enfant{i}") for i in range(persons - 1)),
            channel="agent",
            agent_id=agent_id,
        ),
        f"test:{uuid.uuid4()}",
        day,
    )
    assert result["outcome"] == "enrolled", result
    member_no: str = result["member_no"]
    # created_at is the database's own clock, which tests cannot move: set the day.
    at = datetime.combine(day, time(12), UTC)
    household_id = db.execute(
        select(models.Member.household_id).where(models.Member.member_no == member_no)
    ).scalar_one()
    db.execute(
        update(models.Household).where(models.Household.id == household_id).values(created_at=at)
    )
    db.execute(
        update(models.Member)
        .where(models.Member.household_id == household_id)
        .values(created_at=at)
    )
    db.commit()
    if cash:
        await part(app, Payments).ledger.record_cash(
            member_no, cash, "Rose", request_key=f"t:{uuid.uuid4()}", agent_id=agent_id
        )
    return member_no
