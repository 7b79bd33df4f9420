"""The work of `alafia catalogue ...`: files in and out, problems on stderr."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gateway.catalogues import installed, translation
from gateway.catalogues.checks import Problem, check_all
from gateway.commands import refused
from gateway.settings import Settings
from menus.text import Catalogue


def export(settings: Settings, args: argparse.Namespace) -> int:
    language = args.language
    if not translation.LANGUAGE_CODE.match(language):
        return refused("exported", ValueError(f"{language!r} is not a language code"))
    screens = installed.readable(installed.SCREENS, settings.catalogues_dir)
    sms = installed.readable(installed.SMS, settings.catalogues_dir)
    encoding = args.encoding or _encoding_of(screens.get(language))
    text = translation.export(language, encoding, screens, sms)
    try:
        Path(args.output).write_text(text, "utf-8")
    except OSError as error:
        return refused("exported", error)
    print(f"{args.output}: {text.count('msgctxt')} texts for {language!r}, budgets in {encoding}")
    return 0


def _encoding_of(catalogue: Catalogue | None) -> str:
    """A known language's own choice; UCS-2 for a new one, the smaller room."""
    if catalogue is None:
        return "ucs2"
    return str(catalogue.meta.get("_encoding", "gsm7" if catalogue.language == "en" else "ucs2"))


def take(settings: Settings, args: argparse.Namespace) -> int:
    try:
        text = Path(args.file).read_text("utf-8-sig")  # some editors start a PO with a BOM
    except (OSError, UnicodeDecodeError) as error:
        return refused("imported", error)
    taken = translation.take(
        text,
        installed.catalogues(installed.SCREENS, settings.catalogues_dir),
        installed.catalogues(installed.SMS, settings.catalogues_dir),
        language=args.language,
        fold=args.fold,
        reviewed_by=args.reviewed_by,
    )
    if taken.problems:
        _report(taken.problems)
        print(f"not imported: {len(taken.problems)} problems", file=sys.stderr)
        return 2
    folder = Path(args.output) if args.output else settings.catalogues_dir
    written = []
    try:
        for part, texts in taken.catalogues.items():
            path = folder / part / f"{taken.language}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(texts, ensure_ascii=False, indent=2) + "\n", "utf-8")
            written.append(str(path))
    except OSError as error:
        return refused("imported", error)
    status = texts["_status"]
    print(f"{taken.language} ({status}, {texts['_encoding']}): {', '.join(written)}")
    return 0


def check(settings: Settings) -> int:
    problems = check_all(settings.catalogues_dir)
    if problems:
        _report(problems)
        print(f"{len(problems)} problems", file=sys.stderr)
        return 1
    print("every catalogue is complete and every screen fits")
    return 0


def _report(problems: list[Problem]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)
