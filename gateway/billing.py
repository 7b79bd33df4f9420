"""The premium ledger: open a payment, settle it once from a confirmed status, credit
the household's coverage period in the same transaction.

Rules (DESIGN.md §4, the payments issue):
- our reference exists before any provider is called;
- a payment only moves forward: pending -> succeeded | failed | expired | needs_review,
  except that a success confirmed after a local expiry is still credited;
- the confirmed amount and currency must equal what we asked, or nobody is credited and
  the payment waits for a person (needs_review);
- settling twice changes nothing: the row is locked while it is decided.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.payments import PaymentState, ProviderStatus
from db import models
from db.engine import write_transaction
from gateway import coverage
from gateway.rights import current_period, terms_of

log = logging.getLogger(__name__)

PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"
EXPIRED = "expired"
NEEDS_REVIEW = "needs_review"
FINAL = frozenset({SUCCEEDED, FAILED, NEEDS_REVIEW})
WRITE_ATTEMPTS = 20


class PaymentRefused(ValueError):
    """The payment cannot be opened; `reason` is a catalogue-friendly word."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Opened:
    reference: str
    amount: int
    due_before: int


@dataclass(frozen=True)
class Settled:
    reference: str
    status: str  # the payment's status after this call
    changed: bool  # False: a repeat, or still pending
    receipt_no: str | None = None


def receipt_number(reference: str, day: date) -> str:
    return f"{day:%y%m%d}-{reference.replace('-', '')[:10].upper()}"


def credit(period: models.CoveragePeriod, amount: int, day: date, today: date) -> None:
    """Add a succeeded amount to the period; full payment starts the waiting period.

    An overpayment stays in `amount_paid` above `premium_due`; the next period opened
    for the household starts from that excess.
    """
    period.amount_paid += amount
    if period.paid_in_full_on is None and period.amount_paid >= period.premium_due:
        period.paid_in_full_on = day
    period.status = coverage.status_on(terms_of(period), today)


class Billing:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        timezone: str,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.sessions = sessions
        self.zone = ZoneInfo(timezone)
        self._now = now

    def now(self) -> datetime:
        return self._now() if self._now else datetime.now(self.zone)

    async def open_payment(
        self,
        member_no: str,
        amount: int,
        payer_phone: str | None,
        provider: str,
        currency: str,
        channel: str,
        operator: str | None = None,
    ) -> Opened:
        """Store a pending payment for the household of `member_no`; the worker will
        submit it to the provider, off the USSD path."""
        now = self.now()
        async with self.sessions() as session, session.begin():
            member = await session.scalar(
                select(models.Member).where(models.Member.member_no == member_no)
            )
            if member is None:
                raise PaymentRefused("unknown_member")
            period = await current_period(session, member.household_id, now.date())
            if period is None or period.cancelled_on is not None:
                raise PaymentRefused("no_period")
            due = terms_of(period).amount_due
            if due <= 0:
                raise PaymentRefused("nothing_due")
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise PaymentRefused("bad_amount")
            if amount > due:
                raise PaymentRefused("above_due")
            reference = str(uuid.uuid4())
            session.add(
                models.Payment(
                    reference=reference,
                    household_id=member.household_id,
                    period_id=period.id,
                    provider=provider,
                    operator=operator,
                    payer_phone=payer_phone,
                    amount=amount,
                    currency=currency,
                    status=PENDING,
                    channel=channel,
                    created_at=now,
                    next_check_at=now,
                )
            )
        log.info("payment %s opened: %d %s by %s", reference, amount, currency, provider)
        return Opened(reference, amount, due)

    async def settle(self, reference: str, confirmed: ProviderStatus) -> Settled:
        """Apply a status confirmed by the provider (never an unverified callback).

        Safe to call any number of times, concurrently: the payment row is locked while it
        is decided (PostgreSQL), and SQLite's one writer is waited for and the decision
        taken again on fresh data.
        """
        for attempt in range(WRITE_ATTEMPTS):
            try:
                return await self._settle(reference, confirmed)
            except OperationalError as error:
                if "locked" not in str(error) or attempt == WRITE_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.02 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _settle(self, reference: str, confirmed: ProviderStatus) -> Settled:
        now = self.now()
        async with self.sessions() as session, session.begin():
            await write_transaction(session)
            payment = await session.scalar(
                select(models.Payment)
                .where(models.Payment.reference == reference)
                .with_for_update()
            )
            if payment is None:
                raise LookupError(reference)
            if payment.status in FINAL:
                return Settled(reference, payment.status, False, payment.receipt_no)
            if confirmed.provider_transaction_id:
                payment.provider_transaction_id = confirmed.provider_transaction_id
            if confirmed.state is PaymentState.PENDING:
                return Settled(reference, payment.status, False)
            if confirmed.state is PaymentState.FAILED:
                if payment.status != PENDING:
                    return Settled(reference, payment.status, False)  # an expiry stays an expiry
                payment.status, payment.settled_at, payment.next_check_at = FAILED, now, None
                payment.reason = confirmed.reason.value if confirmed.reason else "unknown"
                log.info("payment %s failed: %s", reference, payment.reason)
                return Settled(reference, FAILED, True)
            payment.settled_at, payment.next_check_at = now, None
            if confirmed.amount != payment.amount or (
                confirmed.currency is not None and confirmed.currency != payment.currency
            ):
                payment.status, payment.reason = NEEDS_REVIEW, "amount_mismatch"
                log.error(
                    "payment %s confirmed %s %s but we asked %s %s: held for review",
                    reference,
                    confirmed.amount,
                    confirmed.currency,
                    payment.amount,
                    payment.currency,
                )
                return Settled(reference, NEEDS_REVIEW, True)
            return await self._succeed(session, payment, now)

    async def record_cash(
        self, member_no: str, amount: int, payer_name: str, channel: str = "agent"
    ) -> Settled:
        """A premium paid in cash to an agent or at the mutual's desk: settled at once."""
        opened = await self.open_payment(member_no, amount, None, "cash", "XOF", channel)
        now = self.now()
        async with self.sessions() as session, session.begin():
            await write_transaction(session)
            payment = await session.scalar(
                select(models.Payment)
                .where(models.Payment.reference == opened.reference)
                .with_for_update()
            )
            assert payment is not None
            payment.payer_name = payer_name
            payment.settled_at, payment.next_check_at = now, None
            return await self._succeed(session, payment, now)

    async def expire(self, reference: str) -> Settled:
        """Give up waiting locally; a success confirmed later is still credited."""
        async with self.sessions() as session, session.begin():
            await write_transaction(session)
            payment = await session.scalar(
                select(models.Payment)
                .where(models.Payment.reference == reference)
                .with_for_update()
            )
            if payment is None or payment.status != PENDING:
                return Settled(reference, payment.status if payment else "unknown", False)
            payment.status, payment.reason = EXPIRED, "expired"
            return Settled(reference, EXPIRED, True)

    async def _succeed(
        self, session: AsyncSession, payment: models.Payment, now: datetime
    ) -> Settled:
        period = await session.scalar(
            select(models.CoveragePeriod)
            .where(models.CoveragePeriod.id == payment.period_id)
            .with_for_update()
        )
        assert period is not None
        payment.status = SUCCEEDED
        payment.reason = None
        payment.receipt_no = receipt_number(payment.reference, now.date())
        credit(period, payment.amount, now.date(), now.date())
        log.info("payment %s succeeded: receipt %s", payment.reference, payment.receipt_no)
        return Settled(payment.reference, SUCCEEDED, True, payment.receipt_no)


def later(now: datetime, checks: int) -> datetime:
    """When to ask a provider again about a pending payment: soon, then less often."""
    return now + timedelta(seconds=min(30 * 2**checks, 900))
