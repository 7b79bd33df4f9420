"""One row of a household file read as one person, with every problem in its cells.

Each cell is checked with the rules USSD enrolment uses (names and birth dates from
`menus.parsers`, phones from `menus.identifiers`); a cell that cannot be taken says
why, for the report. Whether the rows make a household is decided in
`gateway.imports.households_csv`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from gateway.groups.exemption_rules import ExemptionRefused
from gateway.groups.exemption_rules import check as check_exemption
from gateway.imports.columns import Columns, fold
from gateway.imports.table import Row
from menus import parsers
from menus.context import MenuContext, SchemeSnapshot
from menus.effects import PersonDraft
from menus.identifiers import (
    MemberNumberError,
    NationalIdRule,
    PhoneNumberError,
    normalise_phone,
    parse_member_number,
)
from menus.nodes import Invalid
from menus.state import SessionState
from menus.values import Relationship

SEXES = {
    "M": ("m", "h", "homme", "masculin", "male", "man"),
    "F": ("f", "femme", "feminin", "female", "woman"),
}
RELATIONSHIPS = {
    Relationship.HEAD: ("head", "chef", "chef_de_menage", "cm"),
    Relationship.SPOUSE: ("spouse", "conjoint", "conjointe", "epoux", "epouse"),
    Relationship.CHILD: ("child", "enfant", "fils", "fille"),
    Relationship.PARENT: ("parent", "pere", "mere", "father", "mother"),
    Relationship.OTHER: ("other", "autre"),
}
_SEX = {word: code for code, words in SEXES.items() for word in words}
_RELATIONSHIP = {word: code for code, words in RELATIONSHIPS.items() for word in words}
_EXCEL_TIME = re.compile(r"\s+\d{1,2}:\d{2}(:\d{2})?$")  # "15/04/1988 00:00" from a date cell
_ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_CATEGORY = re.compile(r"[a-z0-9_]{1,32}")
MAX_VILLAGE = 60


@dataclass(frozen=True)
class SchemeRules:
    """What the scheme says about the mutual the file is for."""

    mutual_code: str
    products: Mapping[str, int | None]  # the products it offers: code -> max members
    occupations: Mapping[str, str]  # folded code or name (any language) -> code
    today: date
    national_id: NationalIdRule = field(default_factory=NationalIdRule)
    country: str = "BJ"
    language: str = "fr"
    groups: frozenset[str] = frozenset()  # the codes of the mutual's group payers


@dataclass(frozen=True)
class Problem:
    line: int
    column: str | None  # the header as written in the file; None for the household
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f', column "{self.column}"' if self.column else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class MemberRow:
    """A person as their row gives them, with the household's values it names."""

    line: int
    person: PersonDraft | None  # None when a personal field is wrong
    phone: str | None
    product: str | None
    village: str | None
    category: str | None
    member_no: str | None = None
    exemption: Exemption | None = None
    group: str | None = None


@dataclass(frozen=True)
class Exemption:
    """An exemption a row gives its person (recorded with source `import`)."""

    ground: str  # db.values.ExemptionGround
    starts_on: date
    ends_on: date | None


class RowReader:
    def __init__(self, columns: Columns, rules: SchemeRules) -> None:
        self.columns = columns
        self.rules = rules
        # The USSD parsers take a menu context; only `today` matters to them here.
        self.ctx = MenuContext(scheme=SchemeSnapshot(), today=rules.today)
        self.state = SessionState(node="import", language=rules.language)
        self.national_ids: dict[str, int] = {}  # the file's national IDs -> line

    def read(self, row: Row) -> tuple[MemberRow, list[Problem]]:
        problems: list[Problem] = []

        def check(name: str, parse: _Parse) -> str | None:
            raw = self.columns.cell(row.cells, name)
            try:
                return parse(raw)
            except _Refused as refused:
                problems.append(Problem(row.line, self.columns.written.get(name), str(refused)))
                return None

        last_name = check("last_name", self._family_name)
        first_names = check("first_names", self._given_names)
        sex = check("sex", lambda raw: _choice(raw, _SEX, "M or F (H or F)"))
        born = check("birth_date", self._birth_date)
        relationship = check(
            "relationship",
            lambda raw: _choice(
                raw,
                _RELATIONSHIP,
                "head|chef, spouse|conjoint, child|enfant, parent or other|autre",
            ),
        )
        national_id = check("national_id", lambda raw: self._national_id(raw, row.line))
        occupation = check("occupation", self._occupation)
        phone = check("phone", self._phone)
        product = check("product", self._product)
        village = check("village", _village)
        category = check("category", _category)
        member_no = check("member_no", _member_no)
        ground = check("exemption", _ground)
        until = check("exemption_until", self._until)
        group = check("group", self._group)
        exemption = None
        if ground is not None or until is not None:
            exemption = self._exemption(ground, until, row.line, problems)
        person = None
        if not problems:
            assert last_name and first_names and sex and born and relationship
            person = PersonDraft(
                last_name=last_name,
                first_names=first_names,
                sex=sex,
                birth_date=born[1:],
                birth_year_only=born[0] == "Y",
                relationship=relationship,
                occupation=occupation,
                national_id=national_id,
            )
        return (
            MemberRow(
                row.line, person, phone, product, village, category, member_no, exemption, group
            ),
            problems,
        )

    def _exemption(
        self, ground: str | None, until: str | None, line: int, problems: list[Problem]
    ) -> Exemption | None:
        ends = date.fromisoformat(until) if until else None
        if ground is None:
            if not any(p.line == line for p in problems):
                problems.append(
                    Problem(line, self.columns.written.get("exemption"), "empty: which exemption?")
                )
            return None
        try:
            check_exemption(ground, self.rules.today, ends)
        except ExemptionRefused as refused:
            problems.append(
                Problem(
                    line,
                    self.columns.written.get("exemption_until"),
                    EXEMPTION_REFUSALS.get(refused.reason, str(refused)),
                )
            )
            return None
        return Exemption(ground, self.rules.today, ends)

    def _until(self, raw: str) -> str | None:
        if not raw:
            return None
        text = _EXCEL_TIME.sub("", raw)
        try:
            if _ISO_DATE.fullmatch(text):
                return date.fromisoformat("-".join(p.zfill(2) for p in text.split("-"))).isoformat()
            day, month, year = (int(part) for part in text.split("/"))
            return date(year, month, day).isoformat()
        except ValueError:
            raise _Refused(f'"{_shown(raw)}" is not a date: DD/MM/YYYY or YYYY-MM-DD') from None

    def _group(self, raw: str) -> str | None:
        if not raw:
            return None
        code = raw.strip().upper()
        if code not in self.rules.groups:
            known = ", ".join(sorted(self.rules.groups)) or "none"
            raise _Refused(
                f'"{_shown(raw)}" is not a group payer of {self.rules.mutual_code} ({known})'
            )
        return code

    def _family_name(self, raw: str) -> str:
        return self._name(raw, parsers.family_name)

    def _given_names(self, raw: str) -> str:
        return self._name(raw, parsers.given_names)

    def _name(self, raw: str, parse: _UssdParser) -> str:
        if not raw:
            raise _Refused("empty")
        try:
            return str(parse(raw, self.ctx, self.state))
        except Invalid:
            raise _Refused(
                f'"{_shown(raw)}" is not a name: 2 to {parsers.MAX_NAME} letters, with spaces, '
                "hyphens, apostrophes or dots between them"
            ) from None

    def _birth_date(self, raw: str) -> str:
        """`Y` or `D` (year only or full date) followed by the ISO date."""
        refused = _Refused(
            f'"{_shown(raw)}" is not a birth date: DD/MM/YYYY, YYYY-MM-DD or the year alone, '
            "not in the future nor more than 120 years ago"
        )
        if not raw:
            raise _Refused("empty")
        text = _EXCEL_TIME.sub("", raw)
        if _ISO_DATE.fullmatch(text):
            try:
                born = date.fromisoformat("-".join(p.zfill(2) for p in text.split("-")))
            except ValueError:
                raise refused from None
            # Through the USSD parser too, so that both forms meet the same limits.
            text = born.strftime("%d/%m/%Y")
        try:
            parsed = parsers.birth_date(text, self.ctx, self.state)
        except Invalid:
            raise refused from None
        return ("Y" if parsed["year_only"] else "D") + str(parsed["date"])

    def _national_id(self, raw: str, line: int) -> str | None:
        if not raw:
            return None
        parsed = self.rules.national_id.parse(raw)
        if parsed is None:
            raise _Refused(
                f'"{_shown(raw)}" is not a national ID: {self.rules.national_id.length} digits'
            )
        first = self.national_ids.setdefault(parsed, line)
        if first != line:
            raise _Refused(f"the same national ID as line {first}: one person, one ID")
        return parsed

    def _occupation(self, raw: str) -> str | None:
        if not raw:
            return None
        code = self.rules.occupations.get(fold(raw))
        if code is None:
            known = ", ".join(sorted(set(self.rules.occupations.values())))
            raise _Refused(f'"{_shown(raw)}" is not an occupation of the scheme ({known})')
        return code

    def _phone(self, raw: str) -> str | None:
        if not raw:
            return None
        try:
            return normalise_phone(raw, self.rules.country)
        except PhoneNumberError:
            raise _Refused(
                f'"{_shown(raw)}" is not a valid phone number{_phone_hint(raw)}'
            ) from None

    def _product(self, raw: str) -> str | None:
        if not raw:
            return None
        code = raw.strip().upper()
        if code not in self.rules.products:
            offered = ", ".join(sorted(self.rules.products)) or "none"
            raise _Refused(
                f'"{_shown(raw)}" is not a product of {self.rules.mutual_code} ({offered})'
            )
        return code


class _Refused(ValueError):
    """A cell we cannot take; the message says why, for the report."""


_Parse = Callable[[str], "str | None"]
_UssdParser = Callable[[str, MenuContext, SessionState], object]


def _shown(raw: str) -> str:
    return raw if len(raw) <= 40 else raw[:37] + "..."


def _choice(raw: str, words: Mapping[str, str], expected: str) -> str:
    if not raw:
        raise _Refused(f"empty: {expected}")
    code = words.get(fold(raw))
    if code is None:
        raise _Refused(f'"{_shown(raw)}": expected {expected}')
    return code


EXEMPTION_REFUSALS = {
    "pregnancy_needs_end": "a pregnancy needs its end date in the exemption_until column",
    "pregnancy_too_long": "a pregnancy ends at most 300 days from today",
    "ends_before_start": "the exemption ends before today",
}
_GROUNDS = {
    "pregnancy": ("pregnancy", "grossesse", "enceinte", "pregnant"),
    "indigent": ("indigent", "indigence", "indigente"),
}
_GROUND = {word: code for code, words in _GROUNDS.items() for word in words}


def _ground(raw: str) -> str | None:
    if not raw:
        return None
    return _choice(raw, _GROUND, "pregnancy|grossesse or indigent")


def _member_no(raw: str) -> str | None:
    if not raw:
        return None
    try:
        return parse_member_number(raw)
    except MemberNumberError:
        raise _Refused(f'"{_shown(raw)}" is not a member number (a digit is wrong?)') from None


def _village(raw: str) -> str | None:
    village = " ".join(raw.split())
    if len(village) > MAX_VILLAGE:
        raise _Refused(f"longer than {MAX_VILLAGE} characters")
    return village or None


def _category(raw: str) -> str | None:
    """Sponsors' shares are matched on the category exactly: store it folded."""
    if not raw:
        return None
    category = fold(raw)
    if not _CATEGORY.fullmatch(category):
        raise _Refused(f'"{_shown(raw)}" is not a category: a word like indigent, up to 32')
    return category


def _phone_hint(raw: str) -> str:
    """Spreadsheets mangle phone columns typed as numbers; say how to fix that."""
    if re.search(r"\d[.,]\d+E\+?\d+$", raw, re.IGNORECASE):
        return " (the spreadsheet wrote it as 2.29E+11: format the column as text)"
    if re.fullmatch(r"1\d{8}", raw):
        return " (a leading 0 was lost? format the column as text, e.g. 0197000001)"
    return ""
