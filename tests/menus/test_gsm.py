"""menus/gsm.py: what a text costs on the air, and folding names into GSM-7."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menus import gsm

# Letters French screens use that GSM-7 has, and those it lacks (DESIGN.md §4).
FRENCH_IN_GSM7 = "éèùìòàÉÇ"
FRENCH_OUTSIDE_GSM7 = "âêîôûëïœç"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "CON Mutuelle de santé\n1. Adhérer",
        "Père ou mère, numéro, Élève",
        FRENCH_IN_GSM7,
        "@£$¥ΔΦΓΛΩΠΨΣΘΞ¡¿§ÄÖÑÜäöñüÆæßØøÅå",
        "{[~]}^|\\€",  # the extension table is still GSM-7
        "\f",
    ],
)
def test_gsm7_texts(text: str) -> None:
    assert gsm.is_gsm7(text)


@pytest.mark.parametrize(
    "text",
    [
        *FRENCH_OUTSIDE_GSM7,
        "Hôpital",
        "Dɔsɔu",  # Fon open o
        "ɛ",
        "Ọlá",  # Yoruba dot below
        "😀",
        "a\u0301",  # a combining accent
        "\t",
        "`",
    ],
)
def test_one_character_outside_gsm7_makes_the_text_ucs2(text: str) -> None:
    assert not gsm.is_gsm7(text)
    assert not gsm.is_gsm7("CON Bonjour " + text)


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("", 0),
        ("abc", 3),
        ("é\n", 2),
        ("€", 2),
        ("{}", 4),
        ("[~]", 6),
        ("^|\\", 6),
        ("\f", 2),
        ("Prix: 100€", 11),
        # UCS-2: every character costs one UTF-16 unit, extension characters included
        ("ê", 1),
        ("ê€", 2),
        ("Hôpital {x}", 11),
        # outside the BMP: a surrogate pair is two units
        ("😀", 2),
        ("a😀b", 4),
    ],
)
def test_length(text: str, units: int) -> None:
    assert gsm.length(text) == units


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("plain", 160, 160),
        ("plain", 182, 182),
        ("with € sign", 160, 160),
        ("Hôpital", 160, 80),
        ("Hôpital", 182, 91),
        ("", 160, 160),
    ],
)
def test_limit_for_halves_in_ucs2(text: str, limit: int, expected: int) -> None:
    assert gsm.limit_for(text, limit) == expected


@pytest.mark.parametrize(
    ("text", "limit", "fits"),
    [
        ("a" * 160, 160, True),
        ("a" * 161, 160, False),
        ("a" * 182, 182, True),
        ("a" * 159 + "€", 160, False),  # the euro sign costs two
        ("a" * 158 + "€", 160, True),
        ("ê" * 80, 160, True),
        ("ê" * 81, 160, False),
        ("ê" + "a" * 79, 160, True),
        ("ê" + "a" * 80, 160, False),
        ("😀" * 40, 160, True),
        ("😀" * 40 + "a", 160, False),
    ],
)
def test_fits(text: str, limit: int, fits: bool) -> None:
    assert gsm.fits(text, limit) is fits


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        # already GSM-7: untouched, accents included
        ("Zémidjan", "Zémidjan"),
        ("Élève à l'école", "Élève à l'école"),
        ("Père", "Père"),
        # French letters outside GSM-7
        ("Françoise", "Francoise"),
        ("FRANÇOISE", "FRANÇOISE"),  # Ç is in GSM-7
        ("cœur", "coeur"),
        ("ŒUVRE", "OEUVRE"),
        ("Hôpital", "Hopital"),
        ("Gbêtô", "Gbeto"),
        ("Noël", "Noel"),
        ("Anaïs", "Anais"),
        ("Jérôme", "Jérome"),  # é stays, ô folds
        ("âêîôû ÂÊÎÔÛ", "aeiou AEIOU"),
        ("ÿŸ", "yY"),
        # typographic punctuation
        ("l’école", "l'école"),
        ("‘x’", "'x'"),
        ("«Oui»", '"Oui"'),
        ("Kandi–Gogounou—Ségbana", "Kandi-Gogounou-Ségbana"),
        # Yoruba and Fon letters with a precomposed base letter
        ("Adéṣọlá", "Adésola"),
        ("Ọba", "Oba"),
        ("ãõñ", "aoñ"),
        ("Ńdali", "Ndali"),
        # nothing close in GSM-7: a question mark keeps the length honest
        ("😀", "?"),
    ],
)
def test_fold(typed: str, folded: str) -> None:
    assert gsm.fold(typed) == folded
    assert gsm.is_gsm7(gsm.fold(typed))


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Dɔsɔu", "Dosou"),
        ("Hɛnɔ", "Heno"),
        ("ɖokpo", "dokpo"),
        ("ƐƆƉ", "EOD"),
    ],
)
def test_fold_fon_letters(typed: str, folded: str) -> None:
    assert gsm.fold(typed) == folded


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Rene\u0301", "René"),  # e + U+0301, as some keyboards and web forms send it
        ("Ẹ\u0300ní", "Eni"),  # Yoruba: dot-below letter with a combining tone mark
    ],
)
def test_fold_decomposed_accents(typed: str, folded: str) -> None:
    assert gsm.fold(typed) == folded


@given(st.text(max_size=60))
def test_fold_always_gives_gsm7(text: str) -> None:
    folded = gsm.fold(text)
    assert gsm.is_gsm7(folded)
    assert gsm.fold(folded) == folded


@given(st.text(alphabet=sorted(gsm.BASIC), max_size=60))
def test_basic_gsm7_text_costs_one_unit_a_character(text: str) -> None:
    assert gsm.length(text) == len(text)
    assert gsm.fold(text) == text
