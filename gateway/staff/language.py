"""The dashboard's languages: French (the default) and English.

Texts live in JSON catalogues per language: `gateway/staff/i18n/<lang>.json` and one per
group of pages, `gateway/staff/i18n/<group>/<lang>.json`; each is a flat map of dotted
keys to strings with `{name}` placeholders, and a key may be defined only once. Templates
call the Jinja global `t` with a key and its parameters; Python code calls
`translate(lang, key, ...)`.

The language comes from `?lang=` (which also sets the `alafia_lang` cookie, see
`gateway.staff.pages.render`), then that cookie, then French. A page of another part
adds its keys to these same catalogues, prefixed with the part's name (`stats.`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from starlette.requests import Request

LANGUAGES = ("fr", "en")
DEFAULT = "fr"
COOKIE = "alafia_lang"
_CATALOGUES = Path(__file__).parent / "i18n"


@cache
def catalogue(lang: str) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in [_CATALOGUES / f"{lang}.json", *sorted(_CATALOGUES.glob(f"*/{lang}.json"))]:
        with path.open(encoding="utf-8") as file:
            part: dict[str, str] = json.load(file)
        twice = sorted(texts.keys() & part.keys())
        if twice:
            raise ValueError(f"{path}: {', '.join(twice)} already defined in another catalogue")
        texts.update(part)
    return texts


def translate(lang: str, key: str, **params: Any) -> str:
    """The text of `key`, in French when this language lacks it, the key itself when no
    catalogue has it (a visible mistake rather than a blank on the page)."""
    text = catalogue(lang).get(key) or catalogue(DEFAULT).get(key) or key
    return text.format(**params) if params else text


def asked_language(request: Request) -> str | None:
    """A language named in the query string, when it is one we have."""
    lang = request.query_params.get("lang")
    return lang if lang in LANGUAGES else None


def language_of(request: Request) -> str:
    lang = asked_language(request) or request.cookies.get(COOKIE)
    return lang if lang in LANGUAGES else DEFAULT
