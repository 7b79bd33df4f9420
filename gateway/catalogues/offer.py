"""Which languages callers are offered: the one decision every channel (USSD, voice)
asks here.

A catalogue no speaker has reviewed (`"_status": "draft"`) is not offered, unless the
operator lists its code in DRAFT_LANGUAGES (a trial with speakers, say). The default
language is always offered: it is what every error screen is written in. A language
with screens but no SMS texts is offered too; its SMS go out in the default language.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from gateway.catalogues import installed
from gateway.settings import Settings
from menus.text import Catalogue


def offered(
    catalogues: Mapping[str, Catalogue], default_language: str, drafts: Collection[str] = ()
) -> dict[str, Catalogue]:
    """The catalogues callers may use, default language first, the others by code (the
    order of the language menu)."""
    chosen = {
        code: catalogue
        for code, catalogue in catalogues.items()
        if catalogue.reviewed or code in drafts or code == default_language
    }
    return {code: chosen[code] for code in sorted(chosen, key=lambda c: (c != default_language, c))}


def offered_by(settings: Settings, catalogues: Mapping[str, Catalogue]) -> dict[str, Catalogue]:
    return offered(catalogues, settings.default_language, settings.draft_languages)


def offered_screens(settings: Settings) -> dict[str, Catalogue]:
    """The screen catalogues (what USSD shows and a voice channel says) callers are
    offered, shipped and installed, in the language menu's order."""
    return offered_by(settings, installed.catalogues(installed.SCREENS, settings.catalogues_dir))
