"""POST /voice under abuse and at its edges: the end of a call, refused and unusable
callbacks, repeats, recorded answers, Redis or the database down, the prompt files."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from redis import Redis
from starlette.applications import Starlette

from adapters.voice.africastalking import parse_callback
from db.sessions import Loaded
from gateway.enrolment.service import EnrolmentService
from gateway.voice.capability import Voice
from menus import recorded
from menus.context import MenuContext
from menus.engine import Engine
from menus.journeys import all_journeys, main
from menus.nodes import Ask, Entry, Invalid, Journey, Say
from menus.state import SessionState
from menus.text import T, Text
from tests.metrics.scraping import Scrape, scrape
from tests.peers.at_voice import Call
from tests.support.gateway import part
from tests.support.households import enrol_household
from tests.voice.conftest import VoiceGateway

CALLER = "+2290197000851"
FIRST = {
    "isActive": "1",
    "sessionId": "ATVId_edge_1",
    "direction": "Inbound",
    "callerNumber": CALLER,
    "destinationNumber": "+22921000000",
}
BAD_REQUEST = "Demande incomplète. Merci de rappeler."
UNAVAILABLE = "Service momentanément indisponible. Merci de réessayer plus tard."


def said(body: str) -> list[str]:
    """Every Say of a reply, anywhere in it; the reply must be a valid Response."""
    root = ET.fromstring(body)
    assert root.tag == "Response"
    return [element.text or "" for element in root.iter("Say")]


async def test_the_end_of_a_call_drops_its_session(
    phone: Callable[[str], Call], redis_url: str
) -> None:
    call = phone(CALLER)
    await call.dial()
    redis = Redis.from_url(redis_url)
    try:
        assert redis.keys(f"voice:*:s:{call.session_id}") != []
        await call.hang_up()  # 200 with an empty body, checked by the provider
        assert redis.keys(f"voice:*:s:{call.session_id}") == []
        assert redis.keys("ussd:*") == []  # a call never writes a USSD session
    finally:
        redis.close()


async def test_the_end_of_a_call_gets_an_empty_200(
    voice_gateway: VoiceGateway, http: httpx.AsyncClient
) -> None:
    response = await http.post(voice_gateway.voice_url, data={**FIRST, "isActive": "0"})
    assert (response.status_code, response.content) == (200, b"")


async def test_a_callback_without_the_token_is_refused_in_words(
    voice_gateway: VoiceGateway, http: httpx.AsyncClient
) -> None:
    for url in (f"{voice_gateway.base_url}/voice", f"{voice_gateway.base_url}/voice?token=x"):
        response = await http.post(url, data=FIRST)
        assert response.status_code == 401
        assert response.headers["x-refused"] == "missing or wrong token"
        assert said(response.text) == [BAD_REQUEST]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe\x00garbage",
        b"isActive=1&callerNumber=%2B2290197000851",
        b"isActive=1&sessionId=ATVId_x",
        b"isActive=7&sessionId=ATVId_x&callerNumber=%2B2290197000851",
        b"isActive=1&sessionId=ATVId_x&callerNumber=not+a+number",
        b"isActive=1&sessionId=" + b"x" * 200 + b"&callerNumber=%2B2290197000851",
        b"isActive=1&sessionId=ATVId_x&callerNumber=%2B229&dtmfDigits=" + b"9" * 60_000,
    ],
    ids=[
        "empty",
        "not text",
        "no session",
        "no caller",
        "odd isActive",
        "garbage number",
        "long session",
        "huge",
    ],
)
async def test_unusable_callbacks_get_a_valid_spoken_reply(
    voice_gateway: VoiceGateway, http: httpx.AsyncClient, body: bytes
) -> None:
    response = await http.post(
        voice_gateway.voice_url,
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert said(response.text) == [BAD_REQUEST]


async def test_callbacks_without_an_answer_say_the_question_again(
    phone: Callable[[str], Call], voice_gateway: VoiceGateway, http: httpx.AsyncClient
) -> None:
    call = phone(CALLER)
    first = await call.dial()
    assert (await call.dial()).heard == first.heard  # the provider posted the first again
    url = voice_gateway.provider.keep(b"words")  # a recording for a keypad question
    response = await http.post(voice_gateway.voice_url, data=call.form(recordingUrl=url))
    assert said(response.text)[: len(first.heard)] == first.heard


async def test_keys_no_phone_can_press_are_a_wrong_answer(phone: Callable[[str], Call]) -> None:
    call = phone(CALLER)
    await call.dial()
    turn = await call.press("x")
    assert turn.heard[0] == "Tapez le numéro d'un choix, ex: 1"
    assert (await call.press("<")).heard[0] == turn.heard[0]
    ended = await call.press("&")  # three wrong answers end the call, as on USSD
    assert ended.ends and ended.heard == [
        "Trop de réponses invalides. Merci de rappeler plus tard."
    ]


def delta(after: Scrape, before: Scrape, name: str, **labels: str) -> float:
    return after.total(name, **labels) - before.total(name, **labels)


async def test_turns_are_counted_by_journey_and_result(
    voice_gateway: VoiceGateway, phone: Callable[[str], Call], http: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(base_url=voice_gateway.base_url) as metrics:
        before = await scrape(metrics)
        call = phone(CALLER)
        await call.dial()  # the language menu
        await call.press("1")  # the main menu
        await http.post(f"{voice_gateway.base_url}/voice", data=FIRST)  # no token
        await http.post(voice_gateway.voice_url, content=b"isActive=1")  # unreadable
        after = await scrape(metrics)
    turns = "alafia_voice_turns_total"
    assert delta(after, before, turns, journey="main", result="answered") == 2
    assert delta(after, before, turns, journey="none", result="refused") == 2
    assert delta(after, before, turns) == 4


async def test_a_callback_that_loses_the_race_says_what_the_winner_stored(
    app: Starlette, clean: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another callback of the call is stored while this one is between its read and its
    write: this one's answer is dropped, and it says what the stored session says."""
    service = part(app, Voice).service
    first = parse_callback(urlencode(FIRST).encode())
    french = parse_callback(urlencode({**FIRST, "dtmfDigits": "1"}).encode())
    english = parse_callback(urlencode({**FIRST, "dtmfDigits": "2"}).encode())
    assert first is not None and french is not None and english is not None
    await service.answer(first)  # the language menu
    store, read = service.store, service.store.load
    winners: list[str] = []

    async def read_then_lose(session_id: str, phone: str) -> Loaded:
        loaded = await read(session_id, phone)
        monkeypatch.setattr(store, "load", read)
        winners.append(await service.answer(english))  # stored first
        return loaded

    monkeypatch.setattr(store, "load", read_then_lose)
    late = await service.answer(french)
    assert winners == [late]
    assert said(late)[0] == "Health mutual"  # the English menu, not the French one
    state = SessionState.loads((await store.load(FIRST["sessionId"], CALLER)).state or "")
    assert (state.node, state.language) == ("main.home", "en")


# -- an answer a keypad cannot type -----------------------------------------------


def _recording(answer: str, ctx: MenuContext, state: SessionState) -> str:
    recording = recorded.recording_of(answer)
    if recording is None:
        raise Invalid(T("error_choose_number"))
    return recording


def _heard_back(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    return [state.data["recording"]]


# A question asked by voice with words for an answer, like a name.
SPOKEN = Journey(
    name="note",
    entry=Entry(T("menu_check_member"), number=7),  # a number no journey of the day has
    nodes=(
        Ask(
            "words",
            prompt=[T("ask_member_no")],
            parse=_recording,
            save="recording",
            next="done",
            spoken=True,
        ),
        Say("done", lines=_heard_back),
    ),
)


@pytest.fixture
def spoken_question(voice_gateway: VoiceGateway) -> Iterator[None]:
    """The running gateway's voice engine with one more journey, whose question wants
    words: the journeys of the day have none yet."""
    service = part(voice_gateway.app, Voice).service
    journeys = all_journeys()
    offered, agent = journeys[1:-1], journeys[-1]
    engine = service.engine
    service.engine = Engine(
        [main.build([SPOKEN, *offered]), SPOKEN, *offered, agent],
        engine.catalogues,
        renderer=engine.renderer,
    )
    yield
    service.engine = engine


async def test_a_spoken_question_records_the_caller(
    spoken_question: None,
    phone: Callable[[str], Call],
    voice_gateway: VoiceGateway,
    enrolment: EnrolmentService,
) -> None:
    await enrol_household(enrolment, CALLER, persons=1)
    call = phone(CALLER)
    await call.dial()
    turn = await call.press("7")
    assert turn.wants == "speech"
    assert turn.heard == [
        "Numéro de membre (9 chiffres):",
        "Dites votre réponse après le bip, puis tapez dièse.",
    ]
    assert turn.question is not None
    assert turn.question.attrib == {
        "finishOnKey": "#",
        "maxLength": "10",
        "trimSilence": "true",
        "playBeep": "true",
        "callbackUrl": f"{voice_gateway.voice_url}",
    }
    done = await call.speak(b"Koffi ADJOVI")
    # The journey got the provider's recordingUrl as the answer (menus.recorded).
    url = done.heard[0]
    assert done.ends and url.startswith(f"{voice_gateway.provider.base_url}/recordings/")
    assert voice_gateway.provider.recordings[url.rsplit("/", 1)[1]] == b"Koffi ADJOVI"


async def test_silence_on_a_spoken_question(
    spoken_question: None, phone: Callable[[str], Call], enrolment: EnrolmentService
) -> None:
    await enrol_household(enrolment, CALLER, persons=1)
    call = phone(CALLER)
    await call.dial()
    await call.press("7")
    heard = await call.stay_silent()
    assert heard.count("Dites votre réponse après le bip, puis tapez dièse.") == 3
    assert heard[-1] == "Nous n'avons pas eu de réponse. Rappelez le 21 30 00 00. Au revoir."


# -- Redis or the database down ---------------------------------------------------


async def test_redis_down_is_said(without_redis: httpx.AsyncClient) -> None:
    response = await without_redis.post("/voice", data=FIRST)
    assert response.status_code == 200
    assert said(response.text) == [UNAVAILABLE]
    ended = await without_redis.post("/voice", data={**FIRST, "isActive": "0"})
    assert (ended.status_code, ended.content) == (200, b"")


async def test_the_database_down_is_said(without_database: httpx.AsyncClient) -> None:
    response = await without_database.post("/voice", data=FIRST)
    assert response.status_code == 200
    assert said(response.text) == [UNAVAILABLE]


# -- the recorded prompts ---------------------------------------------------------


async def test_the_gateway_serves_its_prompts(
    voice_gateway: VoiceGateway, http: httpx.AsyncClient
) -> None:
    file: Path = voice_gateway.prompts / "fr" / "home_title.mp3"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(b"ID3 home")
    try:
        base = f"{voice_gateway.base_url}/voice/prompts"
        found = await http.get(f"{base}/fr/home_title.mp3")
        assert (found.status_code, found.content) == (200, b"ID3 home")
        assert found.headers["content-type"] == "audio/mpeg"
        for missing in ("fr/menu_my_rights.mp3", "fr/home_title.wav", "..%2F..%2Fx/y.mp3"):
            assert (await http.get(f"{base}/{missing}")).status_code == 404, missing
    finally:
        file.unlink()
