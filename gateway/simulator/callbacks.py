"""The forms the simulator posts for the page, built here from a few checked fields: the
page names the phone, the session and what was typed; the aggregator's field names, the
session id's shape and the recording's URL are ours, never the browser's.

    ussd_form(Dialled(...))   -> sessionId, serviceCode, phoneNumber, networkCode, text
    voice_form(Called(...))   -> isActive, sessionId, direction, callerNumber, ... as AT posts
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.datastructures import FormData

SESSION = re.compile(r"[0-9a-f]{8,32}")  # the page's random session, in hex
SHORT_CODE = re.compile(r"\*[0-9*]{1,20}#")
VOICE_NUMBER = re.compile(r"\+?[0-9]{3,15}")
DIGITS = re.compile(r"[0-9*#]{0,40}")
MAX_TEXT = 1000  # every answer of a long session, joined by `*`
NETWORK_CODE = "99999"  # Africa's Talking's sandbox: no real operator


class BadForm(ValueError):
    """A field the simulator cannot send; the message names it."""


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def session_of(form: FormData) -> str:
    session = field(form, "session")
    if not SESSION.fullmatch(session):
        raise BadForm("session")
    return session


@dataclass(frozen=True)
class Dialled:
    """One USSD hop: the phone, its session, the short code and every answer so far."""

    session: str
    phone: str  # E.164, as the aggregator sends it
    code: str
    text: str

    @classmethod
    def read(cls, form: FormData, phone: str) -> Dialled:
        code, text = field(form, "code"), form.get("text")
        if not SHORT_CODE.fullmatch(code):
            raise BadForm("code")
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise BadForm("text")
        return cls(session_of(form), phone, code, text)

    def form(self) -> dict[str, str]:
        return {
            "sessionId": f"ATUid_sim_{self.session}",
            "serviceCode": self.code,
            "phoneNumber": self.phone,
            "networkCode": NETWORK_CODE,
            "text": self.text,
        }


@dataclass(frozen=True)
class Called:
    """One voice callback: a call going on (with the keys pressed or a recording), or its end."""

    session: str
    phone: str
    number: str  # the number called
    active: bool
    digits: str | None
    recording_url: str | None
    duration: int

    @classmethod
    def read(cls, form: FormData, phone: str, recording_url: str) -> Called:
        number, digits = field(form, "number"), form.get("digits")
        if not VOICE_NUMBER.fullmatch(number):
            raise BadForm("number")
        if digits is not None and not (isinstance(digits, str) and DIGITS.fullmatch(digits)):
            raise BadForm("digits")
        duration = field(form, "duration") or "0"
        if not duration.isdigit() or int(duration) > 86_400:
            raise BadForm("duration")
        return cls(
            session_of(form),
            phone,
            number,
            field(form, "isActive") != "0",
            digits,
            recording_url if field(form, "recorded") == "1" else None,
            int(duration),
        )

    def form(self) -> dict[str, str]:
        sent = {
            "isActive": "1" if self.active else "0",
            "sessionId": f"ATVId_sim_{self.session}",
            "direction": "Inbound",
            "callerNumber": self.phone,
            "destinationNumber": self.number,
        }
        if not self.active:  # the call's end, as AT reports it (a simulated call costs nothing)
            return {
                **sent,
                "durationInSeconds": str(self.duration),
                "currencyCode": "XOF",
                "amount": "0",
                "hangupCause": "NORMAL_CLEARING",
            }
        if self.digits is not None:
            sent["dtmfDigits"] = self.digits
        if self.recording_url is not None:
            sent["recordingUrl"] = self.recording_url
        return sent
