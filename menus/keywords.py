"""What an incoming SMS asks for: `DROITS 100000011`, `aide`, `Stop`...

People type keywords in capitals or not, with or without accents, with the member
number spaced as on their card. Each keyword belongs to a language, so the reply
comes in the language the person wrote in.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

RIGHTS = "rights"
HELP = "help"
STOP = "stop"
START = "start"
VERIFY = "verify"  # a health facility's desk checks a patient
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
    "VERIF": (VERIFY, "fr"),
    "VERIFIER": (VERIFY, "fr"),
    "VERIFY": (VERIFY, "en"),
    "REPRISE": (START, "fr"),
}


# The keyword is the first run of letters: people glue the member number to it with
# punctuation or nothing at all ("DROITS:100000011", "droits100000011").
_KEYWORD = re.compile(r"\W*([A-Z]+)\W*(.*)", re.DOTALL)


@dataclass(frozen=True)
class Request:
    kind: str  # rights, help, stop, start, unknown
    language: str | None
    argument: str  # what follows the keyword, e.g. the member number as typed


def read(text: str) -> Request:
    found = _KEYWORD.match(_plain(text))
    if found is None:
        return Request(UNKNOWN, None, "")
    word, rest = found.groups()
    kind, language = KEYWORDS.get(word, (UNKNOWN, None))
    return Request(kind, language, rest.strip())


def _plain(text: str) -> str:
    """Upper case, accents off: "Arrêt" and "ARRET" are one keyword."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper().strip()
