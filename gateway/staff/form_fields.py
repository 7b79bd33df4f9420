"""Reading what people type into the dashboard's management forms, and the errors shown
next to each field.

An error is a catalogue key and its parameters, keyed by the field it belongs to; the
template writes it under that field (see `manage_macros.html`), in the page's language:

    errors: Errors = {}
    try:
        phone = read_phone(form_text(form, "phone"), dashboard.country)
    except PhoneNumberError:
        errors["phone"] = FieldError("manage.error.phone", phone_examples(dashboard.country))
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from starlette.datastructures import FormData

from menus.identifiers import PhoneNumberError, normalise_phone

# Phones in one box are one per line; commas and semicolons also separate them (spaces
# do not: people write a number in groups, "01 97 00 03 02").
_PHONE_SEPARATORS = re.compile(r"[\n\r,;]+")
_AMOUNT = re.compile(r"[0-9][0-9 \u00a0\u202f.]*")


@dataclass(frozen=True)
class FieldError:
    key: str  # in the catalogues
    params: dict[str, Any] = field(default_factory=dict)


Errors = dict[str, FieldError]  # by the field's name


class BadPhone(ValueError):
    """One of several phones typed is not a number; `typed` is that one, as typed."""

    def __init__(self, typed: str) -> None:
        super().__init__(typed)
        self.typed = typed


def form_text(form: FormData, name: str, limit: int = 200) -> str:
    """A text field, trimmed, at most `limit` characters (a longer one is cut and then
    refused by the service's own rule rather than stored)."""
    value = form.get(name)
    return value.strip()[: limit + 1] if isinstance(value, str) else ""


def read_phone(typed: str, country: str) -> str:
    """E.164, as the CLI reads `--phone` (old 8-digit Benin numbers are fine)."""
    if not typed:
        raise PhoneNumberError("empty")
    return normalise_phone(typed, country)


def read_phones(typed: str, country: str) -> list[str]:
    """Several phones, one per line; the first that is not a number raises BadPhone."""
    phones: list[str] = []
    for part in _PHONE_SEPARATORS.split(typed):
        if not part.strip():
            continue
        try:
            phone = read_phone(part.strip(), country)
        except PhoneNumberError:
            raise BadPhone(part.strip()) from None
        if phone not in phones:
            phones.append(phone)
    return phones


def phone_examples(country: str) -> dict[str, str]:
    """A mobile number of the country as people write it, alone and with the country
    code, for the hint under a phone field: `01 95 12 34 56`, `+229 01 95 12 34 56`."""
    number = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    if number is None:  # a country phonenumbers has no example for
        return {"example": "01 95 12 34 56", "international": "+229 01 95 12 34 56"}
    return {
        "example": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
        "international": phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        ),
    }


def readable_phone(e164: str) -> str:
    """A stored number as people read it: `+229 01 97 00 06 01`."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def read_amount(typed: str) -> int | None:
    """Whole francs as people write them (`10 000`, `10.000`); None when it is not one."""
    if not _AMOUNT.fullmatch(typed):
        return None
    digits = re.sub(r"\D", "", typed)
    return int(digits) if len(digits) <= 9 else None
