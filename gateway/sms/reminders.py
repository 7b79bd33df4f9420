"""Reminders and notices of changing cover, found by a periodic sweep.

Each reminder has a dedupe key (kind, offset, period or household), so it is queued at
most once whatever the number of workers, sweeps or restarts. Candidates are found
by index on the stored cover dates, never by reading every household. A sweep that
runs late (a worker down for a day) still sends what is due, within a catch-up
window, and never a reminder that no longer makes sense.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from adapters.register import EventKind
from db import models
from db.engine import writing
from db.values import MessagePurpose
from gateway.enrolment import coverage
from gateway.enrolment.entitlements import terms_of
from gateway.register.outgoing import register_event
from gateway.scheme.cache import product_rule
from gateway.sms.outbox import Outbox, insert_once
from gateway.sms.schedule import (
    CATCH_UP,
    Planned,
    Reminder,
    Window,
    after_windows,
    before_windows,
    closing,
    latest_opening,
    plan,
)
from menus.values import CoverageStatus, Relationship

log = logging.getLogger(__name__)

CHUNK = 500  # periods per transaction: short transactions, the sweep loops
# The notice each new status brings.
NOTICES = {
    CoverageStatus.ACTIVE: Reminder.COVER_ACTIVE,
    CoverageStatus.GRACE: Reminder.GRACE_STARTED,
    CoverageStatus.LAPSED: Reminder.LAPSED,
}
REGISTER_EVENTS = {
    CoverageStatus.ACTIVE: EventKind.COVERAGE_ACTIVATED,
    CoverageStatus.LAPSED: EventKind.COVERAGE_LAPSED,
}


@dataclass(frozen=True)
class Addressee:
    """Who a period's notice goes to: the household's contact phone, in its language."""

    household_id: int
    phone: str
    language: str
    head_no: str | None


class Reminders:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        now: Callable[[], datetime],
        *,
        premium_due_days: Sequence[int],
        cover_ending_days: Sequence[int],
        every_seconds: float,
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.now = now
        self.premium_due = after_windows(premium_due_days)
        self.cover_ending = before_windows(cover_ending_days)
        self.every_seconds = every_seconds
        self._next_look = 0.0
        self._swept_on: date | None = None

    async def work(self) -> int:
        """The worker job. Reminders and changes of cover move by the day: one sweep per
        day and process is enough (a restart sweeps again; dedupe keys make it harmless).
        The day is looked at every `every_seconds`."""
        if time.monotonic() < self._next_look:
            return 0
        self._next_look = time.monotonic() + self.every_seconds
        now = self.now()
        if self._swept_on == now.date():
            return 0
        queued = await self.sweep(now)
        self._swept_on = now.date()
        return queued

    async def sweep(self, now: datetime) -> int:
        today = now.date()
        queued = await _by_pages(partial(self._changes_of_cover, now, today))
        for window in self.premium_due:
            queued += await _by_pages(partial(self._premium_due, now, today, window))
        for window in self.cover_ending:
            queued += await _by_pages(partial(self._cover_ending, now, today, window))
        queued += await self._campaigns_opening(now, today)
        if queued:
            log.info("reminder sweep queued %d messages", queued)
        return queued

    async def _changes_of_cover(self, now: datetime, today: date, after: int) -> Page:
        """Stored statuses that the calendar has overtaken: waiting -> active -> grace
        -> lapsed. The status, its notice and its register event change together."""
        period = models.CoveragePeriod
        async with writing(self.sessions) as session:
            rows = (
                await session.execute(
                    _with_addressee(period)
                    .where(
                        period.id > after,
                        or_(
                            and_(
                                period.status == CoverageStatus.WAITING,
                                period.covered_from <= today,
                            ),
                            # Past its end, waiting or active: grace, or lapsed beyond it.
                            and_(
                                period.status.in_((CoverageStatus.WAITING, CoverageStatus.ACTIVE)),
                                period.covered_until < today,
                            ),
                            and_(period.status == CoverageStatus.GRACE, period.grace_until < today),
                        ),
                    )
                    .order_by(period.id)
                    .limit(CHUNK)
                    .with_for_update(of=period, skip_locked=True)
                )
            ).all()
            queued = 0
            for row, addressee in _addressed(rows):
                status = coverage.status_on(terms_of(row), today)
                if status == row.status:
                    continue
                row.status = status
                kind = REGISTER_EVENTS.get(status)
                if kind is not None:  # the register learns it with the change itself
                    session.add(register_event(kind, row.household_id, now, period_id=row.id))
                template = NOTICES.get(status)
                if template is not None and addressee is not None:
                    key = f"{template}:{row.id}"
                    queued += await self._queue(session, row, addressee, template, key, now, {})
            return _page(rows, queued)

    async def _premium_due(self, now: datetime, today: date, window: Window, after: int) -> Page:
        period = models.CoveragePeriod
        kind = f"{Reminder.PREMIUM_DUE}:{window.offset}:"
        async with writing(self.sessions) as session:
            rows = (
                await session.execute(
                    _with_addressee(period, reachable=True)
                    .where(
                        period.id > after,
                        period.status == CoverageStatus.PENDING_PAYMENT,
                        period.cancelled_on.is_(None),
                        period.amount_paid + period.carried_in < period.premium_due,
                        period.starts_on <= today - timedelta(days=window.first),
                        period.starts_on >= today - timedelta(days=window.last),
                        _not_queued(kind, period.id),
                    )
                    .order_by(period.id)
                    .limit(CHUNK)
                )
            ).all()
            queued = 0
            for row, addressee in _addressed(rows):
                assert addressee is not None
                params = {"amount_due": terms_of(row).amount_due}
                key = f"{kind}{row.id}"
                queued += await self._queue(
                    session, row, addressee, Reminder.PREMIUM_DUE, key, now, params
                )
            return _page(rows, queued)

    async def _cover_ending(self, now: datetime, today: date, window: Window, after: int) -> Page:
        period = models.CoveragePeriod
        renewal = aliased(models.CoveragePeriod)
        kind = f"{Reminder.COVER_ENDING}:{window.offset}:"
        async with writing(self.sessions) as session:
            rows = (
                await session.execute(
                    _with_addressee(period, reachable=True)
                    .where(
                        period.id > after,
                        period.status.in_((CoverageStatus.WAITING, CoverageStatus.ACTIVE)),
                        period.covered_until >= today - timedelta(days=window.last),
                        period.covered_until <= today - timedelta(days=window.first),
                        _not_queued(kind, period.id),
                        # A household that already renewed needs no reminder.
                        ~exists().where(
                            renewal.household_id == period.household_id,
                            renewal.starts_on > period.starts_on,
                        ),
                    )
                    .order_by(period.id)
                    .limit(CHUNK)
                )
            ).all()
            queued = 0
            for row, addressee in _addressed(rows):
                assert addressee is not None and row.covered_until is not None
                params = {"days": (row.covered_until - today).days}
                key = f"{kind}{row.id}"
                queued += await self._queue(
                    session, row, addressee, Reminder.COVER_ENDING, key, now, params
                )
            return _page(rows, queued)

    async def _campaigns_opening(self, now: datetime, today: date) -> int:
        """In the first days of a product's yearly campaign, every household on it that
        has not yet enrolled for this campaign is told it is open."""
        async with self.sessions() as session:
            products = (
                await session.scalars(
                    select(models.Product).where(
                        models.Product.active.is_(True), models.Product.window_start.is_not(None)
                    )
                )
            ).all()
        queued = 0
        for product in products:
            rule = product_rule(product)
            opened = latest_opening(rule.window, today)
            if opened is None or not rule.is_open(today) or today - opened > CATCH_UP:
                continue
            closes = closing(rule.window, opened)
            queued += await _by_pages(partial(self._campaign_open, now, product, opened, closes))
        return queued

    async def _campaign_open(
        self, now: datetime, product: models.Product, opened: date, closes: date, after: int
    ) -> Page:
        household = models.Household
        period = models.CoveragePeriod
        kind = f"{Reminder.CAMPAIGN_OPEN}:{product.id}:{opened.isoformat()}:"
        async with writing(self.sessions) as session:
            rows = (
                await session.scalars(
                    select(household)
                    .where(
                        household.id > after,
                        household.product_id == product.id,
                        _not_queued(kind, household.id),
                        ~exists().where(
                            period.household_id == household.id, period.starts_on >= opened
                        ),
                        ~exists().where(models.SmsOptOut.phone == household.phone),
                    )
                    .order_by(household.id)
                    .limit(CHUNK)
                )
            ).all()
            queued = 0
            for row in rows:
                name = product.names.get(row.language) or next(iter(product.names.values()), "")
                message = self.outbox.message(
                    phone=row.phone,
                    language=row.language,
                    purpose=MessagePurpose.REMINDER,
                    template=Reminder.CAMPAIGN_OPEN,
                    params={"product": name, "closes_on": closes.isoformat()},
                    now=now,
                    household_id=row.id,
                    dedupe_key=f"{kind}{row.id}",
                )
                queued += await _insert(session, message)
            return Page(len(rows), queued, rows[-1].id if rows else 0)

    async def _queue(
        self,
        session: AsyncSession,
        period: models.CoveragePeriod,
        to: Addressee,
        template: str,
        dedupe_key: str,
        now: datetime,
        params: dict[str, Any],
    ) -> int:
        message = self.outbox.message(
            phone=to.phone,
            language=to.language,
            purpose=MessagePurpose.REMINDER,
            template=template,
            params={
                "member_no": to.head_no,
                "covered_from": _iso(period.covered_from),
                "covered_until": _iso(period.covered_until),
                "grace_until": _iso(period.grace_until),
                **params,
            },
            now=now,
            household_id=to.household_id,
            dedupe_key=dedupe_key,
        )
        return await _insert(session, message)

    def planned(self, period: models.CoveragePeriod, product: models.Product) -> list[Planned]:
        """When each reminder of `period` goes (or went), by the same rules as the sweep."""
        return plan(period, product, self.premium_due, self.cover_ending)


@dataclass(frozen=True)
class Page:
    seen: int
    queued: int
    last_id: int  # where the next page starts: pages never reread what was seen


async def _by_pages(page: Callable[[int], Awaitable[Page]]) -> int:
    """Every page of a sweep, by key: a page whose rows queue nothing (numbers that said
    STOP) is passed, not read again."""
    queued, after = 0, 0
    while True:
        found = await page(after)
        queued += found.queued
        if found.seen < CHUNK:
            return queued
        after = found.last_id


def _with_addressee(period: Any, reachable: bool = False) -> Select[Any]:
    """Periods with their household's phone, language and head's member number, in one
    query; `reachable` leaves out numbers that said STOP."""
    household, head = models.Household, aliased(models.Member)
    query = (
        select(period, household.phone, household.language, head.member_no)
        .join(household, household.id == period.household_id)
        .outerjoin(
            head,
            and_(head.household_id == household.id, head.relationship_to_head == Relationship.HEAD),
        )
        .outerjoin(models.SmsOptOut, models.SmsOptOut.phone == household.phone)
    )
    if reachable:
        query = query.where(models.SmsOptOut.phone.is_(None))
    return query.add_columns(models.SmsOptOut.phone.label("opted_out"))


def _addressed(rows: Sequence[Any]) -> list[tuple[models.CoveragePeriod, Addressee | None]]:
    """Each period with where its notice goes; None for a number that said STOP."""
    return [
        (
            row[0],
            None if row[4] is not None else Addressee(row[0].household_id, row[1], row[2], row[3]),
        )
        for row in rows
    ]


def _page(rows: Sequence[Any], queued: int) -> Page:
    return Page(len(rows), queued, rows[-1][0].id if rows else 0)


def _not_queued(kind: str, key_id: Any) -> ColumnElement[bool]:
    key = literal(kind, String) + cast(key_id, String)
    return ~exists().where(models.Message.dedupe_key == key)


async def _insert(session: AsyncSession, message: models.Message) -> int:
    dialect = session.get_bind().dialect.name
    return len((await session.execute(insert_once(message, dialect))).all())


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
