"""What providers tell us about payments (callbacks, webhooks), kept whether believed or
not, and what a person must look at: payments held for review, and notices for
references we never issued.

A notice is never believed: it only makes the worker ask the provider at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, or_, select, update

from db import models
from db.values import NoticeOutcome, PaymentStatus
from gateway.payments.book import PaymentBook
from gateway.payments.claims import ASKED
from menus.identifiers import mask_phone


class PaymentNotices(PaymentBook):
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
                        models.Payment.status.in_((*ASKED, PaymentStatus.FAILED)),
                        # A payment a worker is handling right now is left to it.
                        or_(
                            models.Payment.claimed_until.is_(None),
                            models.Payment.claimed_until < now,
                        ),
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
                    outcome=NoticeOutcome.TO_CONFIRM if known else NoticeOutcome.UNKNOWN_REFERENCE,
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

    async def for_review(self, limit: int = 200) -> list[dict[str, Any]]:
        """What a person must look at: payments held for review, payments the worker gave
        up on, payments that paid a debt already paid (`refund_due`, with the payments
        that paid it: `credited_with`), and callbacks for references we never issued."""
        async with self.sessions() as session:
            held = (
                await session.scalars(
                    select(models.Payment)
                    .where(
                        or_(
                            # Held for review, unless the review ended in a refund.
                            (models.Payment.status == PaymentStatus.NEEDS_REVIEW)
                            & models.Payment.refunded_at.is_(None),
                            (models.Payment.status.in_(ASKED))
                            & models.Payment.next_check_at.is_(None),
                            # Paid twice for one debt: owed back until staff record it.
                            (models.Payment.refund_due > 0) & models.Payment.refunded_at.is_(None),
                        )
                    )
                    .order_by(models.Payment.created_at)
                    .limit(limit)
                )
            ).all()
            # For a refund, the other payments that paid the same period.
            credited_with: dict[str, list[str]] = {}
            for p in held:
                if p.refund_due > 0:
                    credited_with[p.reference] = list(
                        (
                            await session.scalars(
                                select(models.Payment.reference)
                                .where(
                                    models.Payment.period_id == p.period_id,
                                    models.Payment.status == PaymentStatus.SUCCEEDED,
                                    models.Payment.reference != p.reference,
                                )
                                .order_by(models.Payment.created_at)
                            )
                        ).all()
                    )
            strangers = (
                await session.scalars(
                    select(models.PaymentNotice)
                    .where(models.PaymentNotice.outcome == NoticeOutcome.UNKNOWN_REFERENCE)
                    .order_by(models.PaymentNotice.received_at)
                    .limit(limit)
                )
            ).all()
        return [
            {
                "kind": "payment",
                "reference": p.reference,
                "status": p.status,
                "reason": p.reason or "left by the worker",
                "amount": p.amount,
                "currency": p.currency,
                "provider": p.provider,
                "provider_transaction_id": p.provider_transaction_id,
                "payer": mask_phone(p.payer_phone) if p.payer_phone else None,
                "created_at": p.created_at.isoformat(),
                "household_id": p.household_id,
                "refund_due": p.refund_due if p.refunded_at is None else 0,
                "credited_with": credited_with.get(p.reference, []),
            }
            for p in held
        ] + [
            {
                "kind": "callback",
                "reference": n.reference,
                "provider": n.provider,
                "received_at": n.received_at.isoformat(),
            }
            for n in strangers
        ]
