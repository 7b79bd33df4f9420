"""When each reminder of a coverage period goes: the kinds of reminder, the days each
may go on, and the plan of a household's reminders.

The sweep (`gateway.sms.reminders`) and the plan shown to operators (`alafia sms
schedule`) use the same windows, so what is shown is what is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from db import models
from gateway.enrolment.entitlements import terms_of
from gateway.scheme.cache import product_rule

CATCH_UP = timedelta(days=7)  # how late the last reminder of a kind may still go


class Reminder(StrEnum):
    """A kind of reminder or notice: its SMS template, and how its dedupe keys begin."""

    PREMIUM_DUE = "premium_due"  # days after a period opened, while it is unpaid
    COVER_ENDING = "cover_ending"  # days before cover ends, unless the household renewed
    COVER_ACTIVE = "cover_active"  # the waiting period is over
    GRACE_STARTED = "grace_started"  # cover ended; rights stay open until grace ends
    LAPSED = "lapsed"  # rights closed ("droits fermés")
    CAMPAIGN_OPEN = "campaign_open"  # the product's yearly campaign opened


@dataclass(frozen=True)
class Window:
    """A reminder `offset` days from its anchor goes out on any day of [first, last]."""

    offset: int
    first: int  # days from the anchor
    last: int


def after_windows(offsets: Sequence[int]) -> list[Window]:
    """Offsets counted after an anchor (enrolment): each runs until the next one."""
    ordered = sorted(offsets)
    bounds = [*ordered[1:], ordered[-1] + CATCH_UP.days + 1] if ordered else []
    return [Window(d, d, nxt - 1) for d, nxt in zip(ordered, bounds, strict=True)]


def before_windows(offsets: Sequence[int]) -> list[Window]:
    """Offsets counted before an anchor (end of cover), as negative days: 30 days
    before runs until the 7-days-before one takes over, which runs until the end."""
    ordered = sorted(offsets, reverse=True)
    bounds = [*ordered[1:], -1] if ordered else []
    return [Window(d, -d, -(nxt + 1)) for d, nxt in zip(ordered, bounds, strict=True)]


@dataclass(frozen=True)
class Planned:
    day: date
    kind: str
    dedupe_key: str


def plan(
    period: models.CoveragePeriod,
    product: models.Product,
    premium_due: Sequence[Window],
    cover_ending: Sequence[Window],
) -> list[Planned]:
    """When each reminder of `period` goes (or went), by the sweep's own windows."""
    planned: list[Planned] = []
    terms = terms_of(period)
    if terms.covered_from is None and period.cancelled_on is None:
        for w in premium_due:
            day = period.starts_on + timedelta(days=w.offset)
            kind = f"{Reminder.PREMIUM_DUE} +{w.offset}d"
            planned.append(Planned(day, kind, f"{Reminder.PREMIUM_DUE}:{w.offset}:{period.id}"))
    if terms.covered_from and terms.covered_until and terms.grace_until:
        if terms.covered_from > period.starts_on:
            key = f"{Reminder.COVER_ACTIVE}:{period.id}"
            planned.append(Planned(terms.covered_from, Reminder.COVER_ACTIVE, key))
        for w in cover_ending:
            day = terms.covered_until - timedelta(days=w.offset)
            kind = f"{Reminder.COVER_ENDING} -{w.offset}d"
            planned.append(Planned(day, kind, f"{Reminder.COVER_ENDING}:{w.offset}:{period.id}"))
        after_end = terms.covered_until + timedelta(days=1)
        key = f"{Reminder.GRACE_STARTED}:{period.id}"
        planned.append(Planned(after_end, Reminder.GRACE_STARTED, key))
        lapse = terms.grace_until + timedelta(days=1)
        planned.append(Planned(lapse, Reminder.LAPSED, f"{Reminder.LAPSED}:{period.id}"))
    rule = product_rule(product)
    if rule.window is not None:
        opening = rule.next_opening(period.starts_on)
        key = f"{Reminder.CAMPAIGN_OPEN}:{product.id}:{opening.isoformat()}:{period.household_id}"
        planned.append(Planned(opening, Reminder.CAMPAIGN_OPEN, key))
    return sorted(planned, key=lambda p: p.day)


def latest_opening(
    window: tuple[tuple[int, int], tuple[int, int]] | None, today: date
) -> date | None:
    if window is None:
        return None
    (month, day), _ = window
    opening = date(today.year, month, day)
    return opening if opening <= today else date(today.year - 1, month, day)


def closing(window: tuple[tuple[int, int], tuple[int, int]] | None, opened: date) -> date:
    assert window is not None
    _, (month, day) = window
    closes = date(opened.year, month, day)
    return closes if closes >= opened else date(opened.year + 1, month, day)
