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

from sqlalchemy import insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.payments import PaymentState, ProviderStatus
from db import models
from db.engine import writing
from gateway.rights import current_period, terms_of
from gateway.subsidies import open_rights_if_paid

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
    """Add a succeeded amount to the period; paying the household's share (and the
    sponsor's, where cover waits for it) starts the waiting period.

    An overpayment stays in `amount_paid` above `premium_due`; the next period opened
    for the household starts from that excess.
    """
    period.amount_paid += amount
    open_rights_if_paid(period, day, today)


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
        request_key: str | None = None,
    ) -> Opened:
        """Store a pending payment for the household of `member_no`; the worker will
        submit it to the provider, off the USSD path. Once per `request_key`."""
        now = self.now()
        lock_key = f"payment-request:{request_key}" if request_key else None
        async with writing(self.sessions, lock_key) as session:
            if request_key is not None:
                earlier = await session.scalar(
                    select(models.Payment).where(models.Payment.request_key == request_key)
                )
                if earlier is not None:
                    return Opened(earlier.reference, earlier.amount, earlier.amount)
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
                    request_key=request_key,
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
        async with writing(self.sessions) as session:
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
        async with writing(self.sessions) as session:
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
        async with writing(self.sessions) as session:
            payment = await session.scalar(
                select(models.Payment)
                .where(models.Payment.reference == reference)
                .with_for_update()
            )
            if payment is None or payment.status != PENDING:
                return Settled(reference, payment.status if payment else "unknown", False)
            payment.status, payment.reason = EXPIRED, "expired"
            return Settled(reference, EXPIRED, True)

    async def schedule(
        self,
        reference: str,
        at: datetime | None,
        *,
        submitted: bool | None = None,
        checked: bool = False,
        transaction_id: str | None = None,
        unclear: bool | None = None,
    ) -> None:
        """When the worker should act next on a payment; `submitted` records whether the
        provider has (or may have) our request, so that a retry asks before it re-sends."""
        async with writing(self.sessions) as session:
            payment = await session.get(models.Payment, reference, with_for_update=True)
            if payment is None or payment.status not in (PENDING, EXPIRED):
                return
            payment.next_check_at = at
            if submitted is True and payment.submitted_at is None:
                payment.submitted_at = self.now()
            elif submitted is False:
                payment.submitted_at = None
            if checked:
                payment.checks += 1
            if transaction_id and not payment.provider_transaction_id:
                payment.provider_transaction_id = transaction_id
            if unclear is not None:
                payment.unclear = unclear

    async def claim_due(self, limit: int, lease: timedelta) -> list[models.Payment]:
        """Payments the worker should act on now, each taken by one worker only: rows
        locked by another worker are skipped, and the lease hides them until it ends."""
        now = self.now()
        async with writing(self.sessions) as session:
            due = (
                await session.scalars(
                    select(models.Payment)
                    .where(
                        models.Payment.status.in_((PENDING, EXPIRED)),
                        models.Payment.next_check_at <= now,
                    )
                    .order_by(models.Payment.next_check_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for payment in due:
                payment.next_check_at = now + lease
            return list(due)

    async def receive(self, reference: str | None, provider: str, source: str, body: str) -> bool:
        """Keep what a provider sent, believed or not, and have the worker confirm the
        payment now. False when we never issued this reference (kept for review).

        Plain statements on a connection, no ORM unit of work: this is the busiest write
        path when a provider replays its callbacks, and it needs none of the ORM's state."""
        now = self.now()
        async with self.sessions() as session, session.begin():
            known = False
            if reference is not None:
                # One UPDATE: concurrent copies of a callback never wait on each other's reads.
                moved = await session.execute(
                    update(models.Payment)
                    .where(
                        models.Payment.reference == reference,
                        models.Payment.status.in_((PENDING, EXPIRED)),
                    )
                    .values(next_check_at=now),
                    execution_options={"synchronize_session": False},
                )
                known = bool(getattr(moved, "rowcount", 0)) or (
                    await session.scalar(
                        select(models.Payment.reference).where(
                            models.Payment.reference == reference
                        )
                    )
                    is not None
                )
            await session.execute(
                insert(models.PaymentNotice).values(
                    reference=reference,
                    provider=provider,
                    source=source,
                    body=body,
                    outcome="to_confirm" if known else "unknown_reference",
                    received_at=now,
                )
            )
            return known

    async def reject(self, provider: str, source: str, body: str, why: str) -> None:
        """Keep a callback we refused (bad signature, stale, malformed): nothing changes."""
        async with self.sessions() as session, session.begin():
            session.add(
                models.PaymentNotice(
                    reference=None,
                    provider=provider,
                    source=source,
                    body=body,
                    outcome=why,
                    received_at=self.now(),
                )
            )

    async def _succeed(
        self, session: AsyncSession, payment: models.Payment, now: datetime
    ) -> Settled:
        period = await session.scalar(
            select(models.CoveragePeriod)
            .where(models.CoveragePeriod.id == payment.period_id)
            .with_for_update()
        )
        assert period is not None
        household = await session.get(models.Household, payment.household_id)
        assert household is not None
        payment.status = SUCCEEDED
        payment.reason = None
        payment.receipt_no = receipt_number(payment.reference, now.date())
        credit(period, payment.amount, now.date(), now.date())
        # The receipt is written with the credit: a payment never exists without it.
        session.add(
            models.Message(
                household_id=household.id,
                phone=household.phone,
                language=household.language,
                purpose="receipt",
                template="payment_receipt",
                params={
                    "receipt_no": payment.receipt_no,
                    "amount": payment.amount,
                    "amount_due": terms_of(period).amount_due,
                    "paid_in_full": period.paid_in_full_on is not None,
                },
                status="queued",
                payment_reference=payment.reference,
                created_at=now,
            )
        )
        log.info("payment %s succeeded: receipt %s", payment.reference, payment.receipt_no)
        return Settled(payment.reference, SUCCEEDED, True, payment.receipt_no)


def later(now: datetime, checks: int) -> datetime:
    """When to ask a provider again about a pending payment: soon, then less often."""
    return now + timedelta(seconds=min(30 * 2**checks, 900))
