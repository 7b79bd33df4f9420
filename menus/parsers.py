"""Checks for what people type, each raising `Invalid` with a reason to show."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any

from menus import gsm, recorded
from menus.context import MenuContext
from menus.identifiers import MemberNumberError, parse_member_number
from menus.nodes import Invalid
from menus.state import SessionState
from menus.text import Money, T, Text

MAX_NAME = 40
_SEPARATORS = " '.-"


def clean_name(text: str) -> str:
    """Letters, with single spaces, hyphens, apostrophes or dots between them."""
    name = unicodedata.normalize("NFC", " ".join(text.split()))
    if (
        not 2 <= len(name) <= MAX_NAME
        or not name[0].isalpha()
        or not all(ch.isalpha() or ch in _SEPARATORS for ch in name)
        or re.search(r"[ '.\-]{2,}", name.replace(". ", "."))  # "A. Koffi" is fine
        or not (name[-1].isalpha() or name[-1] == ".")  # an initial may end with a dot
    ):
        raise Invalid(T("error_name"))
    return name


def within_limit(name: str) -> str:
    # Case changes can lengthen a name (ß becomes SS): check again after them.
    if len(name) > MAX_NAME:
        raise Invalid(T("error_name"))
    return name


def family_name(text: str, ctx: MenuContext, state: SessionState) -> str:
    return within_limit(clean_name(text).upper())


def capitalised(name: str) -> str:
    """Each part of each word starts with a capital: Marie-Madeleine, N'Dah."""
    return re.sub(r"(^|[ '\-])(\w)", lambda m: m.group(1) + m.group(2).upper(), name.lower())


def given_names(text: str, ctx: MenuContext, state: SessionState) -> str:
    return within_limit(capitalised(clean_name(text)))


Parser = Callable[[str, MenuContext, SessionState], Any]


def or_recorded(parse: Parser) -> Parser:
    """`parse`, for a question a voice host may answer with a recording (`Ask.spoken`):
    the recording's token is the answer, kept as it is until staff transcribe it. Only
    on a call: a phone on the short code that types `rec:<address>` is refused like any
    other name, and the typed parsers never take one (a colon is no letter), so a staff
    form or an import cannot store a token for a name either."""

    def parse_or_keep(text: str, ctx: MenuContext, state: SessionState) -> Any:
        if ctx.by_voice and recorded.recording_of(text) is not None:
            return text
        return parse(text, ctx, state)

    return parse_or_keep


def _full_year(year: str, today: date) -> int:
    """A year typed with two digits ("88") is the latest one not in the future."""
    if len(year) != 2:
        return int(year)
    this_century = today.year - today.year % 100 + int(year)
    return this_century if this_century <= today.year else this_century - 100


def birth_date(text: str, ctx: MenuContext, state: SessionState) -> dict[str, object]:
    """DDMMYYYY or DDMMYY (separators allowed: 15/04/88) or a year alone, as many people
    know only that."""
    if not text.isascii():
        raise Invalid(T("error_birth_date"))
    digits = re.sub(r"[\s./\-]", "", text)
    parts = re.split(r"[\s./\-]+", text.strip())
    try:
        if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[2]) in (2, 4):
            day, month = int(parts[0]), int(parts[1])
            born, year_only = date(_full_year(parts[2], ctx.today), month, day), False
        elif digits.isdigit() and len(digits) in (6, 8):
            year = _full_year(digits[4:], ctx.today)
            born, year_only = date(year, int(digits[2:4]), int(digits[:2])), False
        elif digits.isdigit() and len(digits) == 4:
            born, year_only = date(int(digits), 1, 1), True
        else:
            raise ValueError(text)
    except ValueError:
        raise Invalid(T("error_birth_date")) from None
    if born > ctx.today or born.year < ctx.today.year - 120:
        raise Invalid(T("error_birth_date"))
    return {"date": born.isoformat(), "year_only": year_only}


def national_id(text: str, ctx: MenuContext, state: SessionState) -> str | None:
    if text.strip() == SKIP:
        return None
    parsed = ctx.national_id.parse(text)
    if parsed is None:
        raise Invalid(T("error_national_id", {"digits": ctx.national_id.length}))
    return parsed


SKIP = "1"


def member_no(text: str, ctx: MenuContext, state: SessionState) -> str:
    try:
        return parse_member_number(text)
    except MemberNumberError as error:
        raise Invalid(T(f"error_member_no_{error.reason}")) from None


_WHOLE_FRANCS = re.compile(r"[0-9]+|[0-9]{1,3}(?:[ .][0-9]{3})+")


def whole_francs(text: str, highest: int) -> int:
    """An amount in whole francs from 1 to `highest`: "4725", or grouped by thousands
    ("4 725", "4.725"); "100.50" has cents, which XOF has not."""
    typed = text.strip()
    # The example is an amount the question takes, in digits as they must be typed.
    wrong = Invalid(T("error_amount", {"max": Money(highest), "example": min(highest, 1000)}))
    if not _WHOLE_FRANCS.fullmatch(typed):
        raise wrong
    amount = int(typed.replace(" ", "").replace(".", ""))
    if not 1 <= amount <= highest:
        raise wrong
    return amount


def display_name(name: str) -> str:
    """Names go on screens in GSM-7 so that one accent does not halve the room."""
    return gsm.fold(name)


def name_pending(name: str) -> bool:
    """A name nobody has typed yet: a recording's token in a session, or the empty name
    a member is stored with until staff transcribe the recording."""
    return not name or recorded.recording_of(name) is not None


def shown_name(*parts: str) -> Text:
    """A name for a screen: "recorded name" in words while any part of it waits for
    its transcription, never the token or an empty gap."""
    if any(name_pending(part) for part in parts):
        return T("recorded_name")
    return display_name(" ".join(parts))
