"""The recorded prompts: one file per catalogue key and language, played instead of the
provider's text-to-speech where it exists.

Layout: `<VOICE_PROMPTS_DIR>/<language>/<name>.mp3`, where a name is a catalogue key
without parameters or `voice_press_<n>` (menus.spoken says which phrase plays which).
The provider fetches them from `<VOICE_PROMPTS_URL>/<language>/<name>.mp3`: by default
this gateway serves the directory itself at PUBLIC_BASE_URL/voice/prompts.
"""

from __future__ import annotations

import re
from pathlib import Path

from menus.spoken import recording_names
from menus.text import Catalogue

SUFFIX = ".mp3"
# Both parts of a prompt's path come from a URL when served: nothing that climbs out.
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")  # as catalogues name them: ff-BF
NAME = re.compile(r"[a-z0-9_]{1,80}")


class Prompts:
    def __init__(self, directory: Path, base_url: str) -> None:
        self.directory = directory
        self.base_url = base_url.rstrip("/")

    def file(self, language: str, name: str) -> Path | None:
        """The recording's file, when it is there."""
        if not (LANGUAGE.fullmatch(language) and NAME.fullmatch(name)):
            return None
        path = self.directory / language / f"{name}{SUFFIX}"
        return path if path.is_file() else None

    def url(self, language: str, name: str) -> str | None:
        """Where the provider plays the recording from; None when it is not recorded."""
        if self.file(language, name) is None:
            return None
        return f"{self.base_url}/{language}/{name}{SUFFIX}"

    def missing(self, catalogue: Catalogue) -> list[str]:
        """The recordings a call in this language may play that are not there yet."""
        return [
            name
            for name in recording_names(catalogue)
            if self.file(catalogue.language, name) is None
        ]
