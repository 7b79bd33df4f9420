"""The premium ledger: open a payment, settle it once from a confirmed status, credit
the household's coverage period in the same transaction.

Rules (DESIGN.md §4, the payments issue):
- our reference exists before any provider is called;
- a payment only moves forward: pending -> succeeded | failed | expired | cancelled |
  needs_review, except that a success confirmed after a local expiry or a cancellation is
  still credited;
- one debt, one payment: at most one mobile-money payment of a cover period is pending
  (a unique index, whichever process opens it); a success is credited only up to what
  the period still needs, the rest is held for refund (`refund_due`) and reviewed;
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
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.payments import PaymentState, ProviderStatus
from adapters.register import EventKind
from db import models
from db.engine import writing
from db.values import CASH, AuditAction, MessagePurpose, PaymentStatus
from gateway import audit
from gateway.actors import agent_actor
from gateway.enrolment.entitlements import payable, period_to_pay, terms_of
from gateway.payments.claims import PaymentClaims
from gateway.payments.failure_sms import failure_key, failure_sms
from gateway.payments.notices import PaymentNotices
from gateway.payments.sponsors import open_rights_if_paid
from gateway.register.outgoing import register_event
from gateway.sms.outbox import Outbox
from menus.identifiers import mask_phone
from menus.values import Channel, CoverageStatus

log = logging.getLogger(__name__)

FINAL = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.NEEDS_REVIEW})
WRITE_ATTEMPTS = 20


class PaymentRefused(ValueError):
    """The payment cannot be opened; `reason` is a catalogue-friendly word."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PaymentPending(PaymentRefused):
    """A mobile payment of this cover period awaits its payer's confirmation: one at a
    time, so that nobody is asked twice for the same debt."""

    def __init__(self, pending: models.Payment) -> None:
        super().__init__("pending")
        self.reference = pending.reference
        self.amount = pending.amount
        self.payer_phone = pending.payer_phone or ""


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


def credit(
    period: models.CoveragePeriod, amount: int, day: date, today: date, late_waiting_days: int = 0
) -> None:
    """Add a succeeded amount to the period; paying the household's share (and the
    sponsor's, where cover waits for it) starts the waiting period.

    The ledger never passes more than the period still needs (`Billing._succeed`): what a
    payment brings beyond it is held for refund, not credited.
    """
    period.amount_paid += amount
    open_rights_if_paid(period, day, today, late_waiting_days)


class Billing(PaymentClaims, PaymentNotices):
    """The whole ledger, as the gateway uses it: opening and settling payments here, the
    worker's claims (`PaymentClaims`) and providers' notices (`PaymentNotices`)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        timezone: str,
        now: Callable[[], datetime] | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        super().__init__(sessions, timezone, now)
        self.outbox = outbox or Outbox.standard(timezone=timezone)

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
        try:
            async with writing(self.sessions, lock_key) as session:
                earlier = await _by_request(session, request_key)
                if earlier is not None:
                    return Opened(earlier.reference, earlier.amount, earlier.amount)
                payment, due = await _new_payment(session, member_no, amount, now, mobile=True)
                payment.provider, payment.operator, payment.payer_phone = (
                    provider,
                    operator,
                    payer_phone,
                )
                payment.currency, payment.channel = currency, channel
                payment.request_key, payment.next_check_at = request_key, now
                session.add(payment)
        except IntegrityError:
            # The index said no: another process opened one for this period meanwhile
            # (or this very request, repeated by its twin).
            return await self._after_conflict(member_no, request_key)
        log.info("payment %s opened: %d %s by %s", payment.reference, amount, currency, provider)
        return Opened(payment.reference, amount, due)

    async def _after_conflict(self, member_no: str, request_key: str | None) -> Opened:
        async with self.sessions() as session:
            earlier = await _by_request(session, request_key)
            if earlier is not None:
                return Opened(earlier.reference, earlier.amount, earlier.amount)
            member = await session.scalar(
                select(models.Member).where(models.Member.member_no == member_no)
            )
            period = (
                await period_to_pay(session, member.household_id, self.now().date())
                if member
                else None
            )
            pending = await in_flight(session, period.id) if period else None
        if pending is not None:
            raise PaymentPending(pending)
        raise PaymentRefused("conflict")  # settled in between: the payer may try again

    async def cancel(self, reference: str, phone: str) -> str:
        """The payer (or the household's phone) gives up waiting: the period is free for
        another payment. A prompt already sent cannot be taken back, so the provider is
        still asked, and a success is still credited (or held for refund). Returns
        cancelled, not_pending (settled meanwhile) or not_yours."""
        now = self.now()
        async with writing(self.sessions) as session:
            payment = await session.get(models.Payment, reference, with_for_update=True)
            if payment is None or payment.status != PaymentStatus.PENDING:
                return "not_pending"
            household = await session.get(models.Household, payment.household_id)
            assert household is not None
            if phone not in (payment.payer_phone, household.phone):
                return "not_yours"
            if payment.submitted_at is None:
                # Never sent (the worker checks the status before it sends): it never will be.
                payment.status, payment.settled_at, payment.next_check_at = (
                    PaymentStatus.FAILED,
                    now,
                    None,
                )
            else:
                payment.status = PaymentStatus.CANCELLED
            payment.reason = "cancelled"
            session.add(
                audit.entry(
                    f"phone:{mask_phone(phone)}",
                    AuditAction.PAYMENT_CANCELLED,
                    now,
                    household_id=payment.household_id,
                    details={"reference": reference, "amount": payment.amount},
                )
            )
        log.info("payment %s cancelled by the payer", reference)
        return "cancelled"

    async def record_refund(self, reference: str, note: str, actor: str) -> int:
        """Staff gave back what a payment held for refund; returns the amount. Once."""
        async with writing(self.sessions) as session:
            payment = await session.get(models.Payment, reference, with_for_update=True)
            if payment is None:
                raise LookupError(f"no payment {reference}")
            if payment.refund_due <= 0:
                raise ValueError(f"payment {reference} owes no refund")
            if payment.refunded_at is not None:
                raise ValueError(f"payment {reference} was refunded already")
            payment.refunded_at, payment.refund_note = self.now(), note[:120]
            session.add(
                audit.entry(
                    actor,
                    AuditAction.REFUND_RECORDED,
                    payment.refunded_at,
                    household_id=payment.household_id,
                    details={"reference": reference, "amount": payment.refund_due, "note": note},
                )
            )
            return payment.refund_due

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
            payment = await session.get(models.Payment, reference, with_for_update=True)
            if payment is None:
                raise LookupError(reference)
            if payment.status == PaymentStatus.FAILED:
                # Final for us; but money taken after a failure must reach a person.
                payment.next_check_at = None
                if confirmed.state is PaymentState.SUCCEEDED:
                    payment.status, payment.reason = (
                        PaymentStatus.NEEDS_REVIEW,
                        "succeeded_after_failure",
                    )
                    log.error(
                        "payment %s succeeded after it had failed: held for review", reference
                    )
                    return Settled(reference, PaymentStatus.NEEDS_REVIEW, True)
                return Settled(reference, PaymentStatus.FAILED, False)
            if payment.status in FINAL:
                return Settled(reference, payment.status, False, payment.receipt_no)
            if confirmed.provider_transaction_id:
                payment.provider_transaction_id = confirmed.provider_transaction_id
            if confirmed.state is PaymentState.PENDING:
                return Settled(reference, payment.status, False)
            if confirmed.state is PaymentState.FAILED:
                if payment.status == PaymentStatus.CANCELLED:
                    # The provider confirms nothing was taken: nothing more to ask.
                    payment.status, payment.settled_at, payment.next_check_at = (
                        PaymentStatus.FAILED,
                        now,
                        None,
                    )
                    return Settled(reference, PaymentStatus.FAILED, True)
                if payment.status != PaymentStatus.PENDING:
                    if payment.status == PaymentStatus.EXPIRED:
                        # We stopped waiting first; the provider now confirms nothing was
                        # taken, which the payer still needs to hear (once).
                        why = confirmed.reason.value if confirmed.reason else None
                        await self._tell_failure(session, payment, now, why)
                    return Settled(reference, payment.status, False)  # an expiry stays an expiry
                payment.status, payment.settled_at, payment.next_check_at = (
                    PaymentStatus.FAILED,
                    now,
                    None,
                )
                payment.reason = confirmed.reason.value if confirmed.reason else "unknown"
                await self._tell_failure(session, payment, now, payment.reason)
                log.info("payment %s failed: %s", reference, payment.reason)
                return Settled(reference, PaymentStatus.FAILED, True)
            payment.settled_at, payment.next_check_at = now, None
            # Exactly what we asked: a provider that does not state the amount or the
            # currency has not confirmed them.
            if confirmed.amount != payment.amount or confirmed.currency != payment.currency:
                payment.status, payment.reason = PaymentStatus.NEEDS_REVIEW, "amount_mismatch"
                log.error(
                    "payment %s confirmed %s %s but we asked %s %s: held for review",
                    reference,
                    confirmed.amount,
                    confirmed.currency,
                    payment.amount,
                    payment.currency,
                )
                return Settled(reference, PaymentStatus.NEEDS_REVIEW, True)
            return await self._succeed(session, payment, now)

    async def record_cash(
        self,
        member_no: str,
        amount: int,
        payer_name: str,
        channel: str = Channel.AGENT,
        request_key: str | None = None,
        agent_id: int | None = None,
    ) -> Settled:
        """A premium paid in cash to an agent or at the mutual's desk: recorded and credited
        in one transaction, once per `request_key` (an agent retrying after a timeout).
        Cash taken by an agent stays in their ledger until handed over, and is audited."""
        now = self.now()
        lock_key = f"payment-request:{request_key}" if request_key else None
        async with writing(self.sessions, lock_key) as session:
            earlier = await _by_request(session, request_key)
            if earlier is not None:
                return Settled(earlier.reference, earlier.status, False, earlier.receipt_no)
            payment, _ = await _new_payment(session, member_no, amount, now, mobile=False)
            payment.provider, payment.currency, payment.channel = CASH, "XOF", channel
            payment.payer_name, payment.request_key, payment.settled_at = (
                payer_name,
                request_key,
                now,
            )
            payment.agent_id = agent_id
            session.add(payment)
            await session.flush()
            settled = await self._succeed(session, payment, now)
            if agent_id is not None:
                session.add(
                    audit.entry(
                        agent_actor(agent_id),
                        AuditAction.CASH_RECORDED,
                        now,
                        household_id=payment.household_id,
                        member_no=member_no,
                        details={"amount": amount, "receipt_no": payment.receipt_no},
                    )
                )
            return settled

    async def expire(self, reference: str) -> Settled:
        """Give up waiting locally; a success confirmed later is still credited."""
        async with writing(self.sessions) as session:
            payment = await session.get(models.Payment, reference, with_for_update=True)
            if payment is None or payment.status != PaymentStatus.PENDING:
                return Settled(reference, payment.status if payment else "unknown", False)
            payment.status, payment.reason = PaymentStatus.EXPIRED, "expired"
            return Settled(reference, PaymentStatus.EXPIRED, True)

    async def give_up(self, reference: str, reason: str) -> None:
        """A payment that never reached the provider in time: the payer has long gone."""
        async with writing(self.sessions) as session:
            payment = await session.get(models.Payment, reference, with_for_update=True)
            if payment is not None and payment.status == PaymentStatus.PENDING:
                payment.status, payment.reason = PaymentStatus.FAILED, reason
                payment.settled_at, payment.next_check_at, payment.claimed_until = (
                    self.now(),
                    None,
                    None,
                )
                # The payer was never prompted: nothing was taken, and they are waiting.
                await self._tell_failure(session, payment, self.now(), reason)

    async def _tell_failure(
        self, session: AsyncSession, payment: models.Payment, now: datetime, reason: str | None
    ) -> None:
        """The payer hears that nothing was taken, and how to try again: one SMS per
        payment, whichever confirmation comes first (the payment row is locked, so two
        confirmations never both find it missing)."""
        key = failure_key(payment.reference)
        if await session.scalar(select(models.Message.id).where(models.Message.dedupe_key == key)):
            return
        household = await session.get(models.Household, payment.household_id)
        assert household is not None
        session.add(failure_sms(self.outbox, payment, household, reason, now))

    async def _succeed(
        self, session: AsyncSession, payment: models.Payment, now: datetime
    ) -> Settled:
        # populate_existing: a period already in this session is read again under the lock,
        # or the credit would add to a stale amount_paid (a lost update on PostgreSQL).
        period = await session.get(
            models.CoveragePeriod, payment.period_id, with_for_update=True, populate_existing=True
        )
        assert period is not None
        household = await session.get(models.Household, payment.household_id)
        assert household is not None
        # Only what the period still needs is credited: a second payment of the same debt
        # (a late success after a cancel, cash taken meanwhile) is owed back, not counted.
        credited = min(payment.amount, terms_of(period).amount_due)
        payment.refund_due = payment.amount - credited
        if credited == 0:
            payment.status, payment.reason = PaymentStatus.NEEDS_REVIEW, "overpaid"
            log.error(
                "payment %s confirmed for a period already paid: %d %s held for refund",
                payment.reference,
                payment.refund_due,
                payment.currency,
            )
            return Settled(payment.reference, PaymentStatus.NEEDS_REVIEW, True)
        if payment.refund_due:
            log.error(
                "payment %s paid %d %s more than was due: held for refund",
                payment.reference,
                payment.refund_due,
                payment.currency,
            )
        payment.status = PaymentStatus.SUCCEEDED
        payment.reason = "overpaid" if payment.refund_due else None
        payment.receipt_no = receipt_number(payment.reference, now.date())
        was = period.status
        product = await session.get(models.Product, period.product_id)
        waiting = product.waiting_days if product is not None else 0
        credit(period, credited, now.date(), now.date(), waiting)
        if period.status == CoverageStatus.ACTIVE != was:
            # No waiting period: cover starts with this payment, not on a later sweep.
            session.add(
                register_event(EventKind.COVERAGE_ACTIVATED, household.id, now, period_id=period.id)
            )
        # The receipt is written with the credit: a payment never exists without it.
        terms = terms_of(period)
        paid_up = period.paid_in_full_on is not None
        session.add(
            self.outbox.message(
                phone=household.phone,
                language=household.language,
                purpose=MessagePurpose.RECEIPT,
                template="receipt_paid" if paid_up and terms.covered_from else "receipt",
                params={
                    "receipt_no": payment.receipt_no,
                    "amount": credited,
                    "amount_due": terms.amount_due,
                    "paid_in_full": paid_up,
                    "covered_from": _iso(terms.covered_from),
                    "covered_until": _iso(terms.covered_until),
                },
                now=now,
                household_id=household.id,
                dedupe_key=f"receipt:{payment.reference}",
                payment_reference=payment.reference,
            )
        )
        session.add(
            register_event(
                EventKind.PAYMENT_RECORDED,
                household.id,
                now,
                period_id=period.id,
                payment_reference=payment.reference,
            )
        )
        log.info("payment %s succeeded: receipt %s", payment.reference, payment.receipt_no)
        return Settled(payment.reference, PaymentStatus.SUCCEEDED, True, payment.receipt_no)


async def _by_request(session: AsyncSession, request_key: str | None) -> models.Payment | None:
    if request_key is None:
        return None
    return await session.scalar(
        select(models.Payment).where(models.Payment.request_key == request_key)
    )


async def in_flight(session: AsyncSession, period_id: int) -> models.Payment | None:
    """The period's mobile payment awaiting its payer, if any (at most one: the index)."""
    return await session.scalar(
        select(models.Payment).where(
            models.Payment.period_id == period_id,
            models.Payment.status == PaymentStatus.PENDING,
            models.Payment.provider != CASH,
        )
    )


async def _new_payment(
    session: AsyncSession, member_no: str, amount: int, now: datetime, *, mobile: bool
) -> tuple[models.Payment, int]:
    """A pending payment towards the current period of `member_no`'s household, checked
    against what it owes; the caller says who collects it. Also returns what was due.

    A mobile payment is refused while another of the period awaits its payer. Cash is
    not: the money is in the agent's hand, and if the pending one succeeds too, what the
    period no longer needs is held for refund."""
    member = await session.scalar(select(models.Member).where(models.Member.member_no == member_no))
    if member is None:
        raise PaymentRefused("unknown_member")
    period = await period_to_pay(session, member.household_id, now.date())
    if period is None or period.cancelled_on is not None:
        raise PaymentRefused("no_period")
    # Locked, and read again under the lock, before deciding what is due: two payments of
    # one household (an agent's cash, a mobile payment) are decided one after the other.
    await session.refresh(period, with_for_update=True)
    if not payable(period, now.date()):
        raise PaymentRefused("no_period")  # a year over, or a renewal expired unpaid
    due = terms_of(period).amount_due
    if due <= 0:
        raise PaymentRefused("nothing_due")
    pending = await in_flight(session, period.id) if mobile else None
    if pending is not None:
        raise PaymentPending(pending)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise PaymentRefused("bad_amount")
    if amount > due:
        raise PaymentRefused("above_due")
    # A part below the product's least is refused; the whole rest, however small, is not.
    product = await session.get(models.Product, period.product_id)
    if product is not None and amount < min(product.min_part_payment, due):
        raise PaymentRefused("below_minimum")
    payment = models.Payment(
        reference=str(uuid.uuid4()),
        household_id=member.household_id,
        period_id=period.id,
        amount=amount,
        status=PaymentStatus.PENDING,
        created_at=now,
    )
    return payment, due


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
