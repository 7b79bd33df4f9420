"""Translatable texts and the per-language catalogues that hold them.

A journey never holds a sentence: it names a catalogue key and its parameters, and the
screen is put into words at the last moment, in the session's language.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any, Union

from menus.identifiers import local_phone


@dataclass(frozen=True)
class T:
    """A catalogue key with its parameters; a parameter may itself be a `T`."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Money:
    """An amount in whole francs (XOF has no minor unit): "1575 F", never grouped."""

    amount: int


@dataclass(frozen=True)
class Phone:
    """A phone number (E.164) shown the way people write it: "01 97 00 01 02"."""

    number: str


# Parameters that hold a phone number wherever a text names one, on a screen or in an
# SMS (whose values come back from JSON as plain strings): shown like `Phone`.
PHONE_PARAMS = frozenset({"phone", "payer"})


# A literal is data that needs no translation: a name, a member number.
Text = Union[T, str]  # noqa: UP007 - runtime alias used in isinstance-free code


# Keys starting with this are about the catalogue, not texts to show: `_status`
# (`draft` until a speaker has reviewed it), `_reviewed_by`, `_encoding` (`gsm7` when the
# language is written folded into GSM-7, `ucs2` when it keeps letters such as ɔ and ɛ).
META = "_"
DRAFT, REVIEWED = "draft", "reviewed"


class Catalogue:
    """The texts of one language. Missing keys fail loudly in tests, not on a phone."""

    def __init__(self, language: str, texts: Mapping[str, str]) -> None:
        self.language = language
        self.texts = {k: v for k, v in texts.items() if not k.startswith(META)}
        self.meta = {k: v for k, v in texts.items() if k.startswith(META)}

    @property
    def reviewed(self) -> bool:
        """A speaker has read it: only then is it offered to callers by default."""
        return self.meta.get("_status") == REVIEWED

    def render(self, text: Text) -> str:
        if isinstance(text, str):
            return text
        template = self.texts[text.key]
        if not text.params:
            return template
        return template.format_map({k: self._value(k, v) for k, v in text.params.items()})

    def _value(self, name: str, value: Any) -> Any:
        if isinstance(value, T):
            return self.render(value)
        if isinstance(value, Money):
            return self.money(value.amount)
        if isinstance(value, Phone):
            return local_phone(value.number)
        if name in PHONE_PARAMS and isinstance(value, str) and value.startswith("+"):
            return local_phone(value)
        if isinstance(value, date):
            return value.strftime(self.texts.get("date_format", "%d/%m/%Y"))
        return value

    def money(self, amount: int) -> str:
        # Digits only: "1 575" is read as one and 575, "1,575" as one and a half.
        return self.texts["money"].format(amount=amount)


def placeholders(template: str) -> set[str]:
    """The `{fields}` of a text; ValueError when its braces do not pair."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def load_catalogues(package: str = "menus", folder: str = "catalogues") -> dict[str, Catalogue]:
    """Every `<folder>/<lang>.json` shipped with `package` (the menus' screens by default,
    the SMS templates too): a new language is a file."""
    found: dict[str, Catalogue] = {}
    entries = sorted(resources.files(package).joinpath(folder).iterdir(), key=lambda e: e.name)
    for entry in entries:
        if entry.name.endswith(".json"):
            language = entry.name.removesuffix(".json")
            found[language] = Catalogue(language, json.loads(entry.read_text("utf-8")))
    return found
