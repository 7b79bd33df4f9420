"""Keywords of incoming SMS: what a person texts, what it is read as (`menus.keywords`)."""

from __future__ import annotations

import pytest

from menus import keywords
from menus.keywords import KEYWORDS, Request, read

RIGHTS, HELP, STOP, START, UNKNOWN = (
    keywords.RIGHTS,
    keywords.HELP,
    keywords.STOP,
    keywords.START,
    keywords.UNKNOWN,
)

# what the phone texts -> (kind, language of the reply, argument)
READINGS: list[tuple[str, tuple[str, str | None, str]]] = [
    # the keywords as printed on the card and in the help text
    ("DROITS 100000011", (RIGHTS, "fr", "100000011")),
    ("STATUS 100000011", (RIGHTS, "en", "100000011")),
    ("AIDE", (HELP, "fr", "")),
    ("HELP", (HELP, "en", "")),
    ("STOP", (STOP, None, "")),
    ("START", (START, None, "")),
    # other words people use for the same things
    ("DROIT 100000011", (RIGHTS, "fr", "100000011")),
    ("STATUT 100000011", (RIGHTS, "fr", "100000011")),
    ("RIGHTS 100000011", (RIGHTS, "en", "100000011")),
    ("ARRET", (STOP, "fr", "")),
    ("REPRISE", (START, "fr", "")),
    # case
    ("droits 100000011", (RIGHTS, "fr", "100000011")),
    ("Status 100000011", (RIGHTS, "en", "100000011")),
    ("aide", (HELP, "fr", "")),
    ("hElP", (HELP, "en", "")),
    ("stop", (STOP, None, "")),
    ("Start", (START, None, "")),
    # accents, typed or not, in any case
    ("Arrêt", (STOP, "fr", "")),
    ("arrêt", (STOP, "fr", "")),
    ("ARRÊT", (STOP, "fr", "")),
    ("Aïde", (HELP, "fr", "")),
    ("Droîts 100000011", (RIGHTS, "fr", "100000011")),
    ("Réprise", (START, "fr", "")),
    # the member number as written on the card or copied by hand
    ("droits 100 000 011", (RIGHTS, "fr", "100 000 011")),
    ("STATUS 100-000-011", (RIGHTS, "en", "100-000-011")),
    ("Droits 100.000.011", (RIGHTS, "fr", "100.000.011")),
    # spaces: around, several, tabs, new lines, a non-breaking space, full-width letters
    ("  aide  ", (HELP, "fr", "")),
    ("DROITS   100000011  ", (RIGHTS, "fr", "100000011")),
    ("DROITS\t100000011", (RIGHTS, "fr", "100000011")),
    ("Droits\n100 000\n011", (RIGHTS, "fr", "100 000\n011")),
    ("stop\n", (STOP, None, "")),
    ("DROITS\u00a0100000011", (RIGHTS, "fr", "100000011")),
    ("ＳＴＯＰ", (STOP, None, "")),
    # punctuation around the keyword
    ("Aide!", (HELP, "fr", "")),
    ("aide ?", (HELP, "fr", "")),
    ("Stop.", (STOP, None, "")),
    ("STOP!!!", (STOP, None, "")),
    ("help?", (HELP, "en", "")),
    ("DROITS: 100000011", (RIGHTS, "fr", "100000011")),
    ("«stop»", (STOP, None, "")),
    # punctuation, or nothing at all, between the keyword and the number
    ("DROITS:100000011", (RIGHTS, "fr", "100000011")),
    ("Droits,100000011", (RIGHTS, "fr", "100000011")),
    ("droits100000011", (RIGHTS, "fr", "100000011")),
    ("status#100000011", (RIGHTS, "en", "100000011")),
    # a keyword alone, or with words after it: the service decides what to do with them
    ("DROITS", (RIGHTS, "fr", "")),
    ("STOP svp", (STOP, None, "SVP")),
    # nothing that can be read
    ("", (UNKNOWN, None, "")),
    ("   ", (UNKNOWN, None, "")),
    ("?", (UNKNOWN, None, "")),
    ("...", (UNKNOWN, None, "")),
    ("100000011", (UNKNOWN, None, "")),
    ("bonjour", (UNKNOWN, None, "")),
    ("Bonjour, je veux mes droits", (UNKNOWN, None, "JE VEUX MES DROITS")),
    ("STOPPER", (UNKNOWN, None, "")),
    ("DROITSS 100000011", (UNKNOWN, None, "100000011")),
    ("AIDER", (UNKNOWN, None, "")),
    ("S T O P", (UNKNOWN, None, "T O P")),
]


@pytest.mark.parametrize(("text", "expected"), READINGS, ids=[repr(t) for t, _ in READINGS])
def test_read(text: str, expected: tuple[str, str | None, str]) -> None:
    assert read(text) == Request(*expected)


def test_every_keyword_reads_as_itself_in_any_case() -> None:
    for word, (kind, language) in KEYWORDS.items():
        for typed in (word, word.lower(), word.capitalize()):
            assert read(typed) == Request(kind, language, ""), typed
