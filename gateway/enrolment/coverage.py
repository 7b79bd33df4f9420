"""Where a coverage period stands on a given day, from its dates and its money.

pending_payment -> waiting -> active -> grace -> lapsed, plus cancelled (the
`CoverageStatus` the register is told too). Cover starts
once the premium is paid in full and the waiting period is over; it lasts
`cover_months` from that start; after the grace period the rights are closed.
"""

from __future__ import annotations

import calendar
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

    @property
    def covered_from(self) -> date | None:
        if self.paid_in_full_on is None:
            return None
        return self.paid_in_full_on + timedelta(days=self.waiting_days)

    @property
    def covered_until(self) -> date | None:
        start = self.covered_from
        return None if start is None else add_months(start, self.cover_months) - timedelta(days=1)

    @property
    def grace_until(self) -> date | None:
        end = self.covered_until
        return None if end is None else end + timedelta(days=self.grace_days)

    @property
    def amount_due(self) -> int:
        return max(0, self.premium_due - self.amount_paid)


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
