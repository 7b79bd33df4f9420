"""The worker's hold on payments: which are due, who is acting on one, when to look
again, and whether the provider may already have our request.

Nothing here moves a payment's status or its money (`gateway.payments.ledger` does):
these are the columns that say what the worker should do next.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select

from db import models
from db.engine import writing
from db.values import PaymentStatus
from gateway.payments.book import PaymentBook

# Payments whose provider is still asked: a success may yet come (and is still credited).
ASKED = (PaymentStatus.PENDING, PaymentStatus.EXPIRED, PaymentStatus.CANCELLED)


def later(now: datetime, checks: int) -> datetime:
    """When to ask a provider again about a pending payment: soon, then less often."""
    return now + timedelta(seconds=min(30 * 2**checks, 900))


class PaymentClaims(PaymentBook):
    async def mark_submitting(self, reference: str) -> bool:
        """Written before the provider is called: if this worker dies mid-call, the next one
        asks the provider about our reference instead of creating a second request.
        False when the payment is no longer pending (cancelled by the payer): not sent."""
        async with writing(self.sessions) as session:
            payment = await session.get(models.Payment, reference, with_for_update=True)
            if payment is None or payment.status != PaymentStatus.PENDING:
                return False
            payment.submitted_at = payment.submitted_at or self.now()
            payment.unclear = True
            return True

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
            if payment is None:
                return
            payment.claimed_until = None  # the worker is done with it for now
            if payment.status not in ASKED:
                payment.next_check_at = None
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
                        models.Payment.status.in_((*ASKED, PaymentStatus.FAILED)),
                        models.Payment.next_check_at <= now,
                        or_(
                            models.Payment.claimed_until.is_(None),
                            models.Payment.claimed_until < now,
                        ),
                    )
                    .order_by(models.Payment.next_check_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for payment in due:
                payment.claimed_until = now + lease
            return list(due)
