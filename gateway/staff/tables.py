"""What a statistics table is (its columns, rows and charts, and who reads it), and how
a page writes its cells (`cell`; `gateway.staff.csv_export` writes them for a
spreadsheet). The tables themselves are built in `gateway.staff.stats_tables`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gateway.staff import language


class CellKind(StrEnum):
    """What a column holds, which says how its cells are written."""

    LABEL = "label"
    COUNT = "count"
    XOF = "xof"  # whole francs
    RATE = "rate"  # a share between 0 and 1, written as a percentage
    DECIMAL = "decimal"  # an average


@dataclass(frozen=True)
class Audience:
    """Who reads the table: their language and the scheme's names of its
    socio-professional groups in it. (What a role may see is settled in the figures.)"""

    lang: str
    occupations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Column:
    key: str  # in the rows
    heading: str  # catalogue key
    kind: CellKind = CellKind.COUNT


@dataclass(frozen=True)
class Chart:
    """A chart drawn from a table: `value` per row (labelled by the first column), over
    `total` when given (paid out of due); `series` for a time series."""

    value: str
    total: str | None = None
    series: bool = False
    heading: str | None = None  # catalogue key; the table's title when None


@dataclass(frozen=True)
class Table:
    name: str
    title: str  # catalogue key
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    charts: tuple[Chart, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    name: str
    figure: str  # the name of the figure in gateway.stats.routes.ENDPOINTS
    build: Callable[[dict[str, Any], Audience], Table]


def cell(value: Any, kind: CellKind, lang: str) -> str:
    """A value as a page (and a spreadsheet) writes it: French writes 41,2 % and
    1 575, English 41.2% and 1,575."""
    if value is None:
        return "—"
    if kind == CellKind.LABEL:
        return str(value)
    if kind == CellKind.RATE:
        percent = f"{float(value) * 100:.1f}"
        return f"{percent.replace('.', ',')}\u00a0%" if lang == "fr" else f"{percent}%"
    if kind == CellKind.DECIMAL:
        text = f"{float(value):.1f}"
        return text.replace(".", ",") if lang == "fr" else text
    grouped = f"{int(value):,}"
    grouped = grouped.replace(",", "\u202f") if lang == "fr" else grouped
    return f"{grouped}\u00a0FCFA" if kind == CellKind.XOF else grouped


def label(lang: str, prefix: str, value: Any) -> str:
    """A code in words when the catalogue has it (`status.active` → Covered), else the
    code itself: purposes, journeys and screens are many and change with the menus."""
    text = str(value)
    return language.catalogue(lang).get(f"{prefix}.{text}") or text
