"""Drafts are not offered to callers unless DRAFT_LANGUAGES names them: through the
real /ussd endpoint, and in the one function every channel asks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from redis import Redis
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.catalogues import installed
from gateway.catalogues.offer import offered
from gateway.settings import Settings
from menus import gsm
from menus.text import Catalogue
from tests.catalogues.toned import CODE, NAME, toned_texts
from tests.conftest import Clock

SCREENS = installed.shipped(installed.SCREENS)
SMS = installed.shipped(installed.SMS)
HOP = {"serviceCode": "*384*22#", "phoneNumber": "+2290197000931", "networkCode": "61603"}


def test_reviewed_languages_and_the_default_are_offered_drafts_only_when_enabled() -> None:
    draft = Catalogue(CODE, toned_texts(SCREENS["fr"], _status="draft"))
    reviewed = Catalogue("qab", toned_texts(SCREENS["fr"], _status="reviewed"))
    unmarked = Catalogue("qac", toned_texts(SCREENS["fr"]))  # no _status: a draft
    every = {**SCREENS, CODE: draft, "qab": reviewed, "qac": unmarked}
    assert list(offered(every, "fr")) == ["fr", "en", "qab"]
    assert list(offered(every, "en", drafts={CODE})) == ["en", "fr", "qaa", "qab"]
    assert list(offered({"fr": SCREENS["fr"], CODE: draft}, CODE)) == [CODE, "fr"]


@pytest.fixture(scope="module")
def catalogues_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("catalogues")
    for part, french in (("screens", SCREENS["fr"]), ("sms", SMS["fr"])):
        (folder / part).mkdir()
        texts = toned_texts(french, _status="draft")
        (folder / part / f"{CODE}.json").write_text(json.dumps(texts), "utf-8")
    return folder


async def _gateway(settings: Settings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    app: Starlette = create_app(settings, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
            yield http


async def hop(http: httpx.AsyncClient, session: str, text: str) -> str:
    response = await http.post("/ussd", data={**HOP, "sessionId": session, "text": text})
    assert response.status_code == 200
    return response.text


async def test_a_draft_is_not_on_the_language_menu(
    settings: Settings, clock: Clock, clean: None, catalogues_dir: Path
) -> None:
    async for http in _gateway(replace(settings, catalogues_dir=catalogues_dir), clock):
        first = await hop(http, "ATUid_draft_1", "")
        assert first == "CON Choisissez la langue / Choose the language\n1. Francais\n2. English"
        assert NAME not in first
        assert (await hop(http, "ATUid_draft_1", "3")).startswith(
            "CON Tapez le numéro d'un choix, ex: 1"
        )


async def test_a_draft_enabled_by_the_operator_is_offered_and_shown_in_ucs2(
    settings: Settings, clock: Clock, clean: None, catalogues_dir: Path
) -> None:
    enabled = replace(settings, catalogues_dir=catalogues_dir, draft_languages=frozenset({CODE}))
    async for http in _gateway(enabled, clock):
        first = await hop(http, "ATUid_draft_2", "")
        assert first.endswith(f"\n3. {NAME}")
        home = await hop(http, "ATUid_draft_2", "3")
        assert "ɔ" in home and not gsm.is_gsm7(home)
        assert gsm.fits(home, settings.ussd_max_chars)
        assert home.endswith("98 Suitɛ 0 Rɛtɔur")  # the menu paged for UCS-2's 80


async def test_a_dropped_session_in_a_language_no_longer_offered_resumes_in_the_default(
    settings: Settings, clock: Clock, clean: None, catalogues_dir: Path, redis_url: str
) -> None:
    # kept while the draft was enabled; the gateway has restarted without it since
    snapshot = {"node": "enrol.head_name", "language": CODE, "data": {}, "cursor": {}, "back": []}
    redis = Redis.from_url(redis_url)
    redis.set(f"ussd:{{{HOP['phoneNumber']}}}:resume", json.dumps(snapshot))
    redis.close()
    async for http in _gateway(replace(settings, catalogues_dir=catalogues_dir), clock):
        offer = await hop(http, "ATUid_draft_3", "")
        assert offer.startswith("CON ") and gsm.is_gsm7(offer), offer
        assert await hop(http, "ATUid_draft_3", "1") == (
            "CON Chef de ménage: nom puis prénom(s)\nEx: HOUNGBO Afi"
        )


async def test_a_dropped_call_in_a_language_no_longer_offered_resumes_in_the_default(
    settings: Settings, clock: Clock, clean: None, catalogues_dir: Path, redis_url: str
) -> None:
    """The same on a call: both channels open a session through one MenuHost.opening."""
    phone = "+2290197000932"
    snapshot = {"node": "enrol.head_name", "language": CODE, "data": {}, "cursor": {}, "back": []}
    redis = Redis.from_url(redis_url)
    redis.set(f"voice:{{{phone}}}:resume", json.dumps(snapshot))
    redis.close()
    call = {"isActive": "1", "sessionId": "ATVId_draft_4", "callerNumber": phone}
    async for http in _gateway(replace(settings, catalogues_dir=catalogues_dir), clock):
        offer = await http.post("/voice", data=call)
        assert offer.status_code == 200 and "<GetDigits" in offer.text, offer.text
        assert "indisponible" not in offer.text and "ɔ" not in offer.text
        resumed = await http.post("/voice", data={**call, "dtmfDigits": "1"})
        assert "Chef de ménage" in resumed.text and "<Record" in resumed.text, resumed.text
