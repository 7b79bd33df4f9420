"""The columns of a household file, in English or French, as spreadsheets spell them.

Headers are compared folded (no accents, no case, spaces and dashes as `_`), so
`Date de naissance`, `date_naissance` and `DATE-NAISSANCE` are one column.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.imports.table import FileProblem

# canonical name -> the names accepted for it (folded), the first English, the second French
NAMES: dict[str, tuple[str, ...]] = {
    "household": ("household", "menage", "household_no", "no_menage", "numero_menage"),
    "last_name": ("last_name", "nom", "family_name", "nom_de_famille"),
    "first_names": ("first_names", "prenoms", "first_name", "prenom"),
    "sex": ("sex", "sexe"),
    "birth_date": ("birth_date", "date_naissance", "date_de_naissance", "naissance"),
    "relationship": ("relationship", "lien", "lien_de_parente", "relation"),
    "phone": ("phone", "telephone", "tel", "phone_number"),
    "product": ("product", "formule", "produit"),
    "national_id": ("national_id", "npi"),
    "occupation": ("occupation", "activite", "profession"),
    "village": ("village",),
    "category": ("category", "categorie"),
    # An enrolled member: the row renews its household (docs/import-households.md).
    "member_no": ("member_no", "numero_membre", "no_membre", "matricule"),
    # pregnancy|grossesse or indigent|indigent, and for a pregnancy the day it ends.
    "exemption": ("exemption", "exoneration"),
    "exemption_until": ("exemption_until", "fin_exemption", "exemption_fin"),
    "group": ("group", "groupe"),  # the code of the group payer that pays its premium
}
REQUIRED = ("household", "last_name", "first_names", "sex", "birth_date", "relationship", "phone")
_BY_NAME = {name: canonical for canonical, names in NAMES.items() for name in names}


def fold(text: str) -> str:
    """Lower case, accents off, separators as single underscores: `Prénoms ` -> `prenoms`."""
    bare = unicodedata.normalize("NFKD", text.strip().lower())
    bare = "".join(ch for ch in bare if not unicodedata.combining(ch))
    return re.sub(r"[\s\-'’./]+", "_", bare).strip("_")


@dataclass(frozen=True)
class Columns:
    positions: dict[str, int]  # canonical name -> index in a row
    written: dict[str, str]  # canonical name -> the header as written in the file

    def cell(self, cells: Sequence[str], name: str) -> str:
        position = self.positions.get(name)
        if position is None or position >= len(cells):
            return ""
        return cells[position].strip()


def map_columns(header: Sequence[str]) -> Columns:
    """Every column known, every required one present, none twice; else one report.

    An unknown column is refused rather than skipped: a misspelt optional column
    (`npii`) would otherwise lose its data without a word."""
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    problems: list[str] = []
    for position, title in enumerate(header):
        if not title:
            continue  # the empty columns Excel adds after the last one
        canonical = _BY_NAME.get(fold(title))
        if canonical is None:
            problems.append(f'column {position + 1} "{title}" is not a column we know')
        elif canonical in positions:
            problems.append(
                f'columns "{written[canonical]}" and "{title}" are the same column ({canonical})'
            )
        else:
            positions[canonical], written[canonical] = position, title
    missing = [name for name in REQUIRED if name not in positions]
    if missing:
        problems.append("missing column(s): " + ", ".join(_both(name) for name in missing))
    if problems:
        expected = ", ".join(_both(name) for name in NAMES)
        raise FileProblem(
            "the header (line 1) is not right:\n"
            + "".join(f"  - {problem}\n" for problem in problems)
            + f"  columns, in English or French: {expected}\n"
            + "  required: "
            + ", ".join(_both(name) for name in REQUIRED)
        )
    return Columns(positions, written)


def _both(name: str) -> str:
    names = NAMES[name]
    return f"{names[0]}|{names[1]}" if len(names) > 1 else names[0]
