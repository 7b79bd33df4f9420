"""The phone simulator in a real browser (Debian's headless Chromium driven by Playwright),
against the whole gateway served by uvicorn, in the demo's mode with the callbacks'
secrets set: a household of two is enrolled by pressing the keypad's buttons, names
typed by multi-tap; then a call finds no voice channel (the page says so), and once a
scripted voice menu that speaks Africa's Talking's voice protocol is at /voice
(tests/simulator/voice_peer.py), walks it.

Without /usr/bin/chromium the module is skipped, unless ALAFIA_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway.app import create_app
from tests.conftest import Clock
from tests.simulator.conftest import AT_TOKEN, gateway_settings
from tests.simulator.voice_peer import ASK_NAME, THANKS, WELCOME, ScriptedVoice
from tests.support.http_server import serve

CHROMIUM = Path("/usr/bin/chromium")
REQUIRED = os.environ.get("ALAFIA_REQUIRE_BROWSER") == "1"
MISSING = (
    f"{CHROMIUM} is absent: apt-get install -y chromium "
    "(set ALAFIA_REQUIRE_BROWSER=1 to make this a failure)"
)
if not CHROMIUM.exists() and not REQUIRED:
    pytest.skip(MISSING, allow_module_level=True)

from playwright.async_api import Page, async_playwright, expect  # noqa: E402

TIMEOUT_MS = 15_000  # a hop takes well under a second; CI machines are slow
PHONE = "+2290197000111"
KEYS = {"2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO", "7": "PQRS", "8": "TUV"}
KEYS |= {"9": "WXYZ", "0": " "}

# What the phone types and what its screen then shows: a mother enrols herself and her son.
ENROLMENT = [
    ("1", "Adhérer"),
    ("1", "Votre mutuelle:"),
    ("3", "Chef de ménage: nom puis prénom(s)"),
    ("HOUNGBO AFI", "Afi: date de naissance"),
    ("1990", "Afi: numéro NPI"),
    ("2", "Afi: combien de personnes"),
    ("2", "Personne 2/2"),
    ("JEAN", "Qui est Jean (2/2) pour Afi?"),
    ("3", "Jean (2/2): date de naissance"),
    ("2016", "Afi (1/2): homme ou femme?"),
    ("2", "HOUNGBO, 2 pers."),
]


@pytest.fixture(scope="module")
def served_app(
    database_url: str, redis_url: str, clock: Clock, tmp_path_factory: pytest.TempPathFactory
) -> Starlette:
    settings = gateway_settings(
        database_url, redis_url, tmp_path_factory.mktemp("simulator"), demo=True
    )
    return create_app(settings, clock)


@pytest.fixture(scope="module")
def gateway_url(served_app: Starlette) -> Iterator[str]:
    """The whole gateway as `alafia demo` runs it (tokens set all the same), in a thread
    with its own event loop."""
    with serve(served_app) as url:
        yield url


@pytest.fixture(scope="module")
async def page(gateway_url: str) -> AsyncIterator[Page]:
    """One browser, one page, for the module."""
    if not CHROMIUM.exists():
        pytest.fail(MISSING)
    async with async_playwright() as playwright:
        # --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        context = await chromium.new_context(base_url=gateway_url)
        context.set_default_timeout(TIMEOUT_MS)
        tab = await context.new_page()
        await tab.goto("/simulator")
        # A letter is kept by "▸" or another key here, never by the clock.
        await tab.locator("#simulator").evaluate("phone => phone.dataset.multitapMs = '600000'")
        yield tab
        await chromium.close()


async def type_on_keypad(page: Page, answer: str) -> None:
    """Digits as pressed; letters by multi-tap in the keypad's letter mode."""
    if answer.isdigit():
        for key in answer:
            await page.click(f'button[data-key="{key}"]')
        return
    await page.click("#sim-letters")
    previous = None
    for letter in answer:
        key = next(key for key, letters in KEYS.items() if letter in letters)
        if key == previous:
            await page.click("#sim-next")  # the same key again: keep the letter first
        for _ in range(KEYS[key].index(letter) + 1):
            await page.click(f'button[data-key="{key}"]')
        previous = key
    await page.click("#sim-letters")


async def test_a_whole_household_enrolment_on_the_keypad(
    page: Page, clean: None, db: Session
) -> None:
    screen = page.locator("#sim-screen")
    await page.check('input[name="channel"][value="ussd"]')  # whichever test came first
    await page.fill("#sim-phone", PHONE)
    await page.click("#sim-send")  # dials the short code shown, *384*22#
    await expect(screen).to_contain_text("Choisissez la langue")

    for answer, then in ENROLMENT:
        await type_on_keypad(page, answer)
        await expect(page.locator("#sim-entry")).to_have_value(answer)
        await page.click("#sim-send")
        await expect(screen).to_contain_text(then)
    await expect(screen).to_contain_text("Total: 2575 F/an")  # Jean, 10: 1 000
    await type_on_keypad(page, "1")  # confirm
    await page.click("#sim-send")

    await expect(screen).to_contain_text("Bienvenue!")
    found = re.search(r"membre: (\d{9})", await screen.inner_text())
    assert found, await screen.inner_text()
    member = db.scalars(select(models.Member).where(models.Member.member_no == found[1])).one()
    household = db.get(models.Household, member.household_id)
    assert household is not None and household.phone == PHONE
    assert len(db.scalars(select(models.Member)).all()) == 2


async def test_a_call_to_the_voice_menu_shows_what_would_be_said(
    page: Page, served_app: Starlette, gateway_url: str, clean: None
) -> None:
    await page.check('input[name="channel"][value="voice"]')
    await page.fill("#sim-phone", PHONE)
    routes = served_app.router.routes
    real = [route for route in routes if getattr(route, "path", None) == "/voice"]
    for route in real:
        routes.remove(route)
    try:
        await page.click("#sim-send")
        await expect(page.locator("#sim-screen")).to_have_text(
            "La voix n'est pas disponible sur ce serveur (pas de /voice)."
        )
        voice = ScriptedVoice(AT_TOKEN)
        voice.mount(served_app)
        await walk_the_voice_menu(page, voice, gateway_url)
    finally:
        routes[:] = [route for route in routes if getattr(route, "path", None) != "/voice"]
        routes.extend(real)


async def walk_the_voice_menu(page: Page, voice: ScriptedVoice, gateway_url: str) -> None:
    await page.click("#sim-send")  # calls the voice number shown
    said = page.locator("#sim-transcript")
    await expect(said).to_contain_text(WELCOME)
    await expect(said).to_contain_text("enregistrement : menu_main.mp3")

    await page.click('button[data-key="1"]')  # numDigits=1: sent at once
    await expect(page.locator("#sim-screen")).to_contain_text(ASK_NAME)
    await page.fill("#sim-said", "Houngbo Afi")
    await page.click("#sim-spoken")

    await expect(said).to_contain_text(THANKS)
    await expect(page.locator("#sim-screen")).to_contain_text("Appel terminé.")
    await expect(page.locator("#simulator")).to_have_attribute("data-busy", "false")
    started, pressed, recorded, ended = voice.received
    assert started["isActive"] == "1" and started["callerNumber"] == PHONE
    assert pressed["dtmfDigits"] == "1"
    assert recorded["recordingUrl"].startswith(f"{gateway_url}/simulator/recording.wav?id=")
    assert ended["isActive"] == "0" and int(ended["durationInSeconds"]) >= 0
    assert {form["sessionId"] for form in voice.received} == {started["sessionId"]}
    assert voice.tokens == [AT_TOKEN] * 4
