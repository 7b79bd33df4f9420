"""What an incoming SMS asks for: `DROITS 100000011`, `aide`, `Stop`...

People type keywords in capitals or not, with or without accents, with the member
number spaced as on their card. Each keyword belongs to a language, so the reply
comes in the language the person wrote in.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

RIGHTS = "rights"
HELP = "help"
STOP = "stop"
START = "start"
UNKNOWN = "unknown"

# keyword -> (what it asks, the language it is written in; None: the sender's own)
KEYWORDS: dict[str, tuple[str, str | None]] = {
    "DROITS": (RIGHTS, "fr"),
    "DROIT": (RIGHTS, "fr"),
    "STATUT": (RIGHTS, "fr"),
    "STATUS": (RIGHTS, "en"),
    "RIGHTS": (RIGHTS, "en"),
    "AIDE": (HELP, "fr"),
    "HELP": (HELP, "en"),
    "STOP": (STOP, None),
    "ARRET": (STOP, "fr"),
    "START": (START, None),
    "REPRISE": (START, "fr"),
}


@dataclass(frozen=True)
class Request:
    kind: str  # rights, help, stop, start, unknown
    language: str | None
    argument: str  # what follows the keyword, e.g. the member number as typed


def read(text: str) -> Request:
    words = _plain(text).split(maxsplit=1)
    if not words:
        return Request(UNKNOWN, None, "")
    kind, language = KEYWORDS.get(words[0].strip(".,;:!?"), (UNKNOWN, None))
    return Request(kind, language, words[1].strip() if len(words) > 1 else "")


def _plain(text: str) -> str:
    """Upper case, accents off: "Arrêt" and "ARRET" are one keyword."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper().strip()
