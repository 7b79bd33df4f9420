"""Overpayments carried into the next cover year (issue 13, item 7).

What a household overpaid and nobody has given back (`payments.refund_due` without
`refunded_at`) is carried into its renewal, payment by payment in the order they were
settled, each whole and only while it fits in the household's share of the new year; what
does not fit stays on the refund review list (`alafia payments review`). The short code,
the agents and the import renew with this one rule, and the renewal reminder quotes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import models


def fitting(overpaid: Iterable[int], share: int) -> list[int]:
    """The positions of the overpayments carried into a share, in their order."""
    room, kept = share, []
    for position, amount in enumerate(overpaid):
        if amount <= room:
            kept.append(position)
            room -= amount
    return kept


def carried_amount(overpaid: Sequence[int], share: int) -> int:
    return sum(overpaid[position] for position in fitting(overpaid, share))


def carriable(session: Session, household_id: int, share: int) -> list[models.Payment]:
    """The household's overpayments that a renewal whose share is `share` carries."""
    held = list(
        session.scalars(
            select(models.Payment)
            .where(
                models.Payment.household_id == household_id,
                models.Payment.refund_due > 0,
                models.Payment.refunded_at.is_(None),
            )
            .order_by(models.Payment.settled_at, models.Payment.reference)
        )
    )
    return [held[position] for position in fitting((p.refund_due for p in held), share)]


def mark_carried(
    payments: Iterable[models.Payment], period: models.CoveragePeriod, now: datetime
) -> None:
    """Carried, not given back: off the refund review list, saying where it went."""
    for payment in payments:
        payment.refunded_at, payment.refund_note = now, f"carried to CP-{period.id}"
