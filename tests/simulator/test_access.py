"""The simulator over HTTP: who may use it (the demo: anyone on 127.0.0.1; production:
signed-in staff, their CSRF token, training numbers only), and what it forwards (the
aggregator's own form to the real `/ussd`, Africa's Talking's voice callbacks to
`/voice`, each with its secret added on the server)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from db.values import StaffRole
from gateway.settings import ConfigError, Settings, SimulatorSettings
from gateway.simulator.capability import STATIC, Simulator
from gateway.simulator.pages import PAGE_TEXTS
from gateway.staff.language import catalogue
from tests.conftest import Clock
from tests.simulator.conftest import (
    AT_NETWORK,
    AT_TOKEN,
    TRAINING_PHONE,
    TRAINING_PREFIX,
    gateway_settings,
    running,
)
from tests.simulator.voice_peer import WELCOME, ScriptedVoice
from tests.staff.web import logged_in
from tests.support.gateway import part

LANGUAGE_SCREEN = "Choisissez la langue"


@pytest.fixture(scope="module")
async def demo_app(
    database_url: str, redis_url: str, clock: Clock, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Starlette]:
    settings = gateway_settings(database_url, redis_url, tmp_path_factory.mktemp("demo"), demo=True)
    async with running(settings, clock) as app:
        yield app


@pytest.fixture(scope="module")
async def production_app(
    database_url: str, redis_url: str, clock: Clock, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Starlette]:
    """As `alafia serve` with a training range, and /ussd open only to AT's network."""
    settings = gateway_settings(
        database_url,
        redis_url,
        tmp_path_factory.mktemp("production"),
        demo=False,
        SIMULATOR_PHONE_PREFIX=TRAINING_PREFIX,
        CALLBACK_ALLOW_NETWORKS=AT_NETWORK,
    )
    async with running(settings, clock) as app:
        yield app


def browser(app: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 40000))
    return httpx.AsyncClient(transport=transport, base_url="https://gateway.test")


@pytest.fixture
async def demo(demo_app: Starlette, clean: None) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(demo_app) as web:
        yield web


@pytest.fixture
async def production(production_app: Starlette, clean: None) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(production_app) as web:
        yield web


def hop(text: str = "", phone: str = TRAINING_PHONE, csrf: str = "", **more: str) -> dict[str, str]:
    return {
        "session": "0123456789abcdef",
        "phoneNumber": phone,
        "code": "*384*22#",
        "text": text,
        "csrf": csrf,
        **more,
    }


async def test_the_demo_serves_the_page_and_the_phone_without_a_login(
    demo: httpx.AsyncClient,
) -> None:
    page = await demo.get("/simulator")
    assert page.status_code == 200
    assert '<script src="/simulator/static/simulator.js"' in page.text
    assert "Simulateur de téléphone" in page.text and "+2290197000001" in page.text
    assert "Phone simulator" in (await demo.get("/simulator?lang=en")).text
    for asset in ("simulator.js", "simulator.css"):
        assert (await demo.get(f"/simulator/static/{asset}")).status_code == 200

    # Any number in the demo, typed as people type it.
    first = await demo.post("/simulator/ussd", data=hop(phone="97000001"))
    assert first.status_code == 200 and first.text.startswith("CON ")
    assert LANGUAGE_SCREEN in first.text
    # The answers so far, joined by `*` as Africa's Talking sends them.
    await demo.post("/simulator/ussd", data=hop("1", phone="97000001"))
    mutuals = await demo.post("/simulator/ussd", data=hop("1*1", phone="97000001"))
    assert "Mutuelle de santé de Parakou" in mutuals.text


async def test_a_form_from_another_site_is_refused(demo: httpx.AsyncClient) -> None:
    answer = await demo.post(
        "/simulator/ussd", data=hop(), headers={"Origin": "https://evil.example"}
    )
    assert answer.status_code == 403 and "autre site" in answer.text


async def test_fields_the_aggregator_would_not_send_are_refused(demo: httpx.AsyncClient) -> None:
    for changed, name in (
        ({"session": "../../x"}, "session"),
        ({"code": "*384*22"}, "code"),
        ({"phoneNumber": "12"}, None),
    ):
        answer = await demo.post("/simulator/ussd", data={**hop(), **changed})
        assert answer.status_code == 400, changed
        assert (name or "numéro") in answer.text


async def test_production_asks_staff_to_log_in_and_comes_back(
    production: httpx.AsyncClient, production_app: Starlette
) -> None:
    page = await production.get("/simulator")
    assert page.status_code == 303
    assert page.headers["location"] == "/admin/login?next=/simulator"
    refused = await production.post("/simulator/ussd", data=hop())
    assert refused.status_code == 401 and "reconnectez-vous" in refused.text

    await logged_in(production, production_app, StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    login = await production.get("/admin/login?next=/simulator")
    assert login.headers["location"] == "/simulator"  # the login leads back here
    page = await production.get("/simulator")
    assert page.status_code == 200
    assert TRAINING_PREFIX in page.text  # the rule, said on the page
    assert re.search(r'id="sim-phone" value="\+22901990\d+"', page.text)
    assert 'href="/simulator"' in (await production.get("/admin")).text  # in the menu bar


async def test_production_wants_the_csrf_token_and_a_training_number(
    production: httpx.AsyncClient, production_app: Starlette
) -> None:
    viewer = await logged_in(production, production_app, StaffRole.VIEWER, "ZS-PARAKOU")
    read_only = await production.post("/simulator/ussd", data=hop(csrf=viewer))
    assert read_only.status_code == 403 and "lecture seule" in read_only.text

    csrf = await logged_in(production, production_app, StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    stale = await production.post("/simulator/ussd", data=hop(csrf="not-the-token"))
    assert stale.status_code == 403 and "jeton" in stale.text
    real_phone = await production.post(
        "/simulator/ussd", data=hop(phone="+2290197000101", csrf=csrf)
    )
    assert real_phone.status_code == 403
    assert f"commençant par {TRAINING_PREFIX}" in real_phone.text

    # The real /ussd answers: it asks for its token and AT's network, which the
    # simulator's in-process request carries.
    answer = await production.post("/simulator/ussd", data=hop(csrf=csrf))
    assert answer.status_code == 200 and LANGUAGE_SCREEN in answer.text
    direct = await production.post(
        "/ussd", data={"sessionId": "x", "phoneNumber": TRAINING_PHONE, "text": ""}
    )
    assert direct.status_code == 403  # without them, refused


async def test_production_without_a_training_range_is_off(
    production: httpx.AsyncClient, production_app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = part(production_app, Simulator).pages
    monkeypatch.setattr(pages, "simulator", replace(pages.simulator, phone_prefix=None))
    csrf = await logged_in(production, production_app, StaffRole.CENTRAL_ADMIN, None)

    page = await production.get("/simulator")
    assert page.status_code == 403 and "SIMULATOR_PHONE_PREFIX" in page.text
    assert 'id="simulator"' not in page.text
    answer = await production.post("/simulator/ussd", data=hop(csrf=csrf))
    assert answer.status_code == 403 and "SIMULATOR_PHONE_PREFIX" in answer.text


async def test_voice_callbacks_go_to_voice_with_the_at_token(
    production: httpx.AsyncClient, production_app: Starlette
) -> None:
    peer = ScriptedVoice(AT_TOKEN)
    peer.mount(production_app)
    try:
        csrf = await logged_in(production, production_app, StaffRole.CENTRAL_ADMIN, None)
        call = {"session": "00ff00ff00ff00ff", "phoneNumber": TRAINING_PHONE, "csrf": csrf}
        call["number"] = "+22921000000"
        first = await production.post("/simulator/voice", data={**call, "isActive": "1"})
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("application/xml")
        assert WELCOME in first.text
        await production.post("/simulator/voice", data={**call, "isActive": "1", "digits": "1"})
        await production.post(
            "/simulator/voice",
            data={**call, "isActive": "1", "recorded": "1", "recordingUrl": "http://evil/"},
        )
        await production.post("/simulator/voice", data={**call, "isActive": "0", "duration": "7"})
    finally:
        production_app.router.routes.remove(production_app.router.routes[0])

    assert peer.tokens == [AT_TOKEN] * 4
    started, pressed, recorded, ended = peer.received
    assert started == {
        "isActive": "1",
        "sessionId": "ATVId_sim_00ff00ff00ff00ff",
        "direction": "Inbound",
        "callerNumber": TRAINING_PHONE,
        "destinationNumber": "+22921000000",
    }
    assert pressed["dtmfDigits"] == "1" and pressed["sessionId"] == started["sessionId"]
    # The recording is the simulator's own, whatever the browser names.
    url = recorded["recordingUrl"]
    assert url.startswith("https://gateway.test/simulator/recording.wav?id=")
    assert ended["isActive"] == "0" and ended["durationInSeconds"] == "7"
    assert ended["hangupCause"] == "NORMAL_CLEARING" and "dtmfDigits" not in ended

    wav = await production.get(url.removeprefix("https://gateway.test"))  # no login needed
    production.cookies.clear()
    assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
    assert wav.content[:4] == b"RIFF" and wav.content[8:12] == b"WAVE"


async def test_without_a_voice_channel_the_page_is_told_404(
    demo: httpx.AsyncClient, demo_app: Starlette
) -> None:
    """Where /voice is not served the page says voice is not available."""
    routes = demo_app.router.routes
    voice = [route for route in routes if getattr(route, "path", None) == "/voice"]
    for route in voice:
        routes.remove(route)
    try:
        call = {"session": "00ff00ff00ff00aa", "phoneNumber": "97000001", "number": "3322"}
        answer = await demo.post("/simulator/voice", data={**call, "isActive": "1"})
    finally:
        routes.extend(voice)
    assert answer.status_code == 404


async def test_a_channel_that_fails_gives_the_page_a_500_not_a_crash(
    demo: httpx.AsyncClient, demo_app: Starlette
) -> None:
    async def broken(request: Request) -> Response:
        raise RuntimeError("the voice host fell over")

    demo_app.router.routes.insert(0, Route("/voice", broken, methods=["POST"]))
    try:
        call = {"session": "00ff00ff00ff00bb", "phoneNumber": "97000001", "number": "3322"}
        answer = await demo.post("/simulator/voice", data={**call, "isActive": "1"})
    finally:
        demo_app.router.routes.pop(0)
    assert answer.status_code == 500


def test_every_text_the_script_writes_is_in_both_catalogues() -> None:
    script = (STATIC / "simulator.js").read_text(encoding="utf-8")
    assert set(re.findall(r"texts\.(\w+)", script)) == set(PAGE_TEXTS)
    for lang in ("fr", "en"):
        assert all(f"simulator.js.{name}" in catalogue(lang) for name in PAGE_TEXTS), lang


def test_the_training_range_is_read_and_checked() -> None:
    assert Settings.from_env({}).simulator == SimulatorSettings(phone_prefix=None)
    spaced = Settings.from_env({"SIMULATOR_PHONE_PREFIX": " +229 01 990 "}).simulator
    assert spaced.phone_prefix == "+22901990"
    assert spaced.admits("+2290199000101") and not spaced.admits("+2290197000101")
    for wrong in ("22901990", "+229", "+22901990x"):
        with pytest.raises(ConfigError, match="SIMULATOR_PHONE_PREFIX"):
            Settings.from_env({"SIMULATOR_PHONE_PREFIX": wrong})


async def test_the_voice_mode_reaches_the_real_voice_channel(demo: httpx.AsyncClient) -> None:
    """No scripted peer here: the simulator's call goes to the gateway's own `/voice`."""
    call = {"session": "00ff00ff00ff00cc", "phoneNumber": "97000077", "number": "+22921000000"}
    first = await demo.post("/simulator/voice", data={**call, "isActive": "1"})
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/xml")
    assert "Pour Francais, tapez 1." in first.text and "<GetDigits" in first.text  # a new phone
    menu = await demo.post("/simulator/voice", data={**call, "isActive": "1", "digits": "1"})
    assert "Pour Vérifier un numéro, tapez 4." in menu.text  # the same number for everyone
    check = await demo.post("/simulator/voice", data={**call, "isActive": "1", "digits": "4"})
    assert "Numéro de membre (9 chiffres):" in check.text and 'finishOnKey="#"' in check.text
    ended = await demo.post("/simulator/voice", data={**call, "isActive": "0", "duration": "9"})
    assert ended.status_code == 200
