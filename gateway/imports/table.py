"""A spreadsheet export read as text rows, with the line each row starts on.

What district offices send us: Excel's "CSV (séparateur: point-virgule)" from a French
Windows (cp1252, `;`), LibreOffice or Google Sheets (UTF-8, `,`, sometimes a BOM), and
Excel's "Unicode text" (UTF-16, tabs). Anything we cannot read is a `FileProblem`, said
in words an IT officer can act on, never a traceback.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass

DELIMITERS = (";", ",", "\t")


class FileProblem(Exception):
    """The file as a whole cannot be read; nothing is imported."""


@dataclass(frozen=True)
class Row:
    line: int  # the line it starts on in the file, the header being line 1
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    encoding: str  # as said in the report: "UTF-8", "Windows-1252 (cp1252)", "UTF-16"
    delimiter: str
    header: tuple[str, ...]
    rows: tuple[Row, ...]
    encoding_note: str | None = None  # a guess the reader should know about


def read_table(data: bytes) -> Table:
    text, encoding, note = _decode(data)
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise FileProblem("the file is empty")
    delimiter = _delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: tuple[str, ...] | None = None
    rows: list[Row] = []
    line_before = 0
    try:
        for cells in reader:
            start, line_before = line_before + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, and the ";;;;" rows Excel leaves below a table
            if header is None:
                header = tuple(cell.strip() for cell in cells)
            else:
                rows.append(Row(start, tuple(cells)))
    except csv.Error as error:
        raise FileProblem(f"line {reader.line_num}: not readable as CSV ({error})") from None
    assert header is not None
    if not rows:
        raise FileProblem("the file has a header but no rows")
    return Table(encoding, delimiter, header, tuple(rows), note)


def _decode(data: bytes) -> tuple[str, str, str | None]:
    if data.startswith(b"PK\x03\x04"):
        raise FileProblem(
            "this is an Excel workbook (.xlsx), not CSV: in Excel, File > Save As > "
            "CSV (séparateur: point-virgule)"
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "UTF-16", None
        except UnicodeDecodeError:
            raise FileProblem("the file says it is UTF-16 but is not") from None
    if b"\x00" in data:
        raise FileProblem("the file holds binary data: it is not a CSV export")
    try:
        return data.decode("utf-8-sig"), "UTF-8", None
    except UnicodeDecodeError as error:
        bad_line = data.count(b"\n", 0, error.start) + 1
    # Not UTF-8: read it as Windows-1252 rather than refuse it. That is what Excel on a
    # French Windows writes, and an officer who cannot make another export would be
    # stuck; cp1252 maps almost every byte, so a wrong guess cannot pass silently as
    # "valid": the report says which encoding was used, and names with misread letters
    # fail the same name rules as USSD input or show up misspelt in the problems listed.
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise FileProblem(
            f"line {bad_line}: the text is neither UTF-8 nor Windows-1252; "
            "save the file again as CSV UTF-8"
        ) from None
    note = (
        f"not UTF-8 (first at line {bad_line}): read as Windows-1252, as Excel writes it on "
        "a French Windows; check that accented names below look right"
    )
    return text, "Windows-1252 (cp1252)", note


def _delimiter(header_line: str) -> str:
    """The separator used most on the header line: `;` from a French Excel, `,` from
    most other tools, a tab from "Unicode text". csv.Sniffer guesses wrong on short
    headers with accents, and the header alone is unambiguous: no field in it has any."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    if counts[best] == 0:
        raise FileProblem("the header has a single column: the columns must be separated by ; or ,")
    return best
