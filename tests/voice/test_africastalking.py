"""adapters/voice/africastalking.py: the callback form read, the XML reply written."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest

from adapters.voice.africastalking import (
    Callback,
    GetDigits,
    Play,
    Record,
    Reject,
    Say,
    parse_callback,
    response,
)


def form(**fields: str) -> bytes:
    return urlencode(fields).encode()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            form(
                isActive="1",
                sessionId="ATVId_5d1c9e2b7a",
                direction="Inbound",
                callerNumber="+2290197123456",
                destinationNumber="+22921000000",
            ),
            Callback(True, "ATVId_5d1c9e2b7a", "+2290197123456", "+22921000000", "Inbound"),
        ),
        (
            form(isActive="1", sessionId="s", callerNumber="+229", dtmfDigits="3"),
            Callback(True, "s", "+229", dtmf_digits="3"),
        ),
        (
            form(isActive="1", sessionId="s", callerNumber="+229", dtmfDigits=""),
            Callback(True, "s", "+229", dtmf_digits=""),
        ),
        (
            form(isActive="1", sessionId="s", callerNumber="+229", recordingUrl="https://r/1.mp3"),
            Callback(True, "s", "+229", recording_url="https://r/1.mp3"),
        ),
        (
            form(
                isActive="0",
                sessionId="s",
                callerNumber="+229",
                durationInSeconds="42",
                currencyCode="XOF",
                amount="12.5",
                hangupCause="NORMAL_CLEARING",
            ),
            Callback(False, "s", "+229", duration_seconds=42, hangup_cause="NORMAL_CLEARING"),
        ),
        (
            form(isActive="0", sessionId="s", callerNumber="+229", durationInSeconds="-4"),
            Callback(False, "s", "+229"),
        ),
    ],
    ids=["first", "digits", "only the finishing key", "recording", "hang-up", "odd duration"],
)
def test_callbacks_as_posted(body: bytes, expected: Callback) -> None:
    assert parse_callback(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe",
        form(isActive="1", callerNumber="+229"),
        form(isActive="1", sessionId="s"),
        form(isActive="yes", sessionId="s", callerNumber="+229"),
        form(isActive="1", sessionId="s" * 101, callerNumber="+229"),
        form(isActive="1", sessionId="s", callerNumber="+229" + "1" * 40),
        form(isActive="1", sessionId="s", callerNumber="+229", recordingUrl="h" * 3000),
        b"x" * 9000,
    ],
)
def test_nothing_usable_is_none(body: bytes) -> None:
    assert parse_callback(body) is None


def test_a_reply_is_valid_xml_whatever_the_words() -> None:
    words = 'Koffi & "Adjovi" <b> l\'ami \x00\x07\ufffe, 5 < 6 ]]>'
    body = response(
        [
            GetDigits(
                [Say(words, "woman"), Play("https://p.example/fr/a.mp3?x=1&y=<2>")],
                "https://gw.example/voice?token=a&b=c",
                timeout=20,
                num_digits=1,
            ),
            Say("Au revoir."),
        ]
    )
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Response>')
    root = ET.fromstring(body)
    digits, goodbye = list(root)
    assert digits.attrib == {
        "timeout": "20",
        "finishOnKey": "#",
        "numDigits": "1",
        "callbackUrl": "https://gw.example/voice?token=a&b=c",
    }
    say, play = list(digits)
    assert (say.text, say.get("voice")) == ('Koffi & "Adjovi" <b> l\'ami , 5 < 6 ]]>', "woman")
    assert play.get("url") == "https://p.example/fr/a.mp3?x=1&y=<2>"
    assert (goodbye.tag, goodbye.text, goodbye.get("voice")) == ("Say", "Au revoir.", None)


def test_record_and_reject() -> None:
    root = ET.fromstring(
        response(
            [
                Record([Say("Votre nom?")], "https://gw/voice", max_length=12, play_beep=False),
                Record([Play("https://p/x.mp3")]),
                Reject(),
            ]
        )
    )
    named, bare, reject = list(root)
    assert named.attrib == {
        "finishOnKey": "#",
        "maxLength": "12",
        "trimSilence": "true",
        "playBeep": "false",
        "callbackUrl": "https://gw/voice",
    }
    assert "callbackUrl" not in bare.attrib and bare[0].tag == "Play"
    assert reject.tag == "Reject" and len(reject) == 0


def test_a_question_without_a_fixed_length_waits_for_the_hash_key() -> None:
    digits = ET.fromstring(response([GetDigits([Say("Numéro?")])]))[0]
    assert "numDigits" not in digits.attrib and digits.get("finishOnKey") == "#"
    assert "callbackUrl" not in digits.attrib  # the number's own callback URL then
