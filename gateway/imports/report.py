"""What `alafia import households` prints: problems by household and line, then a summary.

The report goes to the officer's terminal (stdout), not to the logs: it may quote a cell
so that the row can be found, and it never leaves that terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from gateway.imports.households_csv import RejectedHousehold, Validation, ValidHousehold
from gateway.imports.importer import Written
from gateway.imports.table import Table


def header(file_name: str, table: Table, out: TextIO) -> None:
    separator = {";": "';'", ",": "','", "\t": "tab"}[table.delimiter]
    print(
        f"{file_name}: {len(table.rows)} rows, read as {table.encoding}, separator {separator}",
        file=out,
    )
    if table.encoding_note:
        print(f"  note: {table.encoding_note}", file=out)


def rejected(households: Sequence[RejectedHousehold], out: TextIO) -> None:
    if not households:
        return
    print(f"\nNot imported, to fix in the file ({len(households)} households):", file=out)
    for household in households:
        if household.key is None:
            print(f"  row without a household, {_lines(household.lines)}:", file=out)
        else:
            print(f'  household "{household.key}", {_lines(household.lines)}:', file=out)
        for problem in sorted(household.problems, key=lambda p: p.line):
            print(f"    {problem}", file=out)


def not_enrolled(written: Written, out: TextIO) -> None:
    _listed("Refused by the scheme, not imported", written.refused, out)
    _listed("Already enrolled, nothing changed", written.duplicates, out)


def summary(
    validation: Validation,
    written: Written | None,
    seconds: float,
    out: TextIO,
) -> None:
    skipped = len(validation.rejected)
    if written is None:
        print(
            f"\nDry run, nothing written: {validation.rows} rows read, "
            f"{len(validation.households)} households valid ({validation.members} members), "
            f"{skipped} skipped for errors, in {seconds:.1f} s",
            file=out,
        )
        return
    print(
        f"\n{validation.rows} rows read: {len(written.imported)} households imported "
        f"({written.members} members), "
        f"{f'{len(written.renewed)} renewed for their next year, ' if written.renewed else ''}"
        f"{written.already} already there"
        f"{f' ({len(written.earlier)} from an earlier run)' if written.earlier else ''}, "
        f"{skipped} skipped for errors, {len(written.refused)} refused by the scheme, "
        f"in {seconds:.1f} s",
        file=out,
    )
    if skipped or written.refused:
        print(
            "Fix the households listed above and run the same file again: "
            "those already imported are not imported twice.",
            file=out,
        )


def _listed(title: str, items: Sequence[tuple[ValidHousehold, str]], out: TextIO) -> None:
    if not items:
        return
    print(f"\n{title} ({len(items)} households):", file=out)
    for household, reason in sorted(items, key=lambda item: item[0].lines[0]):
        print(f'  household "{household.key}", {_lines(household.lines)}: {reason}', file=out)


def _lines(lines: Sequence[int]) -> str:
    if len(lines) == 1:
        return f"line {lines[0]}"
    ordered = sorted(lines)
    if ordered[-1] - ordered[0] == len(ordered) - 1:
        return f"lines {ordered[0]}-{ordered[-1]}"
    return "lines " + ", ".join(str(line) for line in ordered)
