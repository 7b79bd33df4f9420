"""The words of every SMS, one catalogue per language (`templates/<lang>.json`).

A message is stored with its template and values, and worded once, when it is queued:
what was measured (encoding, segments) is exactly what leaves.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from gateway.catalogues import installed
from gateway.catalogues.offer import offered_by
from gateway.settings import Settings
from menus.gsm import fold
from menus.text import Catalogue, Money, T, load_catalogues

# How stored values (plain JSON) are shown: amounts grouped with their currency, days
# in the language's date format.
MONEY_PARAMS = frozenset({"amount", "amount_due"})
DATE_PARAMS = frozenset(
    {"covered_from", "covered_until", "grace_until", "closes_on", "waiting_until"}
)

# What staff may send to a part of the scheme (`alafia sms campaign --template`).
CAMPAIGN_TEMPLATES = ("campaign_enrol", "campaign_pay", "campaign_renew")


class SmsTexts:
    def __init__(self, catalogues: Mapping[str, Catalogue], default_language: str, ussd_code: str):
        if default_language not in catalogues:
            raise ValueError(f"no SMS templates for the default language {default_language!r}")
        self.catalogues = dict(catalogues)
        self.default_language = default_language
        self.ussd_code = ussd_code

    @classmethod
    def load(cls, default_language: str, ussd_code: str) -> SmsTexts:
        """The shipped templates only (tools and tests)."""
        return cls(load_catalogues("gateway.sms", "templates"), default_language, ussd_code)

    @classmethod
    def configured(cls, settings: Settings) -> SmsTexts:
        """Shipped and installed templates of the languages callers are offered."""
        catalogues = installed.catalogues(installed.SMS, settings.catalogues_dir)
        return cls(
            offered_by(settings, catalogues), settings.default_language, settings.sms.ussd_code
        )

    def language(self, wanted: str | None) -> str:
        return wanted if wanted in self.catalogues else self.default_language

    def word(self, language: str, template: str, params: Mapping[str, Any]) -> str:
        values: dict[str, Any] = {"ussd_code": self.ussd_code}
        for key, value in params.items():
            if key in MONEY_PARAMS:
                values[key] = Money(int(value))
            elif key in DATE_PARAMS and isinstance(value, str):
                values[key] = date.fromisoformat(value)
            elif isinstance(value, str):
                # Names (a mutual, a product, a patient) in GSM-7 where a close letter
                # exists: one "ɔ" would make the whole SMS UCS-2 and double its cost. A
                # script with no such letters is kept as written, not turned into "?".
                folded = fold(value)
                values[key] = folded if folded.count("?") == value.count("?") else value
            else:
                values[key] = value
        return self.catalogues[self.language(language)].render(T(template, values))
