"""Correcting a household in a real browser, on a phone-sized screen: Debian's headless
Chromium driven by Playwright against the whole gateway served by uvicorn on 127.0.0.1
(over http: Chromium takes the `Secure` session cookie from 127.0.0.1), as in
tests/staff/test_browser.py. JavaScript is switched off: the forms must not need it.

A mutual manager finds a household whose family name was misspelt at enrolment, types a
wrong correction first (the problem is shown next to the field), then the right one, and
sees it in the household's history.

Without /usr/bin/chromium (`apt-get install -y chromium`) the module is skipped, unless
ALAFIA_REQUIRE_BROWSER=1, where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from gateway.enrolment.service import EnrolmentService
from tests.staff.web import MANAGER, PARAKOU_PHONE, PASSWORD, add_staff, household_of, members

CHROMIUM = Path("/usr/bin/chromium")
REQUIRED = os.environ.get("ALAFIA_REQUIRE_BROWSER") == "1"
MISSING = (
    f"{CHROMIUM} is absent: apt-get install -y chromium "
    "(set ALAFIA_REQUIRE_BROWSER=1 to make this a failure)"
)
if not CHROMIUM.exists() and not REQUIRED:
    pytest.skip(MISSING, allow_module_level=True)

from playwright.async_api import Browser, Page, expect  # noqa: E402

PHONE_SCREEN = {"width": 360, "height": 740}  # a small Android phone

from tests.staff.test_browser import TIMEOUT_MS, browser, gateway_url  # noqa: E402

__all__ = ["browser", "gateway_url"]  # fixtures this module uses, made here once more


@pytest.fixture
async def phone(browser: Browser, gateway_url: str, clean: None) -> AsyncIterator[Page]:
    context = await browser.new_context(
        base_url=gateway_url, viewport=PHONE_SCREEN, java_script_enabled=False
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = await context.new_page()
    yield tab
    await context.close()


async def fits_the_screen(page: Page) -> None:
    """Nothing wider than the phone's screen: no sideways scrolling to reach a field."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_SCREEN["width"], width


async def test_a_manager_corrects_a_misspelt_name_and_sees_it_in_the_history(
    phone: Page, app: Starlette, enrolment: EnrolmentService, db: Session
) -> None:
    household = await household_of(
        enrolment, db, PARAKOU_PHONE, "MS-PARAKOU", persons=2, family_name="ASOGBA"
    )
    head = members(db, household)[0]
    email = "gestion.parakou@navigateur.bj"
    await add_staff(app, email, *MANAGER)

    await phone.goto(f"/admin/households/{household}")
    await expect(phone).to_have_url(re.compile(r"/admin/login\?next=/admin/households/\d+$"))
    await phone.fill("#email", email)
    await phone.fill("#password", PASSWORD)
    await phone.get_by_role("button", name="Se connecter").click()
    await expect(phone.locator("h1")).to_have_text("Ménage")

    await phone.get_by_label("Corriger le nom ou la naissance de ASOGBA Rose").click()
    await expect(phone.locator("h1")).to_have_text("Corriger un membre")
    await expect(phone.locator("#f-last_name")).to_have_value("ASOGBA")
    await fits_the_screen(phone)

    save = phone.get_by_role("button", name="Enregistrer la correction")
    await phone.fill("#f-last_name", "ASS0GBA")  # a zero for an O: refused, and said where
    await save.click()
    error = phone.locator("#e-last_name")
    await expect(error).to_contain_text("Exemple : ASSOGBA")
    await expect(phone.locator("#f-last_name")).to_have_attribute("aria-invalid", "true")
    await fits_the_screen(phone)

    await phone.fill("#f-last_name", "assogba")
    await save.click()

    await expect(phone).to_have_url(re.compile(rf"/admin/households/{household}\?done=corrected$"))
    await expect(phone.locator("p.done")).to_contain_text("Correction enregistrée")
    members_table = phone.locator("table").filter(has_text=head.member_no or "")
    await expect(members_table.first).to_contain_text("ASSOGBA Rose")
    history = phone.locator('ol[data-list="history"] > li')
    await expect(history).to_have_count(1)
    await expect(history.first).to_contain_text("Membre corrigé")
    await expect(history.first).to_contain_text(email)
    await expect(history.first).to_contain_text("Nom de famille : ASOGBA → ASSOGBA")
    assert members(db, household)[0].last_name == "ASSOGBA"
