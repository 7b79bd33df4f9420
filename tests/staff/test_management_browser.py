"""Managing agents and facilities in a real browser: Debian's headless Chromium driven by
Playwright against the whole gateway served by uvicorn (the approach and fixtures of
tests/staff/test_browser.py), at a phone's screen width, with no JavaScript at all.

A mutual manager adds an agent through the form and that agent dials the short code at
once; the manager disables an agent after the confirmation step. Central staff add a
health facility, copy its API key from the page, and the key works on the eligibility API.

Skipped without /usr/bin/chromium, unless ALAFIA_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.values import StaffRole
from gateway.enrolment.service import EnrolmentService
from tests.support.agents import add_agent
from tests.support.households import enrol_household
from tests.support.ussd_phone import Phone

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists() and os.environ.get("ALAFIA_REQUIRE_BROWSER") != "1":
    pytest.skip(f"{CHROMIUM} is absent: apt-get install -y chromium", allow_module_level=True)

from playwright.async_api import Browser, Page, expect  # noqa: E402

from tests.staff.test_browser import TIMEOUT_MS, browser, gateway_url, log_in  # noqa: E402

__all__ = ["browser", "gateway_url"]  # fixtures this module uses, made here once more

PHONE_SCREEN = {"width": 360, "height": 740}  # a small Android phone, in CSS pixels


@pytest.fixture
async def phone_page(browser: Browser, gateway_url: str, clean: None) -> Page:
    context = await browser.new_context(
        base_url=gateway_url, viewport=PHONE_SCREEN, java_script_enabled=False
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = await context.new_page()
    yield tab  # type: ignore[misc]
    await context.close()


async def test_a_manager_adds_an_agent_who_dials_at_once(
    phone_page: Page, app: Starlette, gateway_url: str, db: Session
) -> None:
    page = phone_page
    await log_in(page, app, StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    async with httpx.AsyncClient(base_url=gateway_url) as http:
        # The served gateway reads the known phones now, and would keep them a minute.
        await Phone(http, "+2290197000799").dial()

        await page.goto("/admin/agents")
        await page.click("text=Ajouter un agent")
        await expect(page.locator("#mutual")).to_have_value("MS-PARAKOU")
        await page.fill("#phone", "12")
        await page.fill("#name", "Adjovi Kpodo")
        await page.click("main form button[type=submit]")
        await expect(page.locator("#phone-error")).to_contain_text("01 95 12 34 56")
        await expect(page.locator("#name")).to_have_value("Adjovi Kpodo")
        await page.fill("#phone", "97 00 06 21")
        await page.click("main form button[type=submit]")

        await expect(page.locator("p.done")).to_contain_text("Agent Adjovi Kpodo ajouté")
        code = (await page.locator("#code").inner_text()).replace(" ", "")
        await page.click("text=← Adjovi Kpodo")
        await expect(page.locator("#agent-state")).to_have_text("PIN à choisir")
        phone = Phone(http, "+2290197000621")
        screen = await phone.dial()
        assert screen.startswith("CON ") and "Code d'activation" in screen
        screen = await phone.type(code)

    assert screen.startswith("CON ") and "Choisissez votre code PIN" in screen
    db.expire_all()
    agent = db.scalar(select(models.Agent).where(models.Agent.phone == "+2290197000621"))
    assert agent is not None and agent.name == "Adjovi Kpodo"
    # Nothing wider than the phone's screen: no sideways scrolling to reach a button.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_SCREEN["width"]


async def test_a_manager_disables_an_agent_after_confirming(
    phone_page: Page, app: Starlette, gateway_url: str, db: Session
) -> None:
    page = phone_page
    agent_id = await add_agent(app, "+2290197000622", "Bio Sika", "MS-PARAKOU", pin="738159")
    await log_in(page, app, StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")

    await page.goto(f"/admin/agents/{agent_id}")
    await page.click("text=Désactiver le compte…")
    await expect(page.locator("h1")).to_have_text("Désactiver ce compte\u00a0?")
    db.expire_all()
    assert db.get(models.Agent, agent_id).disabled_at is None  # type: ignore[union-attr]
    await page.click("text=Oui, désactiver le compte")

    await expect(page.locator("#agent-state")).to_have_text("Désactivé")
    await expect(page.locator("p.notice.done")).to_contain_text("Compte désactivé")
    db.expire_all()
    assert db.get(models.Agent, agent_id).disabled_at is not None  # type: ignore[union-attr]


async def test_central_staff_add_a_facility_and_its_key_works(
    phone_page: Page,
    app: Starlette,
    gateway_url: str,
    enrolment: EnrolmentService,
) -> None:
    page = phone_page
    member_no = await enrol_household(enrolment)
    await log_in(page, app, StaffRole.CENTRAL_ADMIN, None)

    await page.click("text=Centres de santé")
    await page.fill("#code", "CS-PKU")
    await page.fill("#name", "Centre de santé de Parakou")
    await page.fill("#phones", "97 00 03 01")
    await page.click("main form button[type=submit]")

    await expect(page.locator("p.notice.done")).to_contain_text("Centre CS-PKU ajouté")
    key = (await page.locator("#api-key").input_value()).strip()
    assert key.startswith("alf_")
    async with httpx.AsyncClient(base_url=gateway_url) as http:
        answer = await http.get(
            f"/api/v1/eligibility/{member_no}", headers={"Authorization": f"Bearer {key}"}
        )
        wrong = await http.get(
            f"/api/v1/eligibility/{member_no}", headers={"Authorization": f"Bearer {key}x"}
        )
    assert answer.status_code == 200 and answer.json()["member_no"] == member_no
    assert wrong.status_code == 401
    assert key not in page.url
    await page.click("text=J'ai copié la clé")
    await expect(page.locator("h1")).to_contain_text("CS-PKU")
    assert key not in await page.content()
