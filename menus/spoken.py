"""Screens put into speech: the same journeys and catalogues, heard instead of read.

A voice host builds its `Engine` with a `SpokenRenderer`; every reply is then a list of
phrases (JSON in `state.reply`, read back with `Spoken.loads`) instead of a USSD body:
the notice, the heading, every option ("Pour vos droits, tapez 3.": a call has no pages,
so no 98), then how to answer ("Pour revenir, tapez 0."). Each phrase says what the
caller must do next (`Wants`): one key, several keys then `#`, words (recorded), or
nothing (the call ends).

A phrase can be played from recordings instead of the provider's text-to-speech when
it carries no data: a key without parameters is the recording named after the key; an
option is its label's recording followed by `voice_press_<n>` ("tapez 3"). Anything
else (an amount, a name, a date) has no recording and is spoken by text-to-speech; for
a language the provider cannot speak, in the default language (`Phrase.fallback`).

    {"phrases": [{"text": "Pour vos droits, tapez 3.", "key": "voice_option",
                  "recordings": ["menu_rights", "voice_press_3"], "fallback": null}],
     "end": false, "wants": "key"}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from menus.screens import Rendered, Screen
from menus.text import Catalogue, T, Text

# An answer of one key: a menu of at most this many options (0 is "back").
ONE_KEY_OPTIONS = 9
# What the USSD screens need and a call never says: paging, numbered lines, formats.
NOT_SPOKEN = frozenset(
    {
        "option",
        "nav_back",
        "nav_more",
        "nav_last_page",
        "language_name",
        "date_format",
        "money",
        "thousands_separator",
    }
)
# Composed from other recordings (see `recordings_of`), never recorded whole.
COMPOSED = frozenset({"voice_option", "voice_press"})


class Wants(StrEnum):
    """What the caller is asked for after the phrases."""

    KEY = "key"  # one key: a menu choice
    DIGITS = "digits"  # several keys, then the hash key
    SPEECH = "speech"  # words, recorded
    NOTHING = "nothing"  # the call ends


@dataclass(frozen=True)
class Phrase:
    text: str  # in the session's language
    key: str | None = None  # the catalogue key it says, when it is one
    recordings: tuple[str, ...] = ()  # played in order they say it; () when none can
    fallback: str | None = None  # the default language's words, when the session's differ


@dataclass(frozen=True)
class Spoken:
    phrases: tuple[Phrase, ...]
    end: bool
    wants: Wants

    def dumps(self) -> str:
        return json.dumps(
            {
                "phrases": [
                    {
                        "text": p.text,
                        "key": p.key,
                        "recordings": list(p.recordings),
                        "fallback": p.fallback,
                    }
                    for p in self.phrases
                ],
                "end": self.end,
                "wants": self.wants.value,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, raw: str) -> Spoken:
        data = json.loads(raw)
        phrases = tuple(
            Phrase(
                str(p["text"]),
                p.get("key"),
                tuple(str(r) for r in p.get("recordings") or ()),
                p.get("fallback"),
            )
            for p in data["phrases"]
        )
        return cls(phrases, bool(data["end"]), Wants(data["wants"]))


class SpokenRenderer:
    """An `Engine` renderer (menus.screens.Renderer) for voice hosts. Pure."""

    def __init__(self, catalogues: Mapping[str, Catalogue], default_language: str) -> None:
        self.default = catalogues[default_language]

    def __call__(self, screen: Screen, catalogue: Catalogue, page: int, max_chars: int) -> Rendered:
        spoken = self.speak(screen, catalogue)
        return Rendered(spoken.dumps(), 1, screen.end)

    def speak(self, screen: Screen, catalogue: Catalogue) -> Spoken:
        said: list[Text] = []
        if screen.notice is not None:
            said.append(screen.notice)
        said += screen.heading
        options = [item for item in screen.items if _is_option(item)]
        said += [_spoken_item(item) for item in screen.items]
        wants = _wants(screen, len(options))
        if wants is Wants.SPEECH:
            said.append(T("voice_speak_after_beep"))
        elif wants is Wants.DIGITS:
            said.append(T("voice_then_hash"))
        if screen.can_go_back and wants in (Wants.KEY, Wants.DIGITS):
            said.append(T("voice_nav_back"))
        phrases = tuple(self.phrase(text, catalogue) for text in said)
        return Spoken(phrases, screen.end, wants)

    def phrase(self, text: Text, catalogue: Catalogue) -> Phrase:
        """`text` as a phrase of a call in `catalogue`'s language."""
        words = _one_line(catalogue.render(text))
        if isinstance(text, str):
            return Phrase(words)
        fallback = None
        if catalogue.language != self.default.language and text.key in self.default.texts:
            fallback = _one_line(self.default.render(text))
        return Phrase(words, text.key, recordings_of(text), fallback)


def recordings_of(text: Text) -> tuple[str, ...]:
    """The recordings that say `text` in order, or () when it carries data."""
    if isinstance(text, str):
        return ()
    if not text.params:
        return (text.key,)
    if text.key == "voice_option":
        label, n = text.params.get("label"), text.params.get("n")
        label_recordings = recordings_of(label) if isinstance(label, T) else ()
        if label_recordings and isinstance(n, int) and 0 <= n <= 9:
            return (*label_recordings, press_recording(n))
    return ()


def press_recording(n: int) -> str:
    """The recording of "press <n>" that follows an option's label."""
    press = T("voice_press", {"n": n})
    return f"{press.key}_{n}"


def recording_names(catalogue: Catalogue) -> list[str]:
    """Every recording a call in this catalogue's language may play, sorted."""
    names = {
        key
        for key, template in catalogue.texts.items()
        if key not in NOT_SPOKEN | COMPOSED and "{" not in template
    }
    names |= {press_recording(n) for n in range(10)}
    return sorted(names)


def _is_option(item: Text) -> bool:
    return isinstance(item, T) and item.key == "option"


def _spoken_item(item: Text) -> Text:
    """A numbered option ("3. Mes droits") as a sentence ("Pour Mes droits, tapez 3.")."""
    if isinstance(item, T) and _is_option(item):
        return T("voice_option", item.params)
    return item


def _wants(screen: Screen, options: int) -> Wants:
    if screen.end:
        return Wants.NOTHING
    if screen.spoken:
        return Wants.SPEECH
    if options and options <= ONE_KEY_OPTIONS:
        return Wants.KEY
    if options or not screen.items:  # a long menu, or a question
        return Wants.DIGITS
    return Wants.KEY  # information that waits: 0 goes back


def _one_line(text: str) -> str:
    """Lines of a screen are sentences of a call: no line breaks in speech."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())
