"""What the host tells the engine about the world, read-only: the engine does no I/O."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from menus.identifiers import NationalIdRule


@dataclass(frozen=True)
class Mutual:
    code: str
    name: str
    commune: str


@dataclass(frozen=True)
class Product:
    code: str
    names: dict[str, str]  # per language
    mutual_codes: frozenset[str]
    premium_per_person: int
    household_premium: int | None = None
    max_members: int | None = None
    window: tuple[tuple[int, int], tuple[int, int]] | None = None  # ((month, day), (month, day))
    # A sponsor's share for every household on the product (categories aside).
    sponsor_percent: int = 0
    sponsor_per_person: int = 0
    # The smallest part payment, in francs; the whole rest due is accepted below it.
    min_part_payment: int = 500
    # The host's pricing of a household joining today, person by person (age bands,
    # free care by age, pro-rata): a pure function of the persons' birth dates and the day
    # (`gateway.enrolment.pricing.household_pricer`). None: priced by the counts above.
    household_price: Callable[[tuple[date, ...], date], int] | None = field(
        default=None, compare=False, repr=False
    )

    def premium_for(self, persons: int) -> int:
        """A lump sum for the household where the product has one, else per person."""
        if self.household_premium is not None:
            return self.household_premium
        return self.premium_per_person * persons

    def member_share(self, persons: int) -> int:
        """What the household pays itself once the sponsor's share is taken off."""
        premium = self.premium_for(persons)
        sponsored = premium * self.sponsor_percent // 100 + self.sponsor_per_person * persons
        return premium - min(sponsored, premium)

    def premium_of(self, births: Sequence[date], today: date) -> int:
        """What a household of persons born on `births` pays itself, joining today."""
        if self.household_price is not None:
            return self.household_price(tuple(births), today)
        return self.member_share(len(births))

    def is_open(self, day: date) -> bool:
        if self.window is None:
            return True
        start, end = self.window
        here = (day.month, day.day)
        if start <= end:
            return start <= here <= end
        return here >= start or here <= end  # a campaign that spans the new year

    def next_opening(self, day: date) -> date:
        assert self.window is not None
        (month, dom), _ = self.window
        opening = date(day.year, month, dom)
        return opening if opening > day else date(day.year + 1, month, dom)


@dataclass(frozen=True)
class Occupation:
    code: str
    names: dict[str, str]


@dataclass(frozen=True)
class SchemeSnapshot:
    mutuals: tuple[Mutual, ...] = ()
    products: tuple[Product, ...] = ()
    occupations: tuple[Occupation, ...] = ()

    def mutual(self, code: str) -> Mutual | None:
        return next((m for m in self.mutuals if m.code == code), None)

    def product(self, code: str) -> Product | None:
        return next((p for p in self.products if p.code == code), None)

    def products_of(self, mutual_code: str) -> list[Product]:
        return [p for p in self.products if mutual_code in p.mutual_codes]

    def communes(self) -> list[str]:
        return sorted({m.commune for m in self.mutuals})


@dataclass(frozen=True)
class MenuContext:
    scheme: SchemeSnapshot
    today: date
    max_chars: int = 160
    languages: dict[str, str] = field(default_factory=dict)  # code -> own name
    national_id: NationalIdRule = field(default_factory=NationalIdRule)
    country: str = "BJ"  # region of phone numbers typed without a country code
    payments: bool = False  # whether mobile money is configured here
    resume: dict[str, Any] | None = None  # an unfinished journey this phone may continue
    by_voice: bool = False  # a call: spoken questions may be answered with a recording
    # How long a dropped journey's answers are kept for the next dial (USSD_RESUME_TTL):
    # what a caller ended by wrong answers is told. 0 keeps nothing.
    resume_minutes: int = 10
