"""A statistics table as a CSV file for a spreadsheet.

Written for Excel and LibreOffice as set up in Benin's offices, in French:
- UTF-8 with a byte-order mark: without it Excel reads the file as Windows-1252 and
  "Bénin" comes out as "BÃ©nin";
- `;` between fields: French Excel takes the comma for the decimal point and would put
  a whole line in one cell; a `sep=;` first line would also do it, but Excel then
  ignores the byte-order mark and the accents break again;
- numbers as plain digits (1575, not "1 575 FCFA") so that they can be summed; a rate
  as a percentage with one decimal, with a decimal comma in French (41,2) so that
  French Excel reads a number;
- CRLF line ends, as RFC 4180 and Excel expect.

A label that starts with `=`, `+`, `-`, `@` (a commune typed into an import file, say)
is prefixed with `'` so that a spreadsheet shows it instead of running it as a formula.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from gateway.staff import language
from gateway.staff.tables import CellKind, Table

BOM = "\ufeff"
SEPARATOR = ";"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def to_csv(table: Table, lang: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=SEPARATOR, lineterminator="\r\n")
    writer.writerow(language.translate(lang, column.heading) for column in table.columns)
    for row in table.rows:
        writer.writerow(_field(row.get(column.key), column.kind, lang) for column in table.columns)
    return (BOM + out.getvalue()).encode("utf-8")


def _field(value: Any, kind: CellKind, lang: str) -> str:
    if value is None:
        return ""
    if kind == CellKind.LABEL:
        text = str(value)
        return "'" + text if text.startswith(_FORMULA_START) else text
    if kind in (CellKind.RATE, CellKind.DECIMAL):
        number = float(value) * 100 if kind == CellKind.RATE else float(value)
        text = f"{number:.1f}"
        return text.replace(".", ",") if lang == "fr" else text
    return str(int(value))
