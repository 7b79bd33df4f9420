"""Africa's Talking Voice: the callback a call posts, and the XML we answer with.

Each callback is a form-encoded POST (`isActive`, `sessionId`, `callerNumber`,
`destinationNumber`, `direction`; after a `GetDigits` also `dtmfDigits`, after a
`Record` also `recordingUrl`; when the call ends `isActive=0` with `durationInSeconds`,
`hangupCause`...). The reply is `application/xml`, a `Response` of actions played in
order: `Say`, `Play`, `GetDigits` (a `Say`/`Play` inside; what follows it plays when
nothing is pressed), `Record`, `Reject`. An invalid reply ends the call, so replies are
built with xml.etree, never by pasting strings.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

MAX_BODY = 8192  # a real callback is a few hundred bytes
MAX_FIELD = 2048  # a recording's URL is the longest field
MAX_SESSION_ID = 100  # it names the enrolment request (households.request_key)
MAX_NUMBER = 32
CONTENT_TYPE = "application/xml"


@dataclass(frozen=True)
class Callback:
    """One callback of a call, as posted."""

    active: bool
    session_id: str
    caller_number: str
    destination_number: str = ""
    direction: str = ""
    dtmf_digits: str | None = None  # None: not a GetDigits callback
    recording_url: str | None = None  # None: not a Record callback
    duration_seconds: int | None = None
    hangup_cause: str = ""


def parse_callback(body: bytes) -> Callback | None:
    """The callback in a request body; None when nothing usable is in it (too big, no
    session, no caller, an `isActive` that is neither 0 nor 1)."""
    if len(body) > MAX_BODY:
        return None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return None
    fields = {name: value.strip() for name, value in pairs}
    if any(len(value) > MAX_FIELD for value in fields.values()):
        return None
    active = fields.get("isActive", "")
    session_id, caller = fields.get("sessionId", ""), fields.get("callerNumber", "")
    if active not in ("0", "1") or not 0 < len(session_id) <= MAX_SESSION_ID:
        return None
    if not 0 < len(caller) <= MAX_NUMBER:
        return None
    duration = fields.get("durationInSeconds", "")
    return Callback(
        active=active == "1",
        session_id=session_id,
        caller_number=caller,
        destination_number=fields.get("destinationNumber", ""),
        direction=fields.get("direction", ""),
        dtmf_digits=fields.get("dtmfDigits"),
        recording_url=fields.get("recordingUrl") or None,
        duration_seconds=int(duration) if duration.isascii() and duration.isdigit() else None,
        hangup_cause=fields.get("hangupCause", ""),
    )


# -- the reply ------------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    text: str
    voice: str | None = None  # "man" or "woman"


@dataclass(frozen=True)
class Play:
    url: str


Prompt = Say | Play


@dataclass(frozen=True)
class GetDigits:
    prompts: Sequence[Prompt]
    callback_url: str | None = None  # None: the number's own callback URL
    timeout: int = 15
    finish_on_key: str = "#"
    num_digits: int | None = None  # None: until finish_on_key


@dataclass(frozen=True)
class Record:
    prompts: Sequence[Prompt]
    callback_url: str | None = None
    finish_on_key: str = "#"
    max_length: int = 10
    trim_silence: bool = True
    play_beep: bool = True


@dataclass(frozen=True)
class Reject:
    pass


Action = Say | Play | GetDigits | Record | Reject


def response(actions: Sequence[Action]) -> str:
    """The XML document for `actions`: always well formed, whatever the texts hold."""
    root = ET.Element("Response")
    for action in actions:
        _add(root, action)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _add(parent: ET.Element, action: Action) -> None:
    if isinstance(action, Say):
        element = ET.SubElement(parent, "Say")
        if action.voice:
            element.set("voice", action.voice)
        element.text = _speakable(action.text)
    elif isinstance(action, Play):
        ET.SubElement(parent, "Play", url=_speakable(action.url))
    elif isinstance(action, GetDigits):
        element = ET.SubElement(
            parent, "GetDigits", timeout=str(action.timeout), finishOnKey=action.finish_on_key
        )
        if action.num_digits is not None:
            element.set("numDigits", str(action.num_digits))
        if action.callback_url:
            element.set("callbackUrl", action.callback_url)
        for prompt in action.prompts:
            _add(element, prompt)
    elif isinstance(action, Record):
        element = ET.SubElement(
            parent,
            "Record",
            finishOnKey=action.finish_on_key,
            maxLength=str(action.max_length),
            trimSilence=_flag(action.trim_silence),
            playBeep=_flag(action.play_beep),
        )
        if action.callback_url:
            element.set("callbackUrl", action.callback_url)
        for prompt in action.prompts:
            _add(element, prompt)
    else:
        ET.SubElement(parent, "Reject")


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _speakable(text: str) -> str:
    """XML 1.0 cannot carry most control characters, escaped or not: drop them."""
    return "".join(
        ch for ch in text if (ch in "\t\n\r" or ord(ch) >= 0x20) and ch not in "\ufffe\uffff"
    )
