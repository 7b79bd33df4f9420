"""menus/identifiers.py: member numbers, national IDs and phone numbers as people type them."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from menus.identifiers import (
    MEMBER_NO_LENGTH,
    MemberNumberError,
    NationalIdRule,
    PhoneNumberError,
    damm_digit,
    mask_phone,
    member_number,
    normalise_phone,
    parse_member_number,
    phone_operator,
)

SERIALS = (0, 1, 11, 42, 1234, 99_999, 4_567_890, 87_654_321)
MEMBER_NUMBERS = [member_number(serial) for serial in SERIALS]

# -- Damm check digit ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ("572", "4"),  # the worked example of Damm's algorithm
        ("", "0"),
        ("0", "0"),
        ("10000000", "6"),
        ("10000001", "1"),
    ],
)
def test_damm_digit(body: str, check: str) -> None:
    assert damm_digit(body) == check
    assert damm_digit(body + check) == "0"


@pytest.mark.parametrize(
    ("serial", "number"),
    [(0, "100000006"), (1, "100000011"), (11, "100000112"), (89_999_999, "999999999")],
)
def test_member_number(serial: int, number: str) -> None:
    assert member_number(serial) == number
    assert parse_member_number(number) == number


@pytest.mark.parametrize("number", MEMBER_NUMBERS)
def test_member_numbers_have_nine_digits_and_a_valid_check_digit(number: str) -> None:
    assert len(number) == MEMBER_NO_LENGTH and number.isdigit()
    assert damm_digit(number) == "0"
    assert parse_member_number(number) == number


@pytest.mark.parametrize("number", MEMBER_NUMBERS)
def test_every_single_digit_substitution_is_caught(number: str) -> None:
    for position in range(len(number)):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            typo = number[:position] + digit + number[position + 1 :]
            with pytest.raises(MemberNumberError) as caught:
                parse_member_number(typo)
            assert caught.value.reason == "check_digit", typo


@pytest.mark.parametrize("number", MEMBER_NUMBERS)
def test_every_adjacent_transposition_is_caught(number: str) -> None:
    swapped_any = False
    for position in range(len(number) - 1):
        a, b = number[position], number[position + 1]
        if a == b:
            continue
        typo = number[:position] + b + a + number[position + 2 :]
        swapped_any = True
        with pytest.raises(MemberNumberError) as caught:
            parse_member_number(typo)
        assert caught.value.reason == "check_digit", typo
    assert swapped_any


@given(st.integers(min_value=0, max_value=89_999_999))
def test_every_serial_gives_a_number_that_parses_back(serial: int) -> None:
    number = member_number(serial)
    assert len(number) == MEMBER_NO_LENGTH
    assert parse_member_number(number) == number


# -- parsing member numbers as typed ------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "100000011",
        " 100000011 ",
        "100 000 011",
        "100-000-011",
        "100.000.011",
        "100/000/011",
        "1000 000 11",
        "100\t000\t011",
    ],
)
def test_separators_are_accepted(typed: str) -> None:
    assert parse_member_number(typed) == "100000011"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "10000001",  # eight digits
        "1000000110",  # ten digits
        "10000001a",
        "1000 0001",
        "100_000_011",  # underscore is not a separator
        "+100000011",
        "100000011#",
    ],
)
def test_wrong_format(typed: str) -> None:
    with pytest.raises(MemberNumberError) as caught:
        parse_member_number(typed)
    assert caught.value.reason == "format"


@pytest.mark.parametrize("typed", ["100000012", "100 000 010", "010000001"])
def test_wrong_check_digit(typed: str) -> None:
    with pytest.raises(MemberNumberError) as caught:
        parse_member_number(typed)
    assert caught.value.reason == "check_digit"


def test_a_superscript_digit_is_a_format_error_not_a_crash() -> None:
    with pytest.raises(MemberNumberError) as caught:
        parse_member_number("10000001²")
    assert caught.value.reason == "format"


def test_non_ascii_digits_never_come_back_as_a_member_number() -> None:
    arabic_indic = "١٠٠٠٠٠٠١١"  # 100000011
    try:
        parsed = parse_member_number(arabic_indic)
    except MemberNumberError:
        return
    assert parsed == "100000011"


# -- national ID --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "typed", "parsed"),
    [
        (NationalIdRule(), "1234567890", "1234567890"),
        (NationalIdRule(), " 1234567890 ", "1234567890"),
        (NationalIdRule(), "123 456 7890", "1234567890"),
        (NationalIdRule(), "123-456-7890", "1234567890"),
        (NationalIdRule(), "123.456.7890", "1234567890"),
        (NationalIdRule(), "123456789", None),
        (NationalIdRule(), "12345678901", None),
        (NationalIdRule(), "12345x7890", None),
        (NationalIdRule(), "123/456/7890", None),
        (NationalIdRule(), "", None),
        (NationalIdRule(length=8), "12345678", "12345678"),
        (NationalIdRule(length=8), "1234567890", None),
        (NationalIdRule(length=17), "1" * 17, "1" * 17),
    ],
)
def test_national_id_rule(rule: NationalIdRule, typed: str, parsed: str | None) -> None:
    assert rule.parse(typed) == parsed


def test_benin_npi_is_ten_digits_by_default() -> None:
    assert NationalIdRule().length == 10


# -- phone numbers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "97123456",  # legacy eight digits, still typed every day
        "97 12 34 56",
        "97-12-34-56",
        "97.12.34.56",
        "0197123456",
        "01 97 12 34 56",
        "(01) 97 12 34 56",
        "+22997123456",  # +229 with the legacy eight digits
        "+229 97 12 34 56",
        "0022997123456",
        "00229 97 12 34 56",
        "+2290197123456",
        "+229 01 97 12 34 56",
        "+229-01-97-12-34-56",
        "002290197123456",
    ],
)
def test_benin_numbers(typed: str) -> None:
    assert normalise_phone(typed) == "+2290197123456"


@pytest.mark.parametrize(
    "typed",
    ["70123456", "70 12 34 56", "+22670123456", "+226 70 12 34 56", "0022670123456"],
)
def test_burkina_numbers_with_default_region_bf(typed: str) -> None:
    assert normalise_phone(typed, default_region="BF") == "+22670123456"


def test_a_burkina_number_in_e164_is_understood_from_benin() -> None:
    assert normalise_phone("+226 70 12 34 56") == "+22670123456"


@pytest.mark.parametrize(
    ("typed", "region"),
    [
        ("", "BJ"),
        ("   ", "BJ"),
        ("abc", "BJ"),
        ("123", "BJ"),
        ("9712345", "BJ"),  # seven digits
        ("971234567", "BJ"),  # nine digits
        ("+229123", "BJ"),
        ("+22901971234", "BJ"),
        ("+2290197123456789", "BJ"),
        ("00", "BJ"),
        ("+", "BJ"),
        ("+226701234", "BF"),
        ("7012345", "BF"),
        ("+999 1234 5678", "BJ"),
    ],
)
def test_invalid_phone_numbers_raise(typed: str, region: str) -> None:
    with pytest.raises(PhoneNumberError):
        normalise_phone(typed, default_region=region)


@given(st.text(max_size=30))
def test_normalise_phone_returns_e164_or_raises_phone_number_error(typed: str) -> None:
    try:
        e164 = normalise_phone(typed)
    except PhoneNumberError:
        return
    assert re.fullmatch(r"\+\d{8,15}", e164)
    assert normalise_phone(e164) == e164


@pytest.mark.parametrize(
    ("e164", "operator"),
    [
        ("+2290197123456", "mtn"),
        ("+2290196123456", "mtn"),
        ("+2290166123456", "mtn"),
        ("+2290195123456", "moov"),
        ("+2290194123456", "moov"),
        ("+2290164123456", "moov"),
        ("+2290140123456", "celtiis"),
        ("+2290141123456", "celtiis"),
        ("+22670123456", "moov"),  # Moov Africa Burkina
        ("+2290129123456", None),  # a fixed line: no mobile-money operator
    ],
)
def test_phone_operator(e164: str, operator: str | None) -> None:
    assert phone_operator(e164) == operator


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+2290197123456", "+229********56"),
        ("+22670123456", "+226******56"),
        ("+2290140000001", "+229********01"),
        ("+229123", "+229*23"),
        ("123456", "***"),
        ("", "***"),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def _visible_digits(masked: str) -> str:
    return re.sub(r"\D", "", masked)


@given(st.from_regex(r"\+22[69]01\d{8}|\+226\d{8}", fullmatch=True))
def test_mask_phone_shows_only_country_code_and_last_two_digits(phone: str) -> None:
    masked = mask_phone(phone)
    assert len(masked) == len(phone)
    assert _visible_digits(masked) == phone[1:4] + phone[-2:]


@pytest.mark.parametrize("phone", ["+33612345678", "+12025550123"])
def test_mask_phone_with_short_country_codes(phone: str) -> None:
    country = str(phonenumbers.parse(phone).country_code)
    assert _visible_digits(mask_phone(phone)) == country + phone[-2:]


@pytest.mark.parametrize("typed", ["971234567", "9712345", "0197123456789"])
def test_invalid_number_errors_do_not_show_the_number(typed: str) -> None:
    with pytest.raises(PhoneNumberError) as caught:
        normalise_phone(typed)
    assert re.sub(r"\D", "", typed)[:4] not in str(caught.value)
