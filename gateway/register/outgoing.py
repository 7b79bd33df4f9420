"""Events for the central register, added to the transaction of the change they report.

An event names what happened and to whom; the sync job reads the household's state
when it pushes, so an event is small here and complete on the wire.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from adapters.register import EventKind
from db import models
from db.values import RegisterEventStatus


def register_event(
    kind: EventKind,
    household_id: int,
    now: datetime,
    *,
    period_id: int | None = None,
    payment_reference: str | None = None,
    member_no: str | None = None,
) -> models.RegisterEvent:
    return models.RegisterEvent(
        event_id=str(uuid.uuid4()),
        household_id=household_id,
        kind=kind.value,
        period_id=period_id,
        payment_reference=payment_reference,
        member_no=member_no,
        occurred_at=now,
        status=RegisterEventStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
    )
