"""Where a coverage period stands on a given day, from its dates and its money.

pending_payment -> waiting -> active -> grace -> lapsed, plus cancelled. Cover starts
once the premium is paid in full and the waiting period is over; it lasts
`cover_months` from that start; after the grace period the rights are closed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

PENDING_PAYMENT = "pending_payment"
WAITING = "waiting"
ACTIVE = "active"
GRACE = "grace"
LAPSED = "lapsed"
CANCELLED = "cancelled"


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


def status_on(terms: PeriodTerms, day: date) -> str:
    if terms.cancelled_on is not None and terms.cancelled_on <= day:
        return CANCELLED
    start, end, grace_end = terms.covered_from, terms.covered_until, terms.grace_until
    if start is None or end is None or grace_end is None:
        return PENDING_PAYMENT
    if day < start:
        return WAITING
    if day <= end:
        return ACTIVE
    if day <= grace_end:
        return GRACE
    return LAPSED
