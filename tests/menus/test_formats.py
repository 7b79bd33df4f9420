"""Amounts and phone numbers as people read them, on screens and in SMS alike (issue 14,
item 6): "1575 F" ("1 575" reads as one and 575), "01 97 00 01 02" ("+2290197000102"
reads as one long number)."""

from __future__ import annotations

import pytest

from gateway.sms.texts import SmsTexts
from menus.identifiers import local_phone, mask_phone_for_screen
from menus.text import Money, Phone, T, load_catalogues

CATALOGUES = load_catalogues()


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(
    ("amount", "shown"), [(0, "0 F"), (350, "350 F"), (1575, "1575 F"), (1_599_984, "1599984 F")]
)
def test_an_amount_is_digits_then_F(language: str, amount: int, shown: str) -> None:
    catalogue = CATALOGUES[language]
    assert catalogue.render(T("amount_due", {"amount": Money(amount)})).endswith(shown)


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("+2290197000102", "01 97 00 01 02"),
        ("0197000102", "01 97 00 01 02"),
        ("+2250701020304", "+225 07 01 02 0304"),  # from elsewhere: its country code
        ("+229 01 97 ** ** 12", "+229 01 97 ** ** 12"),  # not a number: kept as it is
        ("", ""),
    ],
)
def test_a_phone_in_the_local_format(phone: str, shown: str) -> None:
    assert local_phone(phone) == shown


def test_a_masked_payer_in_the_local_format() -> None:
    assert mask_phone_for_screen("+2290197000112") == "01 97 ** ** 12"
    assert mask_phone_for_screen("+2250701020304").startswith("+225 07 ")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_screens_show_phones_locally_whether_typed_or_named(language: str) -> None:
    catalogue = CATALOGUES[language]
    by_name = catalogue.render(T("pay_confirm", {"amount": Money(1575), "phone": "+2290197000102"}))
    by_type = catalogue.render(
        T("pay_confirm", {"amount": Money(1575), "phone": Phone("+2290197000102")})
    )
    assert by_name == by_type
    assert "01 97 00 01 02" in by_name
    assert "1575 F" in by_name
    assert "+229" not in by_name


def test_an_sms_shows_amounts_without_a_thousands_separator() -> None:
    texts = SmsTexts.load("fr", "*123#")
    words = texts.word("fr", "premium_due", {"amount_due": 1575, "member_no": "100000011"})
    assert "1575 F" in words
    assert "1 575" not in words


@pytest.mark.parametrize(
    ("typed", "born"),
    [
        ("15/04/88", "1988-04-15"),
        ("150488", "1988-04-15"),
        ("010120", "2020-01-01"),
        ("15041988", "1988-04-15"),
        ("1988", "1988-01-01"),
    ],
)
def test_a_birth_date_with_two_digits_for_the_year(typed: str, born: str) -> None:
    from datetime import date

    from menus.context import MenuContext, SchemeSnapshot
    from menus.parsers import birth_date
    from menus.state import SessionState

    ctx = MenuContext(SchemeSnapshot(), date(2026, 11, 23))
    state = SessionState(node="enrol.birth", language="fr")
    assert birth_date(typed, ctx, state)["date"] == born
