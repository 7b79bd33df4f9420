"""How long a text is on the air: GSM 03.38 (GSM-7) or UCS-2.

Operators count USSD screens and SMS in GSM-7 septets. Characters of the basic table
cost one, those of the extension table (escape + char) cost two; a single character
outside both switches the whole text to UCS-2, where the limit roughly halves.
"""

from __future__ import annotations

import unicodedata

BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = frozenset("^{}\\[~]|€\f")

# Common Latin letters missing from GSM-7, mapped to their nearest GSM-7 form, so that
# French words and people's names keep a screen in GSM-7 instead of halving its room.
_FOLD = {
    "ç": "c",
    "œ": "oe",
    "Œ": "OE",
    "’": "'",
    "‘": "'",
    "«": '"',
    "»": '"',
    "–": "-",
    "—": "-",
    # Letters of Fon, Yoruba and Bariba names
    "ɛ": "e",
    "Ɛ": "E",
    "ɔ": "o",
    "Ɔ": "O",
    "ɖ": "d",
    "Ɖ": "D",
    "ŋ": "n",
    "Ŋ": "N",
}


GSM7 = BASIC | EXTENSION


def is_gsm7(text: str) -> bool:
    return GSM7.issuperset(text)  # one C-level pass: every screen is checked, every hop


def length(text: str) -> int:
    """Units the text occupies: GSM-7 septets, or UTF-16 code units in UCS-2."""
    if is_gsm7(text):
        return len(text) + (
            sum(1 for ch in text if ch in EXTENSION) if EXTENSION & set(text) else 0
        )
    return len(text.encode("utf-16-le")) // 2


def limit_for(text: str, gsm7_limit: int) -> int:
    """The screen limit that applies to this text: UCS-2 halves the room."""
    return gsm7_limit if is_gsm7(text) else gsm7_limit // 2


def fits(text: str, gsm7_limit: int) -> bool:
    return length(text) <= limit_for(text, gsm7_limit)


def fold(text: str) -> str:
    """Bring user-typed text (names) into GSM-7 where a close letter exists."""
    if is_gsm7(text):
        return text
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):  # a separate accent joins its letter first
        if ch in BASIC or ch in EXTENSION:
            out.append(ch)
        elif ch in _FOLD:
            out.append(_FOLD[ch])
        elif unicodedata.category(ch).startswith("M"):
            continue  # an accent with no letter to sit on
        else:
            base = unicodedata.normalize("NFD", ch)[0]
            out.append(base if base in BASIC else "?")
    return "".join(out)


SINGLE = {"gsm7": 160, "ucs2": 70}  # what one SMS holds
PART = {"gsm7": 153, "ucs2": 67}  # what each part of a long SMS holds (the rest is its header)


def encoding_of(text: str) -> str:
    return "gsm7" if is_gsm7(text) else "ucs2"


def segments(text: str) -> int:
    """How many SMS the aggregator sends, and bills, for `text`."""
    encoding = encoding_of(text)
    if length(text) <= SINGLE[encoding]:
        return 1
    # A character never straddles two parts: an escape pair (GSM-7) or a surrogate
    # pair (UCS-2) moves whole to the next part.
    room, used, parts = PART[encoding], 0, 1
    for ch in text:
        cost = (
            (2 if ch in EXTENSION else 1)
            if encoding == "gsm7"
            else len(ch.encode("utf-16-le")) // 2
        )
        if used + cost > room:
            parts, used = parts + 1, 0
        used += cost
    return parts
