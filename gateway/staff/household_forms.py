"""What staff type into the household correction forms, read by the rules enrolment uses
(names and birth dates by `menus.parsers`, phones by `menus.identifiers.normalise_phone`),
so that a corrected record meets the same limits as one typed on the short code.

A problem is named by its field and a catalogue key (`correct.error.<field>`) whose text
says what to type, with an example; every problem of a form is reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from menus import parsers
from menus.context import MenuContext, SchemeSnapshot
from menus.identifiers import (
    MemberNumberError,
    PhoneNumberError,
    normalise_phone,
    parse_member_number,
)
from menus.nodes import Invalid
from menus.state import SessionState

VILLAGE_MAX = 60  # models.Household.village
# A moved member becomes one of these to the new head; never a second head.
RELATIONSHIPS = ("spouse", "child", "parent", "other")
_ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")


class FormProblems(Exception):
    """Fields that cannot be taken as typed: field name -> catalogue key."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__(", ".join(problems))
        self.problems = dict(problems)


@dataclass(frozen=True)
class MemberIdentity:
    last_name: str  # upper case, as enrolment stores it
    first_names: str  # Capitalised
    birth_date: date  # 1 January when only the year is known
    birth_year_only: bool


@dataclass(frozen=True)
class Contact:
    phone: str  # E.164
    village: str | None


@dataclass(frozen=True)
class MoveRequest:
    to_member_no: str  # any member of the household the person joins
    relationship: str  # to that household's head


def typed(form: Mapping[str, object], name: str, longest: int = 200) -> str:
    """A text field as typed, cut to a sane length (a form is no place for a megabyte)."""
    value = form.get(name)
    return value.strip()[:longest] if isinstance(value, str) else ""


def read_member(form: Mapping[str, object], today: date) -> MemberIdentity:
    problems: dict[str, str] = {}
    ctx = MenuContext(scheme=SchemeSnapshot(), today=today)
    state = SessionState(node="staff", language="fr")
    last_name = first_names = ""
    born: dict[str, object] = {}
    try:
        last_name = parsers.family_name(typed(form, "last_name"), ctx, state)
    except Invalid:
        problems["last_name"] = "correct.error.last_name"
    try:
        first_names = parsers.given_names(typed(form, "first_names"), ctx, state)
    except Invalid:
        problems["first_names"] = "correct.error.first_names"
    try:
        born = parsers.birth_date(_day_first(typed(form, "birth_date", 20)), ctx, state)
    except Invalid:
        problems["birth_date"] = "correct.error.birth_date"
    if problems:
        raise FormProblems(problems)
    return MemberIdentity(
        last_name=last_name,
        first_names=first_names,
        birth_date=date.fromisoformat(str(born["date"])),
        birth_year_only=bool(born["year_only"]),
    )


def read_contact(form: Mapping[str, object], country: str) -> Contact:
    problems: dict[str, str] = {}
    phone = ""
    try:
        phone = normalise_phone(typed(form, "phone", 40), country)
    except PhoneNumberError:
        problems["phone"] = "correct.error.phone"
    village = " ".join(typed(form, "village", 400).split())
    if len(village) > VILLAGE_MAX:
        problems["village"] = "correct.error.village"
    if problems:
        raise FormProblems(problems)
    return Contact(phone=phone, village=village or None)


def read_move(form: Mapping[str, object]) -> MoveRequest:
    problems: dict[str, str] = {}
    member_no = ""
    try:
        member_no = parse_member_number(typed(form, "to_member_no", 40))
    except MemberNumberError:
        problems["to_member_no"] = "move.error.member_no"
    relationship = typed(form, "relationship", 20)
    if relationship not in RELATIONSHIPS:
        problems["relationship"] = "move.error.relationship"
    if problems:
        raise FormProblems(problems)
    return MoveRequest(member_no, relationship)


def birth_date_text(born: date, year_only: bool) -> str:
    """A birth date as the form takes it back: `1985` or `12/03/1985`."""
    return str(born.year) if year_only else born.strftime("%d/%m/%Y")


def _day_first(text: str) -> str:
    """`1985-03-12` (what a date picker or a spreadsheet gives) as the parser's 12/03/1985."""
    if _ISO_DATE.fullmatch(text):
        year, month, day = text.split("-")
        return f"{day}/{month}/{year}"
    return text
