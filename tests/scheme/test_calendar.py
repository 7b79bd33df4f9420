"""gateway/scheme/calendar.py: which cover year a household joins or renews into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db import models
from db.values import CoverKind, LateJoiners
from gateway.scheme.calendar import (
    Calendar,
    CoverYear,
    RenewalWindow,
    calendar_of,
    campaign_open,
    first_year,
    months_to_run,
    next_campaign,
    next_year,
    renewal_window,
    window_opened_on,
)

ROLLING = Calendar(
    kind=CoverKind.ROLLING,
    year_starts=None,
    window=None,
    late_joiners=LateJoiners.FULL,
    waiting_days=30,
    cover_months=12,
    grace_days=30,
    renewal_opens_days=60,
)
# A calendar year, its campaign in the last quarter of the year before.
CIVIL = Calendar(
    kind=CoverKind.SCHEME_YEAR,
    year_starts=(1, 1),
    window=((10, 1), (12, 31)),
    late_joiners=LateJoiners.FULL,
    waiting_days=30,
    cover_months=12,
    grace_days=30,
    renewal_opens_days=60,
)
# The school year, joined from 1 September to the end of December, pro-rata.
SCHOOL = Calendar(
    kind=CoverKind.SCHEME_YEAR,
    year_starts=(9, 1),
    window=((9, 1), (12, 31)),
    late_joiners=LateJoiners.PRORATA,
    waiting_days=30,
    cover_months=12,
    grace_days=15,
    renewal_opens_days=60,
)
NO_WINDOW_PRORATA = Calendar(
    kind=CoverKind.SCHEME_YEAR,
    year_starts=(1, 1),
    window=None,
    late_joiners=LateJoiners.PRORATA,
    waiting_days=30,
    cover_months=12,
    grace_days=30,
    renewal_opens_days=60,
)


@dataclass(frozen=True)
class Previous:
    covered_until: date | None
    grace_until: date | None
    cover_ends_on: date | None = None


def test_calendar_of_reads_the_product() -> None:
    product = models.Product(
        code="SCOLAIRE",
        cover_kind="scheme_year",
        year_starts="09-01",
        window_start="09-01",
        window_end="12-31",
        late_joiners="prorata",
        waiting_days=30,
        cover_months=12,
        grace_days=15,
        renewal_opens_days=45,
    )
    assert calendar_of(product) == Calendar(
        kind=CoverKind.SCHEME_YEAR,
        year_starts=(9, 1),
        window=((9, 1), (12, 31)),
        late_joiners=LateJoiners.PRORATA,
        waiting_days=30,
        cover_months=12,
        grace_days=15,
        renewal_opens_days=45,
    )


def test_calendar_of_a_rolling_product_has_no_year_start() -> None:
    product = models.Product(
        code="FAMILLE",
        cover_kind="rolling",
        year_starts=None,
        late_joiners="full",
        waiting_days=30,
        cover_months=12,
        grace_days=30,
        renewal_opens_days=60,
    )
    cal = calendar_of(product)
    assert cal.kind == CoverKind.ROLLING and cal.year_starts is None and cal.window is None


@pytest.mark.parametrize(
    "today", [date(2026, 1, 1), date(2026, 2, 28), date(2028, 2, 29), date(2026, 12, 31)]
)
def test_a_rolling_first_year_has_no_fixed_dates_and_waits(today: date) -> None:
    assert first_year(ROLLING, today) == CoverYear(None, None, 30, Fraction(1), lapsed=False)


@pytest.mark.parametrize(
    ("today", "starts", "ends"),
    [
        (date(2026, 10, 1), date(2027, 1, 1), date(2027, 12, 31)),  # the window opens
        (date(2026, 11, 23), date(2027, 1, 1), date(2027, 12, 31)),
        (date(2026, 12, 31), date(2027, 1, 1), date(2027, 12, 31)),  # its last day
        (date(2027, 10, 1), date(2028, 1, 1), date(2028, 12, 31)),  # a leap year ahead
    ],
)
def test_the_campaign_is_for_the_scheme_year_after_it(
    today: date, starts: date, ends: date
) -> None:
    assert first_year(CIVIL, today) == CoverYear(starts, ends, 30, Fraction(1), lapsed=False)


@pytest.mark.parametrize(
    ("today", "share"),
    [
        (date(2026, 9, 1), Fraction(1)),  # the first day: the whole year
        (date(2026, 9, 2), Fraction(11, 12)),  # September has begun: not charged
        (date(2026, 10, 1), Fraction(11, 12)),
        (date(2026, 10, 15), Fraction(10, 12)),
        (date(2026, 12, 31), Fraction(8, 12)),  # January to August still to run
    ],
)
def test_a_late_school_pupil_pays_the_whole_months_still_to_run(
    today: date, share: Fraction
) -> None:
    year = first_year(SCHOOL, today)
    assert (year.starts_on, year.ends_on) == (date(2026, 9, 1), date(2027, 8, 31))
    assert year.share == share and year.waiting_days == 30 and not year.lapsed


def test_a_late_joiner_pays_the_full_year_when_the_product_says_so() -> None:
    full = Calendar(**{**SCHOOL.__dict__, "late_joiners": LateJoiners.FULL})
    assert first_year(full, date(2027, 3, 10)).share == Fraction(1)


def test_without_a_window_a_late_joiner_joins_the_running_year_pro_rata() -> None:
    year = first_year(NO_WINDOW_PRORATA, date(2027, 6, 15))
    assert (year.starts_on, year.ends_on, year.share) == (
        date(2027, 1, 1),
        date(2027, 12, 31),
        Fraction(6, 12),
    )


def test_with_no_whole_month_left_the_joiner_joins_next_year() -> None:
    year = first_year(NO_WINDOW_PRORATA, date(2026, 12, 2))
    assert (year.starts_on, year.share) == (date(2027, 1, 1), Fraction(1))


@pytest.mark.parametrize(
    ("today", "opened"),
    [
        (date(2026, 9, 30), None),
        (date(2026, 10, 1), date(2026, 10, 1)),
        (date(2026, 12, 31), date(2026, 10, 1)),
        (date(2027, 1, 1), None),
    ],
)
def test_window_opened_on(today: date, opened: date | None) -> None:
    assert window_opened_on(CIVIL, today) == opened
    assert campaign_open(CIVIL, today) is (opened is not None)


def test_a_campaign_across_the_new_year() -> None:
    across = Calendar(**{**CIVIL.__dict__, "window": ((11, 15), (1, 31))})
    assert window_opened_on(across, date(2026, 12, 31)) == date(2026, 11, 15)
    assert window_opened_on(across, date(2027, 1, 1)) == date(2026, 11, 15)
    assert window_opened_on(across, date(2027, 1, 31)) == date(2026, 11, 15)
    assert window_opened_on(across, date(2027, 2, 1)) is None
    # Joined in January, it is the year that has just begun (a late joiner's).
    assert first_year(across, date(2027, 1, 10)).starts_on == date(2027, 1, 1)
    assert first_year(across, date(2026, 12, 1)).starts_on == date(2027, 1, 1)


def test_next_campaign() -> None:
    assert next_campaign(CIVIL, date(2026, 9, 30)) == date(2026, 10, 1)
    assert next_campaign(CIVIL, date(2026, 10, 1)) == date(2027, 10, 1)
    assert next_campaign(ROLLING, date(2026, 10, 1)) is None


@pytest.mark.parametrize(
    ("covered_until", "today", "starts"),
    [
        (date(2026, 12, 31), date(2026, 11, 20), date(2027, 1, 1)),  # Dec 31 -> Jan 1
        (date(2028, 2, 28), date(2028, 1, 10), date(2028, 2, 29)),  # a leap day
        (date(2027, 2, 28), date(2027, 3, 10), date(2027, 3, 1)),  # paid in grace
        (date(2026, 3, 31), date(2026, 4, 30), date(2026, 4, 1)),  # grace's last day
    ],
)
def test_a_rolling_renewal_on_time_continues_without_waiting(
    covered_until: date, today: date, starts: date
) -> None:
    previous = Previous(covered_until, covered_until + timedelta(days=30))
    assert next_year(ROLLING, previous, today) == CoverYear(
        starts, None, 0, Fraction(1), lapsed=False
    )


def test_a_rolling_renewal_after_grace_waits_again() -> None:
    previous = Previous(date(2026, 3, 31), date(2026, 4, 30))
    assert next_year(ROLLING, previous, date(2026, 5, 1)) == CoverYear(
        None, None, 30, Fraction(1), lapsed=True
    )


def test_a_year_whose_rights_never_opened_is_lapsed() -> None:
    assert next_year(ROLLING, Previous(None, None), date(2026, 5, 1)).lapsed


@pytest.mark.parametrize(
    ("today", "starts", "ends"),
    [
        (date(2026, 11, 1), date(2027, 1, 1), date(2027, 12, 31)),
        (date(2027, 1, 20), date(2027, 1, 1), date(2027, 12, 31)),  # in grace: still on time
        (date(2027, 12, 31), date(2028, 1, 1), date(2028, 12, 31)),
    ],
)
def test_a_scheme_year_renewal_is_the_next_scheme_year(
    today: date, starts: date, ends: date
) -> None:
    end = starts - timedelta(days=1)
    previous = Previous(end, end + timedelta(days=30), cover_ends_on=end)
    assert next_year(CIVIL, previous, today) == CoverYear(starts, ends, 0, Fraction(1), False)


def test_a_school_year_renewal() -> None:
    previous = Previous(date(2027, 8, 31), date(2027, 9, 15), cover_ends_on=date(2027, 8, 31))
    year = next_year(SCHOOL, previous, date(2027, 7, 5))
    assert (year.starts_on, year.ends_on, year.share, year.waiting_days) == (
        date(2027, 9, 1),
        date(2028, 8, 31),
        Fraction(1),
        0,
    )


def test_a_lapsed_scheme_year_renewal_joins_like_a_newcomer() -> None:
    previous = Previous(date(2026, 8, 31), date(2026, 9, 15), cover_ends_on=date(2026, 8, 31))
    year = next_year(SCHOOL, previous, date(2026, 10, 15))
    assert year == CoverYear(date(2026, 9, 1), date(2027, 8, 31), 30, Fraction(10, 12), True)


@pytest.mark.parametrize(
    ("covered_until", "grace_until", "opens"),
    [
        (date(2027, 1, 9), date(2027, 2, 8), date(2026, 11, 10)),
        (date(2026, 12, 31), date(2027, 1, 30), date(2026, 11, 1)),
        (date(2028, 2, 29), date(2028, 3, 30), date(2027, 12, 31)),
    ],
)
def test_renewal_window(covered_until: date, grace_until: date, opens: date) -> None:
    window = renewal_window(ROLLING, covered_until, grace_until)
    assert window == RenewalWindow(opens, grace_until)
    assert window.is_open(opens) and window.is_open(grace_until)
    assert not window.is_open(opens - timedelta(days=1))
    assert not window.is_open(grace_until + timedelta(days=1))


@pytest.mark.parametrize(
    ("start", "end", "today", "months"),
    [
        (date(2027, 1, 1), date(2027, 12, 31), date(2026, 12, 1), 12),
        (date(2027, 1, 1), date(2027, 12, 31), date(2027, 1, 1), 12),
        (date(2027, 1, 1), date(2027, 12, 31), date(2027, 1, 2), 11),
        (date(2027, 1, 1), date(2027, 12, 31), date(2027, 12, 1), 1),
        (date(2027, 1, 1), date(2027, 12, 31), date(2027, 12, 2), 0),
        (date(2027, 1, 31), date(2028, 1, 30), date(2027, 2, 28), 11),  # month ends
        (date(2027, 1, 31), date(2028, 1, 30), date(2027, 3, 1), 10),
    ],
)
def test_months_to_run(start: date, end: date, today: date, months: int) -> None:
    assert months_to_run(start, end, today) == months


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_every_day_joins_a_year_that_has_not_ended(today: date) -> None:
    for cal in (CIVIL, SCHOOL, NO_WINDOW_PRORATA):
        year = first_year(cal, today)
        assert year.starts_on is not None and year.ends_on is not None
        assert year.ends_on >= today
        assert year.ends_on == year.starts_on.replace(year=year.starts_on.year + 1) - timedelta(
            days=1
        )
        assert Fraction(0) < year.share <= 1
        assert (year.share * 12).denominator == 1  # whole months


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_renewing_on_time_follows_on_the_day_after(end: date) -> None:
    previous = Previous(end, end + timedelta(days=30), cover_ends_on=end)
    for cal in (ROLLING, CIVIL):
        year = next_year(cal, previous, end - timedelta(days=10))
        assert year.starts_on == end + timedelta(days=1)
        assert year.waiting_days == 0 and not year.lapsed and year.share == 1
