"""menus/spoken.py and gateway/voice/speech.py: a screen put into phrases, phrases put
into recordings or text-to-speech, and `alafia voice prompts`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gateway import cli
from gateway.settings import Settings
from gateway.voice.prompts import Prompts
from gateway.voice.speech import Speech
from menus.screens import Screen
from menus.spoken import Phrase, Spoken, SpokenRenderer, Wants, recording_names, recordings_of
from menus.text import Catalogue, Money, T, load_catalogues

CATALOGUES = load_catalogues()
FR = CATALOGUES["fr"]
# A language the provider cannot speak, as a mutual would add it (the words are French
# marked as such: no invented translation).
FON = Catalogue("fon", {key: f"(fon) {text}" for key, text in FR.texts.items()})
RENDERER = SpokenRenderer({**CATALOGUES, "fon": FON}, "fr")


def option(n: int, label: T | str) -> T:
    return T("option", {"n": n, "label": label})


def test_a_menu_is_said_whole_with_its_options_and_back() -> None:
    screen = Screen(
        (T("home_title"),),
        tuple(option(n, T("menu_my_rights")) for n in range(1, 12)),
        can_go_back=True,
        notice=T("error_choose_number"),
    )
    spoken = RENDERER.speak(screen, FR)
    texts = [p.text for p in spoken.phrases]
    assert texts[:3] == [
        "Tapez le numéro d'un choix, ex: 1",
        "Mutuelle de santé",
        "Pour Mes droits, tapez 1.",
    ]
    assert texts[-3:] == [
        "Pour Mes droits, tapez 11.",  # no paging on a call: every option is said
        "Tapez votre réponse puis la touche dièse.",  # 11 needs two keys, then #
        "Pour revenir, tapez 0.",
    ]
    assert spoken.wants is Wants.DIGITS and not spoken.end
    assert spoken.phrases[2].recordings == ("menu_my_rights", "voice_press_1")
    assert spoken.phrases[-3].recordings == ()  # "11" is not a recorded key
    assert all(p.fallback is None for p in spoken.phrases)  # French is the default


@pytest.mark.parametrize(
    ("screen", "wants", "last"),
    [
        (
            Screen((T("home_title"),), (option(1, "Francais"),)),
            Wants.KEY,
            "Pour Francais, tapez 1.",
        ),
        (Screen((T("ask_member_no"),)), Wants.DIGITS, "Tapez votre réponse puis la touche dièse."),
        (
            Screen((T("ask_member_no"),), spoken=True, can_go_back=True),
            Wants.SPEECH,
            "Dites votre réponse après le bip, puis tapez dièse.",
        ),
        (Screen((), (T("error_too_many"),), end=True, can_go_back=True), Wants.NOTHING, None),
        (Screen((), ("ligne 1",), can_go_back=True), Wants.KEY, "Pour revenir, tapez 0."),
    ],
    ids=["menu", "question", "spoken question", "end", "information that waits"],
)
def test_what_the_caller_is_asked_for(screen: Screen, wants: Wants, last: str | None) -> None:
    spoken = RENDERER.speak(screen, FR)
    assert spoken.wants is wants
    if last is not None:
        assert spoken.phrases[-1].text == last
    assert spoken.end is (wants is Wants.NOTHING)


def test_the_rendered_body_is_json_that_reads_back() -> None:
    screen = Screen((T("amount_due", {"amount": Money(4725)}), "Rose\nKoffi"), ())
    rendered = RENDERER(screen, FON, 3, 160)
    assert rendered.pages == 1 and not rendered.end
    spoken = Spoken.loads(rendered.body)
    assert spoken == RENDERER.speak(screen, FON)
    due, names = spoken.phrases[0], spoken.phrases[1]
    assert due.key == "amount_due" and due.recordings == ()  # it carries an amount
    assert due.fallback == "Reste à payer: 4725 F"
    assert names == Phrase("Rose Koffi")  # data, one line, no key


def test_recordings_are_for_phrases_without_data() -> None:
    assert recordings_of(T("home_title")) == ("home_title",)
    assert recordings_of(T("voice_option", {"n": 3, "label": T("menu_my_rights")})) == (
        "menu_my_rights",
        "voice_press_3",
    )
    assert recordings_of(T("voice_option", {"n": 2, "label": "English"})) == ()
    assert recordings_of(T("coverage_status", {"status": T("status_active")})) == ()
    assert recordings_of("Rose") == ()
    names = recording_names(FR)
    assert {"home_title", "menu_my_rights", "voice_press_0", "voice_press_9"} <= set(names)
    assert not {"option", "nav_more", "voice_option", "voice_press", "amount_due"} & set(names)


def speech(prompts: Path, number: str | None = "21 30 00 00") -> Speech:
    return Speech(
        RENDERER,
        {**CATALOGUES, "fon": FON},
        "fr",
        Prompts(prompts, "https://prompts.example/p"),
        callback_url="https://gw.example/voice?token=t",
        tts_languages=("fr", "en"),
        voice="man",
        digits_timeout=12,
        record_seconds=8,
        callback_number=number,
    )


def test_a_local_language_plays_its_recordings_and_falls_back_to_french(tmp_path: Path) -> None:
    (tmp_path / "fon").mkdir()
    for name in ("home_title", "menu_my_rights", "voice_press_1"):
        (tmp_path / "fon" / f"{name}.mp3").write_bytes(b"ID3")
    screen = Screen(
        (T("home_title"),), (option(1, T("menu_my_rights")), option(2, T("menu_check_member")))
    )
    root = ET.fromstring(speech(tmp_path).reply(RENDERER.speak(screen, FON), "fon"))
    first = root[0]
    assert first.tag == "GetDigits" and first.get("numDigits") == "1"
    assert first.get("timeout") == "12"
    assert [(e.tag, e.get("url") or e.text) for e in first] == [
        ("Play", "https://prompts.example/p/fon/home_title.mp3"),
        ("Play", "https://prompts.example/p/fon/menu_my_rights.mp3"),
        ("Play", "https://prompts.example/p/fon/voice_press_1.mp3"),
        # not recorded in Fon, which the provider cannot speak: French words
        ("Say", "Pour Vérifier un numéro, tapez 2."),
    ]
    assert [e.tag for e in root] == ["GetDigits", "GetDigits", "GetDigits", "Say"]
    assert root[1][0].text == "Nous n'avons pas entendu votre réponse."
    assert root[3].text == "Nous n'avons pas eu de réponse. Rappelez le 21 30 00 00. Au revoir."
    assert root[3].get("voice") == "man"


def test_french_is_said_by_the_provider_where_nothing_is_recorded(tmp_path: Path) -> None:
    screen = Screen((T("ask_member_no"),), spoken=True)
    root = ET.fromstring(speech(tmp_path, None).reply(RENDERER.speak(screen, FR), "fr"))
    assert [e.tag for e in root] == ["Record", "Record", "Record", "Say"]
    assert root[0].get("maxLength") == "8"
    assert [e.text for e in root[0]] == [
        "Numéro de membre (9 chiffres):",
        "Dites votre réponse après le bip, puis tapez dièse.",
    ]
    assert root[3].text == "Nous n'avons pas eu de réponse. Merci de rappeler. Au revoir."


def test_voice_prompts_lists_what_is_missing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("VOICE_PROMPTS_DIR", str(tmp_path))
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "home_title.mp3").write_bytes(b"ID3")
    assert cli.main(["voice", "prompts", "--language", "en"]) == 0
    out, err = capsys.readouterr()
    listed = out.split()
    assert "en/menu_my_rights.mp3" in listed and "en/voice_press_3.mp3" in listed
    assert "en/home_title.mp3" not in listed
    assert listed == sorted(listed)
    assert f"{len(listed)} recordings missing in {tmp_path / 'en'}" in err
    assert cli.main(["voice", "prompts", "--language", "xx"]) == 2
    assert "no catalogue 'xx'" in capsys.readouterr().err
