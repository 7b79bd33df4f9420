"""A test-only language written with letters outside GSM-7 (ɔ, ɛ, tone marks).

Not a translation of anything: the French texts with their o and e written ɔ and ɛ and
their é written ɛ́ (ɛ and a combining acute accent), so that every text needs UCS-2 as
Fon, Yoruba or Mooré would. Its code is from ISO 639's range for local use.
"""

from __future__ import annotations

import re

from gateway.catalogues.checks import FORMAT_KEYS
from menus.text import Catalogue

CODE = "qaa"
NAME = "Essai"


def toned(text: str) -> str:
    parts = re.split(r"(\{[^}]*\})", text)  # the {fields} stay as they are
    return "".join(
        part
        if part.startswith("{")
        else part.replace("é", "ɛ\u0301").replace("o", "ɔ").replace("e", "ɛ")
        for part in parts
    )


def toned_texts(french: Catalogue, **meta: str) -> dict[str, str]:
    texts = {k: v if k in FORMAT_KEYS else toned(v) for k, v in french.texts.items()}
    if "language_name" in texts:
        texts["language_name"] = NAME
    return {**meta, **texts}


def toned_catalogue(french: Catalogue, **meta: str) -> Catalogue:
    return Catalogue(CODE, toned_texts(french, **meta))
