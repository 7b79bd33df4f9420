"""Checks for what people type, each raising `Invalid` with a reason to show."""

from __future__ import annotations

import re
from datetime import date

from menus import gsm
from menus.context import MenuContext
from menus.identifiers import MemberNumberError, parse_member_number
from menus.nodes import Invalid
from menus.state import SessionState
from menus.text import T

_NAME = re.compile(r"^[^\W\d_]+(?:[ '.\-][^\W\d_]+)*\.?$")
MAX_NAME = 40


def clean_name(text: str) -> str:
    """One space between words, no digits; names keep their letters as typed."""
    name = " ".join(text.split())
    if not 2 <= len(name) <= MAX_NAME or not _NAME.match(name):
        raise Invalid(T("error_name"))
    return name


def family_name(text: str, ctx: MenuContext, state: SessionState) -> str:
    return clean_name(text).upper()


def given_names(text: str, ctx: MenuContext, state: SessionState) -> str:
    return " ".join(word.capitalize() for word in clean_name(text).split(" "))


def birth_date(text: str, ctx: MenuContext, state: SessionState) -> dict[str, object]:
    """DDMMYYYY (separators allowed) or a year alone, as many people know only that."""
    if not text.isascii():
        raise Invalid(T("error_birth_date"))
    digits = re.sub(r"[\s./\-]", "", text)
    parts = re.split(r"[\s./\-]+", text.strip())
    try:
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            day, month, year = (int(p) for p in parts)
            born, year_only = date(year, month, day), False
        elif digits.isdigit() and len(digits) == 8:
            born, year_only = date(int(digits[4:]), int(digits[2:4]), int(digits[:2])), False
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


def display_name(name: str) -> str:
    """Names go on screens in GSM-7 so that one accent does not halve the room."""
    return gsm.fold(name)
