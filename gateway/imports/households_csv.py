"""Rows of a household file -> households ready to enrol, and every problem found.

Pure: no database. Every row is read with the rules USSD enrolment uses
(`gateway.imports.rows`), and all problems are collected, so the officer fixes the file
once instead of once per run. Rows then make households here: one head, one phone, one
product each. A household goes through whole or not at all: one bad row holds back its
whole household.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.imports.columns import Columns, map_columns
from gateway.imports.rows import Exemption, MemberRow, Problem, RowReader, SchemeRules
from gateway.imports.table import Table
from menus.effects import EnrolHousehold
from menus.values import Channel, Relationship


@dataclass(frozen=True)
class ValidHousehold:
    key: str  # the household column's value
    lines: tuple[int, ...]
    request: EnrolHousehold
    village: str | None
    # Per person, in the request's order (the head, then the dependants): the member
    # number given (an enrolled member: the household renews) and an exemption.
    member_nos: tuple[str | None, ...] = ()
    exemptions: tuple[Exemption | None, ...] = ()
    group: str | None = None  # a group payer's code

    @property
    def renewal(self) -> bool:
        """Named by a member number: the household is enrolled, this is its renewal."""
        return any(self.member_nos)


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


def validate(table: Table, rules: SchemeRules) -> Validation:
    """Raises `FileProblem` for a header we cannot use; rows' problems are returned."""
    columns = map_columns(table.header)
    reader = RowReader(columns, rules)
    groups: dict[str, list[tuple[MemberRow, list[Problem]]]] = {}
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


def _household(
    key: str,
    rows: list[tuple[MemberRow, list[Problem]]],
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
    group = _one_value(members, lambda m: m.group, columns.written.get("group"), problems)
    if group is not None and category is not None:
        problems.append(
            Problem(first_line, columns.written.get("group"), "a group pays: leave category empty")
        )
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
    ordered = [head, *(m for m in members if m is not head)]
    request = EnrolHousehold(
        mutual_code=rules.mutual_code,
        product_code=product,
        phone=phone,
        language=rules.language,
        head=head.person,
        dependants=tuple(m.person for m in ordered[1:] if m.person is not None),
        channel=Channel.IMPORT,
        category=category,
    )
    return (
        ValidHousehold(
            key,
            tuple(m.line for m in members),
            request,
            village,
            tuple(m.member_no for m in ordered),
            tuple(m.exemption for m in ordered),
            group,
        ),
        [],
    )


def _said(problems: list[Problem], line: int, column: str) -> bool:
    return any(p.line == line and p.column == column for p in problems)


def _one_value(
    members: list[MemberRow],
    value: Callable[[MemberRow], str | None],
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
