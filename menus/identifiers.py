"""Identifiers people type on a keypad: member numbers, national IDs, phone numbers.

These rules are pure and shared by the menus (to re-prompt at once) and the gateway
(to store one canonical form), so they live in the innermost package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import carrier

# Damm's quasigroup: one check digit that catches every single-digit error and every
# adjacent transposition, the two mistakes people make when copying a card number.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

# Serials start here so that every member number has the same nine digits.
MEMBER_SERIAL_BASE = 10_000_000
MEMBER_NO_LENGTH = 9


def damm_digit(digits: str) -> str:
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][int(ch)]
    return str(interim)


def member_number(serial: int) -> str:
    """The member number for a database serial: eight digits and a check digit."""
    body = str(MEMBER_SERIAL_BASE + serial)
    return body + damm_digit(body)


class MemberNumberError(ValueError):
    """`reason` is `format` (not nine digits) or `check_digit` (a digit is wrong)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_member_number(text: str) -> str:
    """Accept spaces, dashes and dots as people write them; check the check digit."""
    digits = re.sub(r"[\s.\-/]", "", text)
    if not re.fullmatch(rf"[0-9]{{{MEMBER_NO_LENGTH}}}", digits):
        raise MemberNumberError("format")
    if damm_digit(digits) != "0":
        raise MemberNumberError("check_digit")
    return digits


@dataclass(frozen=True)
class NationalIdRule:
    """Benin's NPI is ten digits; other schemes set their own length."""

    length: int = 10

    def parse(self, text: str) -> str | None:
        digits = re.sub(r"[\s.\-]", "", text)
        return digits if re.fullmatch(rf"[0-9]{{{self.length}}}", digits) else None


class PhoneNumberError(ValueError):
    pass


@lru_cache(maxsize=65_536)  # parsing is costly and every hop of a session repeats it
def normalise_phone(text: str, default_region: str = "BJ") -> str:
    """E.164 for what a person or an aggregator gives us.

    Benin moved to ten digits on 30 Nov 2024 by prefixing 01; people still type the
    old eight digits, which current metadata rejects, so we add the 01 ourselves.
    """
    raw = re.sub(r"[\s.\-()]", "", text)
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if default_region == "BJ":
        if re.fullmatch(r"\d{8}", raw):
            raw = "01" + raw
        elif re.fullmatch(r"\+229\d{8}", raw):
            raw = "+22901" + raw[4:]
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneNumberError(str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneNumberError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_operator(e164: str) -> str | None:
    """mtn, moov or celtiis, from phonenumbers' carrier metadata (kept up to date
    upstream, unlike a prefix table of ours); None when the prefix is unknown."""
    name = carrier.name_for_number(phonenumbers.parse(e164), "en").strip().lower()
    for operator in ("mtn", "moov", "celtiis"):
        if name.startswith(operator):
            return operator
    return None


def mask_phone(phone: str) -> str:
    """Logs keep the country code and the last two digits only."""
    try:
        country = str(phonenumbers.parse(phone).country_code)
    except phonenumbers.NumberParseException:
        country = ""
    digits = re.sub(r"\D", "", phone)
    national = digits[len(country) :] if country and digits.startswith(country) else digits
    if not country:
        return "***" if len(digits) <= 6 else "*" * (len(digits) - 2) + digits[-2:]
    return "+" + country + "*" * max(len(national) - 2, 1) + national[-2:]


HOME_REGION = "BJ"  # phones of this country are shown the way people write them there


@lru_cache(maxsize=4096)
def local_phone(phone: str, home: str = HOME_REGION) -> str:
    """A phone number as people of `home` write it: `01 97 00 01 02`, not
    `+2290197000102` (read as one long number); a number from elsewhere keeps its country
    code (`+225 07 01 02 0304`). What is not a number (a masked one, a name) is kept."""
    try:
        parsed = phonenumbers.parse(phone, None if phone.startswith("+") else home)
    except phonenumbers.NumberParseException:
        return phone
    if not phonenumbers.is_valid_number(parsed):
        return phone
    if phonenumbers.region_code_for_number(parsed) == home:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def mask_phone_for_screen(phone: str, home: str = HOME_REGION) -> str:
    """A payer's number as a phone screen shows it: enough to recognise one's own, not
    enough to learn someone else's (`01 97 ** ** 12`, the local format; `+225 07 ** ** 04`
    from elsewhere). GSM-7 stars, not bullets: a single bullet would switch the whole
    screen to UCS-2 and halve its room."""
    try:
        parsed = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return mask_phone(phone)
    national = phonenumbers.national_significant_number(parsed)
    pairs = [national[i : i + 2] for i in range(0, len(national), 2)]
    # Benin's 10-digit numbers all start 01: the operator's pair after it is kept too.
    shown = 2 if len(pairs) >= 5 and pairs[0] == "01" else 1
    if len(pairs) <= shown + 1:
        return mask_phone(phone)
    middle = ["*" * len(pair) for pair in pairs[shown:-1]]
    country = (
        [] if phonenumbers.region_code_for_number(parsed) == home else [f"+{parsed.country_code}"]
    )
    return " ".join([*country, *pairs[:shown], *middle, pairs[-1]])
