"""What makes a catalogue fit to be offered, and every problem that keeps one from it.

A catalogue is judged against French, the source: the same keys, the same `{fields}`
in each text, and, for the USSD screens, every page of every screen of every journey
fitting the operator's limit unclipped with the longest data (tour.py), at both limits
operators use (160 and 182). An SMS text must stay within its budget of segments with
the longest values. Every problem is listed; none stops the others being found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.catalogues.installed import (
    PARTS,
    SCREENS,
    SMS,
    SOURCE_LANGUAGE,
    installed_files,
    read,
    readable,
    shipped,
)
from gateway.catalogues.tour import Tour, TourLost, tour_everything
from gateway.catalogues.worst_case import SMS_VALUES
from menus import gsm
from menus.journeys import all_journeys
from menus.nodes import Ask, Menu, Say
from menus.text import DRAFT, REVIEWED, Catalogue, Money, T, placeholders

LIMITS = (160, 182)  # what operators cut screens at (USSD_MAX_CHARS takes only these)
# Keys the Catalogue itself reads to format values, not named by any journey.
FORMAT_KEYS = frozenset({"language_name", "date_format", "money", "thousands_separator"})
# How many SMS one text may cost: one in GSM-7; a text that needs UCS-2 (70 a segment)
# may take three, which is what folding into GSM-7 saves.
SMS_SEGMENTS = {"gsm7": 1, "ucs2": 3}
# Texts that list every member of a household: twice the budget, the list cut to fit it
# by gateway/sms/enrolment.py (checked here with six members of the longest names).
MEMBER_LISTS = frozenset(
    {"enrolled", "enrolled_paid", "enrolled_sponsored", "enrolled_members_more"}
)
ENCODINGS = ("gsm7", "ucs2")
_MONEY = frozenset({"amount", "amount_due"})
# Text problems that would stop the tour of the screens: it is not run on them.
BLOCKING = ("fields differ", "braces do not pair")


@dataclass(frozen=True, order=True)
class Problem:
    language: str
    part: str  # screens or sms
    key: str  # the catalogue key, or "" for the catalogue as a whole
    what: str

    def __str__(self) -> str:
        where = f"{self.language} {self.part}" + (f" {self.key}" if self.key else "")
        return f"{where}: {self.what}"


def check_texts(source: Catalogue, catalogue: Catalogue, part: str) -> list[Problem]:
    """Keys, fields, metadata and spelling of one catalogue against the French one."""
    language = catalogue.language
    problems = [
        Problem(language, part, key, "missing")
        for key in sorted(set(source.texts) - set(catalogue.texts))
    ]
    problems += [
        Problem(language, part, key, "unknown key (not in the French catalogue)")
        for key in sorted(set(catalogue.texts) - set(source.texts))
    ]
    for key in sorted(set(source.texts) & set(catalogue.texts)):
        text = catalogue.texts[key]
        if key == "thousands_separator":
            if len(text) != 1:
                problems.append(Problem(language, part, key, "must be one character"))
            continue
        if not text.strip():
            problems.append(Problem(language, part, key, "empty"))
            continue
        if text != text.strip():
            problems.append(Problem(language, part, key, "stray spaces around the text"))
        try:
            fields = placeholders(text)
        except ValueError as error:
            problems.append(Problem(language, part, key, f"braces do not pair: {error}"))
            continue
        wanted = placeholders(source.texts[key])
        if fields != wanted:
            problems.append(Problem(language, part, key, _fields_differ(wanted, fields)))
    if part == SCREENS and not gsm.is_gsm7(catalogue.texts.get("language_name", "")):
        # Every language's own name is on the one language screen, whatever its script.
        problems.append(Problem(language, part, "language_name", "must be in GSM-7 letters"))
    return problems + _check_meta(catalogue, part)


def _fields_differ(wanted: set[str], found: set[str]) -> str:
    said = []
    if wanted - found:
        said.append("lacks " + ", ".join(f"{{{f}}}" for f in sorted(wanted - found)))
    if found - wanted:
        said.append("has unknown " + ", ".join(f"{{{f}}}" for f in sorted(found - wanted)))
    return "fields differ from French: " + "; ".join(said)


def _check_meta(catalogue: Catalogue, part: str) -> list[Problem]:
    language, meta = catalogue.language, catalogue.meta
    problems = []
    if meta.get("_status", DRAFT) not in (DRAFT, REVIEWED):
        problems.append(Problem(language, part, "_status", f"is {DRAFT} or {REVIEWED}"))
    if catalogue.reviewed and not meta.get("_reviewed_by") and language not in shipped(part):
        problems.append(Problem(language, part, "_reviewed_by", "reviewed, but by whom?"))
    encoding = meta.get("_encoding")
    if encoding is not None and encoding not in ENCODINGS:
        problems.append(Problem(language, part, "_encoding", f"is one of {ENCODINGS}"))
    if encoding == "gsm7":
        for key, text in sorted(catalogue.texts.items()):
            if not gsm.is_gsm7(text):
                outside = "".join(sorted({ch for ch in text if not gsm.is_gsm7(ch)}))
                problems.append(Problem(language, part, key, f"not GSM-7: {outside!r}"))
    return problems


def screen_nodes() -> set[str]:
    return {
        f"{journey.name}.{node.id}"
        for journey in all_journeys()
        for node in journey.nodes
        if isinstance(node, Menu | Ask | Say)  # the kinds that show a screen
    }


def check_screens(catalogues: Mapping[str, Catalogue], language: str) -> list[Problem]:
    """Every page of every screen of every journey, in `language`, at both limits:
    within the limit and unclipped. `catalogues` are those on the language menu."""
    problems: list[Problem] = []
    for limit in LIMITS:
        tour = Tour.of(catalogues, language, limit)
        try:
            tour_everything(tour)
        except (TourLost, KeyError, ValueError, IndexError) as error:
            what = f"the tour of every screen stopped at {limit} characters: {error!r}"
            return [*problems, Problem(language, SCREENS, "", what)]
        unseen = screen_nodes() - {shown.node for shown in tour.shown}
        if unseen:
            what = f"the tour no longer reaches {', '.join(sorted(unseen))}"
            problems.append(Problem(language, SCREENS, "", what))
        reported: set[str] = set()
        for shown in tour.shown:
            for number, page in enumerate(shown.pages, start=1):
                if shown.node in reported or (gsm.fits(page.body, limit) and not page.clipped):
                    continue
                reported.add(shown.node)
                keys = ", ".join(sorted(shown.keys))
                what = (
                    f"screen {shown.node} does not fit {limit} characters "
                    f"({gsm.encoding_of(page.body).upper()}) with the longest data, "
                    f"page {number}: {page.body!r} (keys on it: {keys})"
                )
                problems.append(Problem(language, SCREENS, "", what))
    return problems


def sms_words(catalogue: Catalogue, key: str) -> str:
    """A template worded with the longest values it meets, as gateway/sms/texts.py does."""
    values = {
        name: Money(int(value)) if name in _MONEY else value for name, value in SMS_VALUES.items()
    }
    return catalogue.render(T(key, {**values, "ussd_code": "*384*22#"}))


def check_sms(catalogue: Catalogue) -> list[Problem]:
    problems = []
    for key in sorted(set(catalogue.texts) - FORMAT_KEYS):
        try:
            words = sms_words(catalogue, key)
        except (KeyError, ValueError, IndexError):
            continue  # its fields are reported by check_texts
        encoding = gsm.encoding_of(words)
        cost, most = gsm.segments(words), SMS_SEGMENTS[encoding]
        if key in MEMBER_LISTS:
            most *= 2
        if cost > most:
            what = (
                f"{cost} SMS ({encoding.upper()}, {gsm.length(words)} characters) with the "
                f"longest values, {most} at most: {words!r}"
            )
            problems.append(Problem(catalogue.language, SMS, key, what))
    return problems


def check_language(
    screens: Mapping[str, Catalogue], sms: Mapping[str, Catalogue], language: str
) -> list[Problem]:
    """Every problem of one language, its screens and its SMS texts, against French.
    `screens` holds the catalogues on the language menu (the language's among them)."""
    problems: list[Problem] = []
    if language in screens:
        text_problems = check_texts(screens[SOURCE_LANGUAGE], screens[language], SCREENS)
        problems += text_problems
        if not any(p.what == "missing" or p.what.startswith(BLOCKING) for p in text_problems):
            problems += check_screens(screens, language)
    else:
        problems.append(Problem(language, SCREENS, "", "no catalogue of USSD screens"))
    if language in sms:
        problems += check_texts(sms[SOURCE_LANGUAGE], sms[language], SMS)
        problems += check_sms(sms[language])
    else:
        problems.append(Problem(language, SMS, "", "no catalogue of SMS texts"))
    return problems


def check_all(directory: Path) -> list[Problem]:
    """Every shipped catalogue and every one installed under `directory`."""
    problems: list[Problem] = []
    for part in PARTS:
        for language, path in installed_files(part, directory).items():
            if language in shipped(part):
                what = f"{path} would replace the shipped catalogue: ignored"
                problems.append(Problem(language, part, "", what))
                continue
            try:
                read(language, path)
            except ValueError as error:
                problems.append(Problem(language, part, "", str(error)))
    # Every readable file, including those the gateway leaves out as incomplete.
    screens, sms = readable(SCREENS, directory), readable(SMS, directory)
    for language in sorted(set(screens) | set(sms)):
        problems += check_language(screens, sms, language)
    return problems
