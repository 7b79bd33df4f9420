"""gateway/enrolment/coverage.py: where a coverage period stands on a given day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.enrolment.coverage import PeriodTerms, add_months, status_on
from menus.values import CoverageStatus

PAID = date(2026, 1, 10)


def terms(
    *,
    paid_on: date | None = PAID,
    waiting_days: int = 30,
    cover_months: int = 12,
    grace_days: int = 30,
    premium_due: int = 6300,
    amount_paid: int | None = None,
    cancelled_on: date | None = None,
) -> PeriodTerms:
    return PeriodTerms(
        premium_due=premium_due,
        amount_paid=(premium_due if paid_on else 0) if amount_paid is None else amount_paid,
        paid_in_full_on=paid_on,
        waiting_days=waiting_days,
        cover_months=cover_months,
        grace_days=grace_days,
        cancelled_on=cancelled_on,
    )


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 10), 0, date(2026, 1, 10)),
        (date(2026, 1, 10), 1, date(2026, 2, 10)),
        (date(2026, 1, 10), 12, date(2027, 1, 10)),
        (date(2026, 11, 30), 2, date(2027, 1, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # clamped to the month's last day
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2027, 2, 28), 12, date(2028, 2, 28)),  # not stretched to the 29th
        (date(2026, 1, 31), 13, date(2027, 2, 28)),
        (date(2026, 1, 31), 25, date(2028, 2, 29)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 1, 15), -1, date(2025, 12, 15)),
        (date(2026, 1, 15), -13, date(2024, 12, 15)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)), st.integers(0, 120))
def test_add_months_keeps_the_day_or_clamps_to_month_end(day: date, months: int) -> None:
    moved = add_months(day, months)
    assert (moved.year - day.year) * 12 + moved.month - day.month == months
    if moved.day != day.day:
        assert moved.day < day.day
        assert (moved + timedelta(days=1)).day == 1  # the last day of its month


def test_the_dates_of_a_period() -> None:
    period = terms()
    assert period.covered_from == date(2026, 2, 9)  # 30 days after full payment
    assert period.covered_until == date(2027, 2, 8)  # 12 months, inclusive
    assert period.grace_until == date(2027, 3, 10)  # 30 days more


def test_an_unpaid_period_has_no_dates() -> None:
    period = terms(paid_on=None)
    assert (period.covered_from, period.covered_until, period.grace_until) == (None, None, None)


# With full payment on 10 Jan 2026, 30 waiting days, 12 months, 30 days of grace.
@pytest.mark.parametrize(
    ("day", "status"),
    [
        (date(2026, 1, 10), CoverageStatus.WAITING),  # paid today: the waiting period starts
        (date(2026, 2, 8), CoverageStatus.WAITING),  # last waiting day
        (date(2026, 2, 9), CoverageStatus.ACTIVE),  # first covered day
        (date(2026, 8, 1), CoverageStatus.ACTIVE),
        (date(2027, 2, 8), CoverageStatus.ACTIVE),  # last covered day
        (date(2027, 2, 9), CoverageStatus.GRACE),  # first day of grace
        (date(2027, 3, 10), CoverageStatus.GRACE),  # last day of grace
        (date(2027, 3, 11), CoverageStatus.LAPSED),  # droits fermés
        (date(2030, 1, 1), CoverageStatus.LAPSED),
    ],
)
def test_status_across_the_boundaries(day: date, status: str) -> None:
    assert status_on(terms(), day) == status


@pytest.mark.parametrize("day", [date(2025, 12, 1), date(2026, 1, 10), date(2031, 1, 1)])
def test_not_paid_in_full_is_pending_payment(day: date) -> None:
    assert status_on(terms(paid_on=None), day) == CoverageStatus.PENDING_PAYMENT
    part_paid = terms(paid_on=None, amount_paid=3000)
    assert status_on(part_paid, day) == CoverageStatus.PENDING_PAYMENT
    assert part_paid.amount_due == 3300


@pytest.mark.parametrize(
    ("cancelled_on", "day", "status"),
    [
        (date(2026, 6, 1), date(2026, 5, 31), CoverageStatus.ACTIVE),  # the day before it counts
        (date(2026, 6, 1), date(2026, 6, 1), CoverageStatus.CANCELLED),
        (date(2026, 6, 1), date(2027, 3, 1), CoverageStatus.CANCELLED),  # not grace
        (date(2026, 6, 1), date(2028, 1, 1), CoverageStatus.CANCELLED),  # not lapsed
        (date(2026, 1, 20), date(2026, 1, 20), CoverageStatus.CANCELLED),  # in the waiting period
    ],
)
def test_cancelled(cancelled_on: date, day: date, status: str) -> None:
    assert status_on(terms(cancelled_on=cancelled_on), day) == status


def test_cancelled_before_payment() -> None:
    unpaid = terms(paid_on=None, cancelled_on=date(2026, 3, 1))
    assert status_on(unpaid, date(2026, 2, 28)) == CoverageStatus.PENDING_PAYMENT
    assert status_on(unpaid, date(2026, 3, 1)) == CoverageStatus.CANCELLED


@pytest.mark.parametrize(
    ("kwargs", "day", "status"),
    [
        ({"waiting_days": 0}, PAID, CoverageStatus.ACTIVE),  # no waiting period
        ({"waiting_days": 90}, PAID + timedelta(days=89), CoverageStatus.WAITING),
        ({"waiting_days": 90}, PAID + timedelta(days=90), CoverageStatus.ACTIVE),
        ({"grace_days": 0}, date(2027, 2, 8), CoverageStatus.ACTIVE),
        ({"grace_days": 0}, date(2027, 2, 9), CoverageStatus.LAPSED),  # no grace at all
        ({"grace_days": 15}, date(2027, 2, 23), CoverageStatus.GRACE),
        ({"grace_days": 15}, date(2027, 2, 24), CoverageStatus.LAPSED),
        # full payment on 31 Dec with no waiting: 12 months end on 30 Dec
        (
            {"paid_on": date(2027, 12, 31), "waiting_days": 0},
            date(2028, 12, 30),
            CoverageStatus.ACTIVE,
        ),
        (
            {"paid_on": date(2027, 12, 31), "waiting_days": 0},
            date(2028, 12, 31),
            CoverageStatus.GRACE,
        ),
        # cover starting on 31 Jan for one month: clamps to 28 Feb, last day 27 Feb
        (
            {"paid_on": date(2026, 1, 31), "waiting_days": 0, "cover_months": 1},
            date(2026, 2, 27),
            CoverageStatus.ACTIVE,
        ),
        (
            {"paid_on": date(2026, 1, 31), "waiting_days": 0, "cover_months": 1},
            date(2026, 2, 28),
            CoverageStatus.GRACE,
        ),
        # cover starting on 29 Feb of a leap year
        (
            {"paid_on": date(2028, 2, 29), "waiting_days": 0},
            date(2029, 2, 27),
            CoverageStatus.ACTIVE,
        ),
        (
            {"paid_on": date(2028, 2, 29), "waiting_days": 0},
            date(2029, 2, 28),
            CoverageStatus.GRACE,
        ),
    ],
)
def test_status_with_other_terms(kwargs: dict, day: date, status: str) -> None:
    assert status_on(terms(**kwargs), day) == status


@pytest.mark.parametrize(
    ("premium_due", "amount_paid", "due"),
    [
        (6300, 0, 6300),
        (6300, 1575, 4725),
        (6300, 6300, 0),
        (6300, 7000, 0),  # an overpayment never shows as a negative debt
        (0, 0, 0),
        (0, 500, 0),
    ],
)
def test_amount_due(premium_due: int, amount_paid: int, due: int) -> None:
    assert terms(premium_due=premium_due, amount_paid=amount_paid).amount_due == due


@given(st.integers(0, 10**7), st.integers(0, 10**7))
def test_amount_due_is_never_negative(premium_due: int, amount_paid: int) -> None:
    due = terms(premium_due=premium_due, amount_paid=amount_paid).amount_due
    assert due >= 0
    assert due == premium_due - amount_paid or amount_paid >= premium_due


STATUS_ORDER = [
    CoverageStatus.WAITING,
    CoverageStatus.ACTIVE,
    CoverageStatus.GRACE,
    CoverageStatus.LAPSED,
]


@given(
    paid_on=st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)),
    waiting_days=st.integers(0, 120),
    cover_months=st.integers(1, 24),
    grace_days=st.integers(0, 90),
    offset=st.integers(0, 3000),
)
def test_status_only_moves_forward(
    paid_on: date, waiting_days: int, cover_months: int, grace_days: int, offset: int
) -> None:
    period = terms(
        paid_on=paid_on,
        waiting_days=waiting_days,
        cover_months=cover_months,
        grace_days=grace_days,
    )
    day = paid_on + timedelta(days=offset)
    today, tomorrow = status_on(period, day), status_on(period, day + timedelta(days=1))
    assert STATUS_ORDER.index(today) <= STATUS_ORDER.index(tomorrow)
    start, end = period.covered_from, period.covered_until
    assert start is not None and end is not None
    assert (today == CoverageStatus.ACTIVE) == (start <= day <= end)
