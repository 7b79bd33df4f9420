"""Events for the central register, added to the transaction of the change they report.

An event names what happened and to whom; the sync job reads the household's state
when it pushes, so an event is small here and complete on the wire. Each has a priority
(`EventPriority`): an enrolment or a payment is pushed before a backfill's events.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from adapters.register import EventKind
from db import models
from db.values import EventPriority, RegisterEventStatus

# What a facility may be asked about today: pushed ahead of everything else.
URGENT = frozenset(
    {EventKind.HOUSEHOLD_ENROLLED, EventKind.PAYMENT_RECORDED, EventKind.COVERAGE_ACTIVATED}
)


def priority_of(kind: EventKind, *, backfill: bool = False) -> EventPriority:
    if backfill:
        return EventPriority.BACKFILL
    return EventPriority.NOW if kind in URGENT else EventPriority.CHANGE


def register_event(
    kind: EventKind,
    household_id: int,
    now: datetime,
    *,
    period_id: int | None = None,
    payment_reference: str | None = None,
    member_no: str | None = None,
    backfill: bool = False,
) -> models.RegisterEvent:
    """`backfill`: one of many sent in bulk, pushed after every other pending event."""
    return models.RegisterEvent(
        event_id=str(uuid.uuid4()),
        household_id=household_id,
        kind=kind.value,
        period_id=period_id,
        payment_reference=payment_reference,
        member_no=member_no,
        occurred_at=now,
        status=RegisterEventStatus.PENDING,
        priority=priority_of(kind, backfill=backfill),
        attempts=0,
        next_attempt_at=now,
    )
