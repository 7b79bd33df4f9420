"""Where a coverage period stands on a given day, from its dates and its money.

pending_payment -> waiting -> active -> grace -> lapsed, plus cancelled (the
`CoverageStatus` the register is told too). Rights open once the share of the premium
that opens them is paid (`threshold_percent`, 100 by default; what was carried in from
the year before counts as paid); cover starts when the waiting period is over, and
never before a scheme year's fixed start (`cover_starts_on`); it lasts `cover_months`
from that start, or to the scheme year's fixed end (`cover_ends_on`); after the grace
period the rights are closed. What is due stays the whole rest of the premium.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date, timedelta

from menus.values import CoverageStatus


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class PeriodTerms:
    premium_due: int
    amount_paid: int
    paid_in_full_on: date | None
    waiting_days: int
    cover_months: int
    grace_days: int
    cancelled_on: date | None = None
    # A fixed start cover cannot precede (a scheme year's, or a rolling renewal's day
    # after the previous end) and a scheme year's fixed end.
    cover_starts_on: date | None = None
    cover_ends_on: date | None = None
    threshold_percent: int = 100
    carried_in: int = 0

    @property
    def threshold_amount(self) -> int:
        """What must be paid (or carried in) for rights to open, rounded up."""
        return math.ceil(self.premium_due * self.threshold_percent / 100)

    @property
    def threshold_reached(self) -> bool:
        return self.amount_paid + self.carried_in >= self.threshold_amount

    @property
    def covered_from(self) -> date | None:
        if self.paid_in_full_on is None:
            return None
        start = self.paid_in_full_on + timedelta(days=self.waiting_days)
        return start if self.cover_starts_on is None else max(start, self.cover_starts_on)

    @property
    def covered_until(self) -> date | None:
        start = self.covered_from
        if start is None:
            return None
        if self.cover_ends_on is not None:
            return self.cover_ends_on
        return add_months(start, self.cover_months) - timedelta(days=1)

    @property
    def grace_until(self) -> date | None:
        end = self.covered_until
        return None if end is None else end + timedelta(days=self.grace_days)

    @property
    def amount_due(self) -> int:
        return max(0, self.premium_due - self.amount_paid - self.carried_in)


def renewal_on_time_until(cover_starts_on: date, grace_days: int) -> date:
    """The previous year's end of grace, for a renewal that starts the day after the
    previous year ends: rights opened by then carry on with no waiting period."""
    return cover_starts_on - timedelta(days=1) + timedelta(days=grace_days)


def status_on(terms: PeriodTerms, day: date) -> CoverageStatus:
    if terms.cancelled_on is not None and terms.cancelled_on <= day:
        return CoverageStatus.CANCELLED
    start, end, grace_end = terms.covered_from, terms.covered_until, terms.grace_until
    if start is None or end is None or grace_end is None:
        return CoverageStatus.PENDING_PAYMENT
    if day < start:
        return CoverageStatus.WAITING
    if day <= end:
        return CoverageStatus.ACTIVE
    if day <= grace_end:
        return CoverageStatus.GRACE
    return CoverageStatus.LAPSED
