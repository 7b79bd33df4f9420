"""gateway/enrolment/pricing.py, the pure part: each person's price, ground and payer."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.values import CoverGround, ExemptionGround
from gateway.enrolment.pricing import (
    Band,
    Exemption,
    Person,
    PriceRules,
    SubsidyRule,
    age_on,
    bands_of,
    price,
    pricing_day,
)
from gateway.scheme.calendar import CoverYear

DAY = date(2027, 1, 1)
STATE, COMMUNE = 7, 8

FAMILY = PriceRules(
    premium_per_person=1575,
    bands=(Band("child", 17, 1000),),
    free_care_sponsor_id=STATE,
    under_age=5,
    pregnancy=True,
    indigent=True,
)


def person(born: date, sex: str = "F", *exemptions: Exemption, member_id: int = 1) -> Person:
    return Person(member_id, born, sex, tuple(exemptions))


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (date(2000, 1, 1), date(2027, 1, 1), 27),
        (date(2000, 1, 2), date(2027, 1, 1), 26),
        (date(2000, 2, 29), date(2027, 2, 28), 26),  # a leap-day birthday: 1 March
        (date(2000, 2, 29), date(2027, 3, 1), 27),
        (date(2000, 2, 29), date(2028, 2, 29), 28),
        (date(2026, 12, 31), date(2027, 1, 1), 0),
    ],
)
def test_age_on(born: date, day: date, age: int) -> None:
    assert age_on(born, day) == age


def test_a_family_priced_person_by_person() -> None:
    household = [
        person(date(1980, 5, 1), "M", member_id=1),  # adult
        person(date(1985, 6, 1), "F", member_id=2),  # adult
        person(date(2012, 3, 1), "M", member_id=3),  # 14: child band
        person(date(2009, 1, 1), "F", member_id=4),  # 18 on the day: adult
        person(date(2022, 1, 2), "F", member_id=5),  # 4: free care
    ]
    quote = price(FAMILY, household, DAY, Fraction(1))
    assert [(ln.category, ln.ground, ln.price, ln.sponsor_amount) for ln in quote.lines] == [
        ("adult", CoverGround.MEMBER, 1575, 0),
        ("adult", CoverGround.MEMBER, 1575, 0),
        ("child", CoverGround.MEMBER, 1000, 0),
        ("adult", CoverGround.MEMBER, 1575, 0),
        ("child", CoverGround.UNDER_FIVE, 1000, 1000),
    ]
    assert quote.total == 6725
    assert quote.household_share == 5725
    assert quote.sponsors == {STATE: 1000}


def test_a_child_turning_five_on_the_cover_start_pays() -> None:
    quote = price(FAMILY, [person(date(2022, 1, 1))], DAY, Fraction(1))
    assert quote.lines[0].ground == CoverGround.MEMBER and quote.household_share == 1000


def test_pregnancy_and_indigence_count_only_on_their_dates() -> None:
    pregnant = Exemption(ExemptionGround.PREGNANCY, date(2026, 9, 1), date(2027, 5, 31))
    ended = Exemption(ExemptionGround.PREGNANCY, date(2026, 1, 1), date(2026, 12, 31))
    later = Exemption(ExemptionGround.INDIGENT, date(2027, 1, 2))
    indigent = Exemption(ExemptionGround.INDIGENT, date(2020, 1, 1))
    quote = price(
        FAMILY,
        [
            person(date(1995, 1, 1), "F", pregnant),
            person(date(1995, 1, 1), "F", ended),
            person(date(1995, 1, 1), "M", later),
            person(date(1950, 1, 1), "M", indigent),
        ],
        DAY,
        Fraction(1),
    )
    assert [line.ground for line in quote.lines] == [
        CoverGround.PREGNANCY,
        CoverGround.MEMBER,
        CoverGround.MEMBER,
        CoverGround.INDIGENT,
    ]
    assert quote.sponsors == {STATE: 3150} and quote.household_share == 3150


def test_without_free_care_no_one_is_exempt() -> None:
    plain = PriceRules(premium_per_person=1575)
    indigent = Exemption(ExemptionGround.INDIGENT, date(2020, 1, 1))
    quote = price(
        plain, [person(date(2024, 1, 1)), person(date(1960, 1, 1), "M", indigent)], DAY, Fraction(1)
    )
    assert quote.household_share == 3150 and quote.sponsors == {}
    assert {line.category for line in quote.lines} == {"adult"}


def test_free_care_for_children_only() -> None:
    children = PriceRules(premium_per_person=1575, free_care_sponsor_id=STATE, under_age=5)
    pregnant = Exemption(ExemptionGround.PREGNANCY, date(2026, 9, 1), date(2027, 5, 31))
    quote = price(children, [person(date(1995, 1, 1), "F", pregnant)], DAY, Fraction(1))
    assert quote.lines[0].ground == CoverGround.MEMBER and quote.household_share == 1575


def test_a_percentage_subsidy_per_person_rounds_the_sponsor_down() -> None:
    half = PriceRules(premium_per_person=1575, subsidy=SubsidyRule(COMMUNE, 50, None))
    quote = price(half, [person(date(1980, 1, 1)), person(date(1981, 1, 1))], DAY, Fraction(1))
    assert [line.sponsor_amount for line in quote.lines] == [787, 787]
    assert quote.household_share == 1576 and quote.sponsors == {COMMUNE: 1574}


def test_an_amount_per_person_never_exceeds_the_price() -> None:
    aid = PriceRules(
        premium_per_person=1575,
        bands=(Band("child", 17, 300),),
        subsidy=SubsidyRule(COMMUNE, None, 500),
    )
    quote = price(aid, [person(date(1980, 1, 1)), person(date(2015, 1, 1))], DAY, Fraction(1))
    assert [line.sponsor_amount for line in quote.lines] == [500, 300]
    assert quote.household_share == 1075


def test_the_exempt_are_paid_by_the_free_care_sponsor_not_the_subsidy() -> None:
    both = PriceRules(
        premium_per_person=1000,
        free_care_sponsor_id=STATE,
        under_age=5,
        subsidy=SubsidyRule(COMMUNE, 50, None),
    )
    quote = price(both, [person(date(1980, 1, 1)), person(date(2024, 1, 1))], DAY, Fraction(1))
    assert quote.sponsors == {COMMUNE: 500, STATE: 1000} and quote.household_share == 500


def test_a_household_lump_sum_stays_flat() -> None:
    flat = PriceRules(
        premium_per_person=1575, household_premium=5000, free_care_sponsor_id=STATE, under_age=5
    )
    persons = [person(date(1980, 1, 1)), person(date(2024, 1, 1)), person(date(2020, 1, 1))]
    quote = price(flat, persons, DAY, Fraction(1))
    assert [line.price for line in quote.lines] == [1667, 1667, 1666]
    assert {line.ground for line in quote.lines} == {CoverGround.MEMBER}
    assert quote.total == 5000 == quote.household_share


def test_pro_rata_prices_are_rounded_down_per_person() -> None:
    quote = price(
        FAMILY, [person(date(1980, 1, 1)), person(date(2015, 1, 1))], DAY, Fraction(5, 12)
    )
    assert [line.price for line in quote.lines] == [656, 416]  # 656.25 and 416.67
    flat = PriceRules(premium_per_person=0, household_premium=5000)
    assert price(flat, [person(date(1980, 1, 1))], DAY, Fraction(5, 12)).total == 2083


def test_pricing_day_is_the_cover_start_never_before_today() -> None:
    year = CoverYear(date(2027, 1, 1), date(2027, 12, 31), 30, Fraction(1), False)
    assert pricing_day(year, date(2026, 11, 1)) == date(2027, 1, 1)
    assert pricing_day(year, date(2027, 3, 1)) == date(2027, 3, 1)
    rolling = CoverYear(None, None, 30, Fraction(1), False)
    assert pricing_day(rolling, date(2026, 11, 1)) == date(2026, 11, 1)


def test_bands_of_the_product_column() -> None:
    assert bands_of(
        [{"category": "child", "max_age": 17, "premium": 1000, "names": {"fr": "Enfant"}}]
    ) == (Band("child", 17, 1000),)
    assert bands_of(None) == ()


@given(
    st.lists(st.dates(min_value=date(1920, 1, 1), max_value=DAY), min_size=1, max_size=12),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=0, max_value=100),
)
def test_shares_always_add_up_to_the_price(births: list[date], months: int, percent: int) -> None:
    rules = PriceRules(
        premium_per_person=1575,
        bands=(Band("baby", 0, 0), Band("child", 17, 1000)),
        free_care_sponsor_id=STATE,
        under_age=5,
        subsidy=SubsidyRule(COMMUNE, percent, None) if percent else None,
    )
    quote = price(rules, [person(b) for b in births], DAY, Fraction(months, 12))
    assert quote.household_share + sum(quote.sponsors.values()) == quote.total
    assert all(0 <= line.sponsor_amount <= line.price for line in quote.lines)
