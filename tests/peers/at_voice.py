"""A local Africa's Talking Voice: places calls to the gateway's voice callback as the
provider does, and plays the gateway's XML to a scripted caller.

    POST <callback>   form isActive=1, sessionId, direction=Inbound, callerNumber,
                      destinationNumber; after a GetDigits also dtmfDigits, after a
                      Record also recordingUrl; when the call ends isActive=0 with
                      durationInSeconds, currencyCode, amount, hangupCause
    <- 200 application/xml  <Response> of Say, Play, GetDigits, Record, Reject

What the provider does with a reply, the peer does: it refuses a reply that is not a
well-formed `Response` of the documented actions (an invalid reply ends a real call),
fetches every `Play` url (the recording must be there), sends the keys pressed during
the first `GetDigits` to its `callbackUrl` (or the number's callback URL), keeps what a
caller says during a `Record` as a file it serves over HTTP (`recordingUrl`), and plays
on to what follows a question when the caller stays silent.

    provider = AtVoice()
    with serve(provider.app) as url:
        provider.base_url = url
        call = provider.call(http, "http://gateway/voice?token=...", "+2290197000001")
        turn = await call.dial()         # what the caller hears first
        turn = await call.press("3")     # keys during the GetDigits
        turn = await call.speak(b"...")  # words during the Record
        heard = await call.stay_silent() # every prompt again, the goodbye; then hangs up
"""

from __future__ import annotations

import itertools
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

ACTIONS = {"Say", "Play", "GetDigits", "Record", "Reject"}
PROMPTS = {"Say", "Play"}
DESTINATION = "+22921000000"
_sessions = itertools.count(1)


class ProtocolError(AssertionError):
    """The gateway answered something the provider would not play."""


@dataclass
class Turn:
    """One reply of the gateway, as the caller meets it."""

    xml: str
    actions: list[ET.Element]
    heard: list[str]  # said or played before the caller must act (or the whole reply)
    question: ET.Element | None  # the GetDigits or Record the caller answers, if any

    @property
    def ends(self) -> bool:
        return self.question is None

    @property
    def wants(self) -> str | None:
        if self.question is None:
            return None
        return "speech" if self.question.tag == "Record" else "keys"

    @property
    def text(self) -> str:
        return " ".join(self.heard)


@dataclass
class AtVoice:
    """The provider's side: it keeps the recordings it made of callers and serves them."""

    base_url: str = ""
    recordings: dict[str, bytes] = field(default_factory=dict)
    played: list[str] = field(default_factory=list)  # every Play url it fetched
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/recordings/{name}", self._recording)])

    async def _recording(self, request: Request) -> Response:
        with self.lock:
            audio = self.recordings.get(request.path_params["name"])
        if audio is None:
            return PlainTextResponse("not found", status_code=404)
        return Response(audio, media_type="audio/mpeg")

    def keep(self, audio: bytes) -> str:
        """A recording made during a call; its URL, as the callback carries it."""
        with self.lock:
            name = f"ATRec_{len(self.recordings) + 1}.mp3"
            self.recordings[name] = audio
        return f"{self.base_url}/recordings/{name}"

    def call(self, http: httpx.AsyncClient, callback_url: str, caller: str) -> Call:
        return Call(self, http, callback_url, caller)


class Call:
    def __init__(
        self, provider: AtVoice, http: httpx.AsyncClient, callback_url: str, caller: str
    ) -> None:
        self.provider = provider
        self.http = http
        self.callback_url = callback_url  # the number's callback URL, set at the provider
        self.caller = caller
        self.session_id = f"ATVId_test_{next(_sessions)}"
        self.turn: Turn | None = None
        self.seconds = 0

    def form(self, **extra: str) -> dict[str, str]:
        return {
            "isActive": "1",
            "sessionId": self.session_id,
            "direction": "Inbound",
            "callerNumber": self.caller,
            "destinationNumber": DESTINATION,
            **extra,
        }

    async def dial(self) -> Turn:
        return await self._post(self.callback_url, self.form())

    async def press(self, keys: str) -> Turn:
        """Keys pressed during the question's GetDigits (without the finishing key)."""
        question = self._question("GetDigits")
        digits = question.get("numDigits")
        if digits is not None and len(keys) != int(digits):
            raise AssertionError(f"this GetDigits takes {digits} key(s), not {keys!r}")
        return await self._post(self._url(question), self.form(dtmfDigits=keys))

    async def speak(self, audio: bytes) -> Turn:
        """Words said during the question's Record: the provider keeps the recording."""
        question = self._question("Record")
        url = self.provider.keep(audio)
        return await self._post(self._url(question), self.form(recordingUrl=url))

    async def stay_silent(self) -> list[str]:
        """Nothing pressed nor said: the provider plays the reply to its end (every
        question times out), then hangs up. Everything heard, in order."""
        assert self.turn is not None, "no reply yet"
        heard: list[str] = []
        for action in self.turn.actions:
            if action.tag in PROMPTS:
                heard.append(await self._hear(action))
            elif action.tag in ("GetDigits", "Record"):
                heard += [await self._hear(prompt) for prompt in action]
        await self.hang_up("NO_ANSWER")
        return heard

    async def hang_up(self, cause: str = "NORMAL_CLEARING") -> None:
        """The call ends: the provider tells the gateway and expects no reply."""
        response = await self.http.post(
            self.callback_url,
            data={
                "isActive": "0",
                "sessionId": self.session_id,
                "callerNumber": self.caller,
                "durationInSeconds": str(self.seconds),
                "currencyCode": "XOF",
                "amount": "12.5",
                "hangupCause": cause,
            },
        )
        if response.status_code != 200:
            raise ProtocolError(f"the end of a call got {response.status_code}")

    def _question(self, tag: str) -> ET.Element:
        if self.turn is None or self.turn.question is None:
            raise AssertionError("the gateway asked nothing: the call has ended")
        if self.turn.question.tag != tag:
            raise AssertionError(f"the gateway asks with {self.turn.question.tag}, not {tag}")
        return self.turn.question

    def _url(self, question: ET.Element) -> str:
        return question.get("callbackUrl") or self.callback_url

    async def _post(self, url: str, form: dict[str, str]) -> Turn:
        response = await self.http.post(url, data=form)
        self.seconds += 5
        if response.status_code != 200:
            raise ProtocolError(f"callback answered {response.status_code}: {response.text}")
        if not response.headers.get("content-type", "").startswith("application/xml"):
            raise ProtocolError(f"not XML: {response.headers.get('content-type')}")
        self.turn = await self._read(response.text)
        return self.turn

    async def _read(self, body: str) -> Turn:
        try:
            root = ET.fromstring(body)
        except ET.ParseError as error:
            raise ProtocolError(f"invalid XML ends the call: {error}: {body!r}") from None
        if root.tag != "Response":
            raise ProtocolError(f"the root is {root.tag}, not Response")
        actions = list(root)
        for action in actions:
            _check(action)
        question = next((a for a in actions if a.tag in ("GetDigits", "Record")), None)
        heard: list[str] = []
        if question is None:
            heard = [await self._hear(a) for a in actions if a.tag in PROMPTS]
        else:
            for action in actions[: actions.index(question)]:
                if action.tag in PROMPTS:
                    heard.append(await self._hear(action))
            heard += [await self._hear(prompt) for prompt in question]
        return Turn(body, actions, heard, question)

    async def _hear(self, prompt: ET.Element) -> str:
        """A Say's words, or a Play's recording (fetched, as the provider does): its
        `language/name` as heard text."""
        if prompt.tag == "Say":
            return prompt.text or ""
        url = prompt.get("url", "")
        response = await self.http.get(url)
        if response.status_code != 200 or not response.content:
            raise ProtocolError(f"Play {url}: {response.status_code}")
        self.provider.played.append(url)
        path = urlsplit(url).path.removesuffix(".mp3").split("/")
        return f"[{path[-2]}/{path[-1]}]"


def _check(action: ET.Element) -> None:
    if action.tag not in ACTIONS:
        raise ProtocolError(f"unknown action {action.tag}")
    if action.tag == "Play" and not action.get("url", "").startswith(("http://", "https://")):
        raise ProtocolError("Play needs an absolute url")
    if action.tag == "Say" and action.get("voice") not in (None, "man", "woman"):
        raise ProtocolError(f"Say voice {action.get('voice')!r}")
    if action.tag in ("GetDigits", "Record"):
        for child in action:
            if child.tag not in PROMPTS:
                raise ProtocolError(f"{action.tag} holds {child.tag}")
        url = action.get("callbackUrl")
        if url is not None and not url.startswith(("http://", "https://")):
            raise ProtocolError(f"callbackUrl {url!r}")
        for number in ("timeout", "numDigits", "maxLength"):
            value = action.get(number)
            if value is not None and not value.isdigit():
                raise ProtocolError(f"{number}={value!r}")
