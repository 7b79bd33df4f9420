"""The scheme's calendar, per product: which cover year a household joins or renews into,
what share of it a late joiner pays, and when renewal is open. Pure: dates in, dates out.

Two kinds of cover (`db.values.CoverKind`):
- rolling: rights open the day the premium is paid; cover starts after the waiting
  period and lasts `cover_months` (the first rule). A renewal paid on time continues
  from the previous cover's end + 1 day, without a new waiting period.
- scheme_year: everyone is covered on the same dates, from `year_starts` ("MM-DD") for
  `cover_months`; the campaign window (`window_start`/`window_end`) comes before it. A
  late joiner pays the full year or, if the product says pro-rata, the share of it still
  to run in whole months. A renewal is the next scheme year.
The waiting period applies to a first enrolment and again after rights have lapsed (a
renewal asked after the end of grace), never to a renewal paid on time.
"""

from __future__ import annotations

import calendar as gregorian
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Protocol

from db import models
from db.values import CoverKind, LateJoiners
from gateway.enrolment.coverage import add_months

MonthDay = tuple[int, int]


def month_day(text: str | None) -> MonthDay | None:
    """ "MM-DD" as (month, day); None for no date. The scheme file checks the text."""
    if not text:
        return None
    month, day = text.split("-")
    return int(month), int(day)


@dataclass(frozen=True)
class Calendar:
    """A product's calendar rules, as plain values."""

    kind: CoverKind
    year_starts: MonthDay | None  # scheme_year only
    window: tuple[MonthDay, MonthDay] | None  # the yearly campaign, (opens, closes)
    late_joiners: LateJoiners
    waiting_days: int
    cover_months: int
    grace_days: int
    renewal_opens_days: int


def calendar_of(product: models.Product) -> Calendar:
    opens, closes = month_day(product.window_start), month_day(product.window_end)
    kind = CoverKind(product.cover_kind or CoverKind.ROLLING)
    return Calendar(
        kind=kind,
        year_starts=(month_day(product.year_starts) or (1, 1))
        if kind == CoverKind.SCHEME_YEAR
        else None,
        window=(opens, closes) if opens and closes else None,
        late_joiners=LateJoiners(product.late_joiners or LateJoiners.FULL),
        waiting_days=product.waiting_days,
        cover_months=product.cover_months,
        grace_days=product.grace_days,
        renewal_opens_days=product.renewal_opens_days,
    )


@dataclass(frozen=True)
class CoverYear:
    """The cover year a household joins or renews into.

    `starts_on`/`ends_on` are the scheme year's fixed dates. Rolling cover has no fixed
    end (`ends_on` None); its `starts_on` is None too, except on a renewal paid on time,
    where it is the previous cover's end + 1 day: cover cannot begin before it.
    `share` (< 1 for a pro-rata late joiner) scales the year's price; `lapsed` says a
    renewal came after the end of grace (and so has a waiting period again)."""

    starts_on: date | None
    ends_on: date | None
    waiting_days: int
    share: Fraction
    lapsed: bool


class PreviousYear(Protocol):
    """What `next_year` reads of the cover year being renewed (a `CoveragePeriod`)."""

    @property
    def covered_until(self) -> date | None: ...

    @property
    def grace_until(self) -> date | None: ...

    @property
    def cover_ends_on(self) -> date | None: ...


@dataclass(frozen=True)
class RenewalWindow:
    opens_on: date
    closes_on: date

    def is_open(self, day: date) -> bool:
        return self.opens_on <= day <= self.closes_on


def _on(year: int, when: MonthDay) -> date:
    month, day = when
    return date(year, month, min(day, gregorian.monthrange(year, month)[1]))


def window_opened_on(cal: Calendar, today: date) -> date | None:
    """The opening day of the campaign window `today` falls in; None if it is closed (or
    the product has no window)."""
    if cal.window is None:
        return None
    opens, closes = cal.window
    here = (today.month, today.day)
    if opens <= closes:
        return _on(today.year, opens) if opens <= here <= closes else None
    if here >= opens:  # a campaign across the new year
        return _on(today.year, opens)
    return _on(today.year - 1, opens) if here <= closes else None


def campaign_open(cal: Calendar, today: date) -> bool:
    return cal.window is None or window_opened_on(cal, today) is not None


def next_campaign(cal: Calendar, today: date) -> date | None:
    """The day the next campaign window opens (None: no window, always open)."""
    if cal.window is None:
        return None
    opening = _on(today.year, cal.window[0])
    return opening if opening > today else _on(today.year + 1, cal.window[0])


def scheme_year_of(cal: Calendar, starts_on: date) -> tuple[date, date]:
    return starts_on, add_months(starts_on, cal.cover_months) - timedelta(days=1)


def _years_from(cal: Calendar, today: date) -> list[tuple[date, date]]:
    """The scheme years that have not ended by `today`, the running one first."""
    assert cal.year_starts is not None
    years = [scheme_year_of(cal, _on(today.year + k, cal.year_starts)) for k in (-2, -1, 0, 1, 2)]
    return [(start, end) for start, end in years if end >= today]


def months_to_run(start: date, end: date, today: date) -> int:
    """Whole months of the year [start, end] that begin on or after `today`: the month
    in progress is not charged (its days are mostly behind the waiting period)."""
    months = 0
    while add_months(start, months) <= end:
        months += 1
    return sum(1 for k in range(months) if add_months(start, k) >= today)


def first_year(cal: Calendar, today: date) -> CoverYear:
    """The cover year a household joining today enrols into."""
    if cal.kind == CoverKind.ROLLING:
        return CoverYear(None, None, cal.waiting_days, Fraction(1), lapsed=False)
    opened = window_opened_on(cal, today)
    for start, end in _years_from(cal, today):
        if opened is not None and start < opened:
            continue  # the campaign is for the year that follows it
        left = months_to_run(start, end, today)
        if left == 0:
            continue  # nothing whole left to cover: the next year
        share = Fraction(1)
        if cal.late_joiners == LateJoiners.PRORATA and today > start:
            share = Fraction(left, cal.cover_months)
        return CoverYear(start, end, cal.waiting_days, share, lapsed=False)
    raise AssertionError("a scheme year always begins within two years")


def next_year(cal: Calendar, previous: PreviousYear, today: date) -> CoverYear:
    """The cover year after `previous`, renewed today. After the end of grace (or when
    rights never opened) the rights have lapsed: the household joins as a newcomer
    would, waiting period included."""
    grace_end = previous.grace_until
    if grace_end is None or today > grace_end:
        fresh = first_year(cal, today)
        return CoverYear(fresh.starts_on, fresh.ends_on, fresh.waiting_days, fresh.share, True)
    if cal.kind == CoverKind.ROLLING:
        end = previous.covered_until or previous.cover_ends_on
        assert end is not None  # grace_until is set only with it
        return CoverYear(end + timedelta(days=1), None, 0, Fraction(1), lapsed=False)
    end = previous.cover_ends_on or previous.covered_until
    assert end is not None
    start, last = scheme_year_of(cal, end + timedelta(days=1))
    return CoverYear(start, last, 0, Fraction(1), lapsed=False)


def renewal_window(cal: Calendar, covered_until: date, grace_until: date) -> RenewalWindow:
    """Renewal opens `renewal_opens_days` before cover ends and closes with grace."""
    return RenewalWindow(covered_until - timedelta(days=cal.renewal_opens_days), grace_until)
