"""What a log line must not carry, taken out of its text: phone numbers, national IDs
(NPI), the values of query strings, secrets, long numbers in URL paths (member numbers)
and the name fields of structured text.

It works on the finished line (message, traceback, stack) because a library's message or
an exception's text is a string by the time it reaches us. Names cannot be recognised in
free text: our own log calls never pass one; here only the name fields of key=value,
JSON and dataclass-repr text are caught. The masked forms keep what helps debugging: a
phone's country code, operator prefix and last two digits; a query string's keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers

REDACTED = "•••"
_HIDDEN = "•• ••"

# Keys whose value identifies a person or is a secret, however they are spelled
# (first_names, firstName, payer_phone, phoneNumber, national_id, X-Api-Key...).
_PERSONAL_KEYS = (
    r"(?:first|last|other|given|family|full|payer|head|middle)[_\-]?names?|names?|surname"
    r"|given|family|npi|national[_\-]?id|identifier(?:_value)?|chf[_\-]?id"
    r"|insuree[_\-]?(?:number|no)|member[_\-]?(?:no|number|identifier)"
    r"|msisdn|phone(?:[_\-]?number)?|payer[_\-]?phone|payer|from|to"
)
_SECRET_KEYS = (
    r"(?:access|refresh|id|callback)?[_\-]?token|secret|client[_\-]?secret|password|passwd|pin"
    r"|api[_\-]?key|apikey|x[_\-]api[_\-]key|authorization|signature|activation[_\-]?code"
)
_KEYS = rf"(?:{_PERSONAL_KEYS}|{_SECRET_KEYS})"

_QUOTED = r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\""
_LIST = r"\[\s*(?:(?:'[^'\n]*'|\"[^\"\n]*\")\s*,?\s*)*\]"

# ?key=value&key=value in URLs and form bodies: every value goes, the keys stay.
_QUERY_PAIR = re.compile(r"([?&])([^\s=&?#\"'<>]+)=([^&\s\"'<>#]+)")
# key=value / key='value' (logfmt, dataclass reprs) for the keys above.
_ASSIGNED = re.compile(
    rf"(?<![\w.\-])({_KEYS})(\s*=\s*)({_QUOTED}|{_LIST}|[^\s&,;)\]}}'\"]+)", re.IGNORECASE
)
# "key": "value" / 'key': 123 / "given": ["..."] (JSON, dict reprs).
_QUOTED_KEY = re.compile(
    rf"([\"'])({_KEYS})\1(\s*:\s*)({_QUOTED}|{_LIST}|-?\d[\d.]*)", re.IGNORECASE
)
# Headers as a library prints them: "Authorization: Bearer abc".
_HEADER = re.compile(
    r"(?<![\w\-])(authorization|proxy-authorization|cookie|set-cookie|x-api-key|apikey)"
    r"(\s*:\s*)([^\s,}\]'\"][^\n,}\]'\"]*)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(bearer|basic|token)\s+[A-Za-z0-9\-._~+/]{8,}=*", re.IGNORECASE)
_USERINFO = re.compile(r"\b([a-z][a-z0-9+.\-]*://)([^\s:/@]*):([^\s@/]+)@", re.IGNORECASE)

# /api/v1/eligibility/100000016: a member number (or any long number) as a path segment.
_PATH_NUMBER = re.compile(r"(?<=/)\d{6,}(?=[/?#\s\"']|$)", re.MULTILINE)
# +229 01 97 00 00 12, +2290197000012, %2B2290197000012 (URL-encoded).
_INTERNATIONAL = re.compile(r"(?:\+|%2B)\s?\d(?:[ .\-]?\d){7,14}(?![\d•])", re.IGNORECASE)
# 2290197000012: E.164 without its plus, as some aggregators write it.
_BARE_INTERNATIONAL = re.compile(r"(?<![\w+%.•])\d{11,15}(?![\w•])")
# 0197000012, 01 97 00 00 12: Benin's national form; and any other ten digits, which is
# the shape of an NPI. A ten-digit number that is neither (a Unix time) goes too.
_LOCAL_SPACED = re.compile(r"(?<![\w+%.:•])01(?:[ .]\d{2}){4}(?![\w•])")
_TEN_DIGITS = re.compile(r"(?<![\w+%.:\-•])\d{10}(?![\w:•])")


def mask(text: str) -> str:
    """`text` without the personal data and secrets it carries; idempotent."""
    for rule in _RULES:
        text = rule(text)
    return text


def mask_phone_digits(digits: str, international: bool) -> str:
    """+229 01 97 •• •• 12: the country code, at most four leading national digits (the
    operator's prefix), four hidden, the last two."""
    country = _country_code(digits) if international else ""
    national = digits[len(country) :]
    head = national[: min(4, max(len(national) - 6, 0))]
    pairs = [head[:2], head[2:]] if len(head) == 4 else [head] if head else []
    shown = " ".join([f"+{country}"] * bool(country) + pairs)
    if len(national) < 6:
        return f"{shown} {REDACTED}{national[-2:]}".strip()
    return f"{shown} {_HIDDEN} {national[-2:]}".strip()


def _country_code(digits: str) -> str:
    try:
        return str(phonenumbers.parse("+" + digits).country_code)
    except phonenumbers.NumberParseException:
        return ""


def _query(text: str) -> str:
    return _QUERY_PAIR.sub(lambda m: f"{m[1]}{m[2]}={REDACTED}", text)


def _redacted_value(value: str) -> str:
    if value[:1] in "'\"":
        return f"{value[0]}{REDACTED}{value[0]}"
    if value[:1] == "[":
        return f"[{REDACTED}]"
    return REDACTED


def _assigned(text: str) -> str:
    return _ASSIGNED.sub(lambda m: f"{m[1]}{m[2]}{_redacted_value(m[3])}", text)


def _quoted_key(text: str) -> str:
    return _QUOTED_KEY.sub(lambda m: f"{m[1]}{m[2]}{m[1]}{m[3]}{_redacted_value(m[4])}", text)


def _secrets(text: str) -> str:
    text = _USERINFO.sub(lambda m: f"{m[1]}{m[2]}:{REDACTED}@", text)
    text = _HEADER.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    return _BEARER.sub(lambda m: f"{m[1]} {REDACTED}", text)


def _path_numbers(text: str) -> str:
    return _PATH_NUMBER.sub(lambda m: "•" * (len(m[0]) - 2) + m[0][-2:], text)


def _international(text: str) -> str:
    def masked(match: re.Match[str]) -> str:
        return mask_phone_digits(re.sub(r"\D", "", match[0].upper().replace("%2B", "")), True)

    return _INTERNATIONAL.sub(masked, text)


def _bare_international(text: str) -> str:
    def masked(match: re.Match[str]) -> str:
        try:
            valid = phonenumbers.is_valid_number(phonenumbers.parse("+" + match[0]))
        except phonenumbers.NumberParseException:
            valid = False
        return mask_phone_digits(match[0], True) if valid else match[0]

    return _BARE_INTERNATIONAL.sub(masked, text)


def _local(text: str) -> str:
    def masked(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match[0])
        if digits.startswith("01"):
            return mask_phone_digits(digits, False)
        return "•" * 8 + digits[-2:]

    return _TEN_DIGITS.sub(masked, _LOCAL_SPACED.sub(masked, text))


_RULES: tuple[Callable[[str], str], ...] = (
    _secrets,
    _query,
    _quoted_key,
    _assigned,
    _path_numbers,
    _international,
    _bare_international,
    _local,
)
