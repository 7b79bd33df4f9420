"""A language's round trip through a translator: the PO file out, the catalogues in.

`export` writes every key of the French screens and SMS texts with the existing
translation, where it appears and its budget. `take` reads a translated file back and
finds every problem in it at once (syntax, keys, fields, a French source that changed
since the export, screens that do not fit); only a file without any becomes catalogues.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.catalogues import po
from gateway.catalogues.checks import Problem, check_language
from gateway.catalogues.installed import PARTS, SCREENS, SMS, SOURCE_LANGUAGE
from gateway.catalogues.notes import notes
from menus import gsm
from menus.text import DRAFT, REVIEWED, Catalogue

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")  # fon, yo, dyu, mos, ff-BF
ENCODING_HEADER = "X-Alafia-Encoding"


def export(
    language: str,
    encoding: str,
    screens: Mapping[str, Catalogue],
    sms: Mapping[str, Catalogue],
) -> str:
    """The translator's PO file for `language`, budgets counted in `encoding`."""
    found = notes(screens, sms[SOURCE_LANGUAGE], encoding)
    entries = []
    for part, catalogues in ((SCREENS, screens), (SMS, sms)):
        existing = catalogues.get(language)
        for key, source in catalogues[SOURCE_LANGUAGE].texts.items():
            note = found[f"{part}:{key}"]
            said = [f"Where: {note.where}"]
            if note.budget is not None:
                said.append(
                    f"Budget: {note.budget} characters in {encoding.upper()}, "
                    "the {fields} not counted; keep every {field} as it is"
                )
            translation = existing.texts.get(key, "") if existing else ""
            entries.append(po.Entry(f"{part}:{key}", source, translation, said))
    header = {
        "Language": language,
        "Content-Type": "text/plain; charset=UTF-8",
        ENCODING_HEADER: encoding,
    }
    return po.write(header, entries)


@dataclass
class Taken:
    language: str
    catalogues: dict[str, dict[str, str]] = field(default_factory=dict)  # part -> texts
    problems: list[Problem] = field(default_factory=list)


def take(
    text: str,
    screens: Mapping[str, Catalogue],
    sms: Mapping[str, Catalogue],
    *,
    language: str | None = None,
    fold: bool = False,
    reviewed_by: str | None = None,
) -> Taken:
    """The catalogues a translated PO file makes, or every problem keeping it from that.
    `screens` and `sms`: the catalogues installed already (the file's language among
    them or not); `fold`: write the language in GSM-7 (ɔ as o, tone marks dropped)."""
    try:
        header, entries = po.read(text)
    except ValueError as error:
        return Taken(language or "?", problems=[Problem(language or "?", "po", "", str(error))])
    code = language or header.get("Language", "")
    taken = Taken(code)
    if not LANGUAGE_CODE.match(code):
        taken.problems.append(Problem(code or "?", "po", "", "no language code (Language:)"))
        return taken
    if code in (SOURCE_LANGUAGE, "en"):
        taken.problems.append(Problem(code, "po", "", "ships with the package: edit it there"))
        return taken
    sources = {SCREENS: screens[SOURCE_LANGUAGE].texts, SMS: sms[SOURCE_LANGUAGE].texts}
    texts: dict[str, dict[str, str]] = {part: {} for part in PARTS}
    for entry in entries:
        part, _, key = entry.context.partition(":")
        where = f"line {entry.line}"
        if part not in texts or not key:
            what = f"{where}: msgctxt {entry.context!r} is not <screens|sms>:<key>"
            taken.problems.append(Problem(code, "po", "", what))
            continue
        if key in texts[part]:
            taken.problems.append(Problem(code, part, key, f"{where}: translated twice"))
            continue
        if key in sources[part] and entry.source != sources[part][key]:
            what = f"{where}: the French text changed since the export; export again"
            taken.problems.append(Problem(code, part, key, what))
        if entry.translation and not entry.fuzzy:
            texts[part][key] = gsm.fold(entry.translation) if fold else entry.translation
    every = "".join(t for part in texts.values() for t in part.values())
    meta = {
        "_status": REVIEWED if reviewed_by else DRAFT,
        "_encoding": "gsm7" if gsm.is_gsm7(every) else "ucs2",
    }
    if reviewed_by:
        meta["_reviewed_by"] = reviewed_by
    taken.catalogues = {part: {**meta, **texts[part]} for part in PARTS}
    new_screens = {**screens, code: Catalogue(code, taken.catalogues[SCREENS])}
    new_sms = {**sms, code: Catalogue(code, taken.catalogues[SMS])}
    taken.problems += check_language(new_screens, new_sms, code)
    return taken
