"""What the aggregator tells us after the fact: delivery reports and opt-outs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import writing
from gateway.sms.outbox import DELIVERED, SENT, UNDELIVERED

log = logging.getLogger(__name__)

# Africa's Talking delivery statuses that end a message's story; the others
# (Sent, Submitted, Buffered) are news on the way.
FINAL_REPORTS = {"Success": DELIVERED, "Failed": UNDELIVERED, "Rejected": UNDELIVERED}
FINAL_REPORTS["Expired"] = UNDELIVERED


class Reports:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], now: Callable[[], datetime]
    ) -> None:
        self.sessions = sessions
        self.now = now

    async def delivery(self, provider_id: str, status: str, failure_reason: str | None) -> bool:
        """Record a delivery report; False when no message carries this id. A report
        never moves a message back: a late "Buffered" after "Success" changes nothing."""
        values: dict[str, object] = {
            "delivery_status": status[:16],
            "reported_at": self.now(),
        }
        final = FINAL_REPORTS.get(status)
        if final is not None:
            values["status"] = final
        if failure_reason:
            values["reason"] = failure_reason[:120]
        async with self.sessions() as session, session.begin():
            moved = await session.execute(
                update(models.Message)
                .where(models.Message.provider_id == provider_id, models.Message.status == SENT)
                .values(**values)
            )
            if moved.rowcount:  # type: ignore[attr-defined]
                return True
            known = await session.scalar(
                select(models.Message.id).where(models.Message.provider_id == provider_id)
            )
        if known is None:
            log.warning("delivery report for unknown message id %s", provider_id[:64])
        return known is not None

    async def opt_out(self, phone: str, source: str = "aggregator") -> None:
        async with writing(self.sessions, f"sms-from:{phone}") as session:
            if await session.get(models.SmsOptOut, phone) is None:
                session.add(models.SmsOptOut(phone=phone, source=source, opted_out_at=self.now()))
