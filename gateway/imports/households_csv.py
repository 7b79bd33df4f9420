"""Rows of a household file -> households ready to enrol, and every problem found.

Pure: no database. Every row is checked with the rules USSD enrolment uses (names and
birth dates from `menus.parsers`, phones from `menus.identifiers`), and all problems are
collected, so the officer fixes the file once instead of once per run. A household goes
through whole or not at all: one bad row holds back its whole household.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from adapters.register import Relationship
from db.values import Channel
from gateway.imports.columns import Columns, fold, map_columns
from gateway.imports.table import Row, Table
from menus import parsers
from menus.context import MenuContext, SchemeSnapshot
from menus.effects import EnrolHousehold, PersonDraft
from menus.identifiers import NationalIdRule, PhoneNumberError, normalise_phone
from menus.nodes import Invalid
from menus.state import SessionState

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


@dataclass(frozen=True)
class Problem:
    line: int
    column: str | None  # the header as written in the file; None for the household
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f', column "{self.column}"' if self.column else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class ValidHousehold:
    key: str  # the household column's value
    lines: tuple[int, ...]
    request: EnrolHousehold
    village: str | None


@dataclass(frozen=True)
class RejectedHousehold:
    key: str | None  # None: rows that name no household
    lines: tuple[int, ...]
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class Validation:
    rows: int
    households: tuple[ValidHousehold, ...]
    rejected: tuple[RejectedHousehold, ...]

    @property
    def members(self) -> int:
        return sum(len(h.lines) for h in self.households)


@dataclass(frozen=True)
class _Member:
    line: int
    person: PersonDraft | None  # None when a personal field is wrong
    phone: str | None
    product: str | None
    village: str | None
    category: str | None


def validate(table: Table, rules: SchemeRules) -> Validation:
    """Raises `FileProblem` for a header we cannot use; rows' problems are returned."""
    columns = map_columns(table.header)
    reader = _RowReader(columns, rules)
    groups: dict[str, list[tuple[_Member, list[Problem]]]] = {}
    orphans: list[RejectedHousehold] = []
    for row in table.rows:
        key = columns.cell(row.cells, "household")
        member, problems = reader.read(row)
        if not key:
            problems.insert(
                0, Problem(row.line, columns.written["household"], "empty: which household?")
            )
            orphans.append(RejectedHousehold(None, (row.line,), tuple(problems)))
        else:
            groups.setdefault(key, []).append((member, problems))
    valid: list[ValidHousehold] = []
    rejected = list(orphans)
    for key, rows in groups.items():
        household, problems = _household(key, rows, columns, rules)
        if household is not None and not problems:
            valid.append(household)
        else:
            rejected.append(RejectedHousehold(key, tuple(m.line for m, _ in rows), tuple(problems)))
    rejected.sort(key=lambda r: r.lines[0])
    return Validation(len(table.rows), tuple(valid), tuple(rejected))


class _RowReader:
    def __init__(self, columns: Columns, rules: SchemeRules) -> None:
        self.columns = columns
        self.rules = rules
        # The USSD parsers take a menu context; only `today` matters to them here.
        self.ctx = MenuContext(scheme=SchemeSnapshot(), today=rules.today)
        self.state = SessionState(node="import", language=rules.language)
        self.national_ids: dict[str, int] = {}  # the file's national IDs -> line

    def read(self, row: Row) -> tuple[_Member, list[Problem]]:
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
        return _Member(row.line, person, phone, product, village, category), problems

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


def _household(
    key: str,
    rows: list[tuple[_Member, list[Problem]]],
    columns: Columns,
    rules: SchemeRules,
) -> tuple[ValidHousehold | None, list[Problem]]:
    """One household from its rows: exactly one head, one phone, one product."""
    problems = [p for _, row_problems in rows for p in row_problems]
    members = [member for member, _ in rows]
    first_line = members[0].line
    heads = [
        m for m in members if m.person is not None and m.person.relationship == Relationship.HEAD
    ]
    relationship = columns.written["relationship"]
    if not heads and not problems:
        problems.append(
            Problem(first_line, relationship, "no head of household (head|chef) in this household")
        )
    for extra in heads[1:]:
        problems.append(
            Problem(
                extra.line, relationship, f"a second head (the first is on line {heads[0].line})"
            )
        )
    head = heads[0] if heads else None
    phone_column = columns.written["phone"]
    if head is not None and head.phone is None and not _said(problems, head.line, phone_column):
        problems.append(Problem(head.line, phone_column, "empty: the head's row gives the phone"))
    phone = head.phone if head is not None else None
    for member in members:
        if phone is not None and member.phone not in (None, phone):
            problems.append(
                Problem(member.line, phone_column, "a household has one phone: not the head's")
            )
    product = _one_value(members, lambda m: m.product, columns.written.get("product"), problems)
    village = _one_value(members, lambda m: m.village, columns.written.get("village"), problems)
    category = _one_value(members, lambda m: m.category, columns.written.get("category"), problems)
    product_column = columns.written.get("product")
    if product is None and len(rules.products) == 1:
        product = next(iter(rules.products))
    elif product is None and not any(p.column == product_column for p in problems if p.column):
        offered = ", ".join(sorted(rules.products)) or "none"
        problems.append(
            Problem(
                first_line,
                product_column,
                f"{rules.mutual_code} offers {offered}: say which in a product|formule column",
            )
        )
    cap = rules.products.get(product) if product is not None else None
    if cap is not None and len(members) > cap:
        problems.append(
            Problem(first_line, None, f"{len(members)} persons: {product} takes at most {cap}")
        )
    if problems or head is None or head.person is None or phone is None or product is None:
        return None, problems
    request = EnrolHousehold(
        mutual_code=rules.mutual_code,
        product_code=product,
        phone=phone,
        language=rules.language,
        head=head.person,
        dependants=tuple(m.person for m in members if m is not head and m.person is not None),
        channel=Channel.IMPORT,
        category=category,
    )
    return ValidHousehold(key, tuple(m.line for m in members), request, village), []


def _said(problems: list[Problem], line: int, column: str) -> bool:
    return any(p.line == line and p.column == column for p in problems)


def _one_value(
    members: list[_Member],
    value: Callable[[_Member], str | None],
    column: str | None,
    problems: list[Problem],
) -> str | None:
    """A household's value given on one row or more, the same wherever it is given."""
    given = [(m.line, value(m)) for m in members if value(m) is not None]
    if not given:
        return None
    first_line, first = given[0]
    for line, other in given[1:]:
        if other != first:
            problems.append(
                Problem(line, column, f"not the same as line {first_line}: one per household")
            )
    return first


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
