"""The catalogues of a language: shipped with the package, or installed by a mutual.

A language is two catalogues: its USSD screens (`screens`, also what a voice channel
says) and its SMS texts (`sms`). French and English ship with the package
(`menus/catalogues/`, `gateway/sms/templates/`); a mutual adds a language by putting
`screens/<lang>.json` and `sms/<lang>.json` under CATALOGUES_DIR, without editing the
package. An installed file may add a language, never replace a shipped one: French is
the source every other language is checked against.
"""

from __future__ import annotations

import json
import logging
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from menus.text import Catalogue, load_catalogues, placeholders

log = logging.getLogger(__name__)

SCREENS, SMS = "screens", "sms"
PARTS = (SCREENS, SMS)
SOURCE_LANGUAGE = "fr"
_SHIPPED = {SCREENS: ("menus", "catalogues"), SMS: ("gateway.sms", "templates")}


@dataclass(frozen=True)
class Found:
    """A catalogue and the file it came from (None: shipped with the package)."""

    catalogue: Catalogue
    path: Path | None


def shipped(part: str) -> dict[str, Catalogue]:
    return load_catalogues(*_SHIPPED[part])


def installed_files(part: str, directory: Path) -> dict[str, Path]:
    """`<directory>/<part>/<lang>.json`, by language code."""
    folder = directory / part
    if not folder.is_dir():
        return {}
    return {path.stem: path for path in sorted(folder.glob("*.json"))}


def read(language: str, path: Path) -> Catalogue:
    """A catalogue file; ValueError says why it cannot be one."""
    try:
        texts = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a readable JSON catalogue ({error})") from None
    if not isinstance(texts, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in texts.items()
    ):
        raise ValueError(f"{path}: a catalogue is one JSON object of texts (strings)")
    return Catalogue(language, texts)


def found(part: str, directory: Path) -> dict[str, Found]:
    """Shipped and installed catalogues of `part`; an unreadable, incomplete or shadowing
    file is left out with a warning (`alafia catalogue check` says all that is wrong)."""
    catalogues = {code: Found(c, None) for code, c in shipped(part).items()}
    for language, path in installed_files(part, directory).items():
        if language in catalogues:
            log.warning("catalogue %s ignored: %r ships with the package", path, language)
            continue
        try:
            catalogue = read(language, path)
        except ValueError as error:
            log.warning("catalogue ignored: %s", error)
            continue
        unusable = _unusable(catalogues[SOURCE_LANGUAGE].catalogue, catalogue)
        if unusable:  # a phone would meet a missing text: never offered
            log.warning("catalogue %s ignored: %s (alafia catalogue check)", path, unusable)
            continue
        catalogues[language] = Found(catalogue, path)
    return catalogues


def _unusable(source: Catalogue, catalogue: Catalogue) -> str | None:
    """Why `catalogue` cannot word every screen `source` words, if it cannot."""
    missing = set(source.texts) - set(catalogue.texts)
    if missing:
        return f"{len(missing)} texts missing, {sorted(missing)[0]} first"
    for key, text in source.texts.items():
        try:
            same = placeholders(text) == placeholders(catalogue.texts[key])
        except ValueError:
            same = False
        if not same:
            return f"the fields of {key} differ from French"
    return None


def catalogues(part: str, directory: Path) -> dict[str, Catalogue]:
    """What the gateway uses: the shipped ones, and the installed ones it can."""
    return {code: f.catalogue for code, f in found(part, directory).items()}


def readable(part: str, directory: Path) -> dict[str, Catalogue]:
    """Shipped and every readable installed catalogue, incomplete ones included: what
    the checks judge and what a translator's file starts from."""
    every = shipped(part)
    for language, path in installed_files(part, directory).items():
        if language not in every:
            with suppress(ValueError):
                every[language] = read(language, path)
    return every
