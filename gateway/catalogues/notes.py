"""What a translator needs beside each French text: where it appears and how long it
may be. Both are derived from the journeys (a tour of every screen in French, with the
longest data), not written by hand, so they follow the journeys as they change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.catalogues.checks import FORMAT_KEYS, SMS_SEGMENTS, sms_words
from gateway.catalogues.installed import SCREENS, SMS
from gateway.catalogues.tour import Tour, tour_everything
from menus import gsm
from menus.screens import CONTINUE
from menus.text import Catalogue, placeholders

TIGHTEST = 160  # several operators cut screens here; 182 leaves more room
_FORMAT_NOTES = {
    "language_name": "the language's own name on the language menu (main.language); "
    "GSM-7 letters only, it shares a screen with the other languages",
    "date_format": "how dates are written (strftime: %d day, %m month, %Y year)",
    "money": "an amount in francs: {amount} is the number in digits only (1575, never "
    "grouped: 1 575 reads as two numbers)",
    "thousands_separator": "no longer used: amounts are written in digits only",
}
_OUTSIDE = "a notice the gateway shows outside the journeys, alone on an END screen"


@dataclass(frozen=True)
class Note:
    where: str
    budget: int | None  # characters of the text itself, its {fields} not counted


def screen_room(encoding: str, navigation: str) -> int:
    """What one line may hold on a page of its own, with the page's navigation line."""
    limit = TIGHTEST if encoding == "gsm7" else TIGHTEST // 2
    return limit - len(CONTINUE) - len(navigation) - 1


def sms_room(encoding: str) -> int:
    most = SMS_SEGMENTS[encoding]
    return gsm.SINGLE[encoding] if most == 1 else most * gsm.PART[encoding]


def _own_length(template: str) -> int:
    """Characters of a text outside its {fields}."""
    return len(template.format_map({name: "" for name in placeholders(template)}))


def notes(screens: Mapping[str, Catalogue], sms: Catalogue, encoding: str) -> dict[str, Note]:
    """A note per `<part>:<key>` of the French catalogues, budgets in `encoding`."""
    french = screens["fr"]
    tour = Tour.of(screens, "fr", TIGHTEST)
    tour_everything(tour)
    shown_on: dict[str, set[str]] = {}
    longest: dict[str, int] = {}
    for shown in tour.shown:
        for key, length in shown.keys.items():
            shown_on.setdefault(key, set()).add(shown.node)
            longest[key] = max(longest.get(key, 0), length)
    room = screen_room(encoding, french.texts["nav_more"])
    found: dict[str, Note] = {}
    for key, text in french.texts.items():
        if key in FORMAT_KEYS:
            found[f"{SCREENS}:{key}"] = Note(_FORMAT_NOTES[key], None)
            continue
        data = max(0, longest.get(key, len(text)) - _own_length(text))
        if key in shown_on:
            nodes = sorted(shown_on[key])
            where = "USSD screen " + ", ".join(nodes[:8])
            where += f" and {len(nodes) - 8} more" if len(nodes) > 8 else ""
            # Where the longest data alone fills the line, the French length is the aim.
            found[f"{SCREENS}:{key}"] = Note(where, max(room - data, _own_length(text)))
        else:
            limit = TIGHTEST if encoding == "gsm7" else TIGHTEST // 2
            found[f"{SCREENS}:{key}"] = Note(_OUTSIDE, limit - len(CONTINUE) - data)
    for key, text in sms.texts.items():
        if key in FORMAT_KEYS:
            found[f"{SMS}:{key}"] = Note(_FORMAT_NOTES[key], None)
            continue
        data = max(0, len(sms_words(sms, key)) - _own_length(text))
        where = f"SMS {key!r}, sent by the gateway"
        found[f"{SMS}:{key}"] = Note(where, sms_room(encoding) - data)
    return found
