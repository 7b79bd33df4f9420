"""What the aggregator tells us after the fact: delivery reports and opt-outs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import writing
from db.values import MessageStatus, OptOutSource

log = logging.getLogger(__name__)

# Africa's Talking delivery statuses that end a message's story; the others
# (Sent, Submitted, Buffered) are news on the way.
FINAL_REPORTS = {
    "Success": MessageStatus.DELIVERED,
    "Failed": MessageStatus.UNDELIVERED,
    "Rejected": MessageStatus.UNDELIVERED,
    "Expired": MessageStatus.UNDELIVERED,
}
KEEP_EARLY = timedelta(days=2)  # a report for an id we never recorded is dropped after this


async def apply_report(
    session: AsyncSession, provider_id: str, status: str, reason: str | None, now: datetime
) -> bool:
    """Update the sent message carrying `provider_id`; False when there is none. A report
    never moves a message back: a late "Buffered" after "Success" changes nothing."""
    final = FINAL_REPORTS.get(status)
    values: dict[str, object] = {"delivery_status": status[:16], "reported_at": now}
    if final is not None:
        values["status"] = final
        # A success says nothing went wrong; a failure says why.
        values["reason"] = reason[:120] if reason and final == MessageStatus.UNDELIVERED else None
    elif reason:
        values["reason"] = reason[:120]
    moved = await session.execute(
        update(models.Message)
        .where(
            models.Message.provider_id == provider_id, models.Message.status == MessageStatus.SENT
        )
        .values(**values)
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


async def apply_early_reports(
    session: AsyncSession, provider_ids: Sequence[str], now: datetime
) -> None:
    """Reports that beat the dispatcher's bookkeeping, applied once their ids are stored."""
    if not provider_ids:
        return
    early = (
        await session.scalars(
            select(models.SmsEarlyReport).where(models.SmsEarlyReport.provider_id.in_(provider_ids))
        )
    ).all()
    for report in early:
        # Kept until its message is recorded: then applied, and only then forgotten.
        if await apply_report(session, report.provider_id, report.status, report.reason, now):
            await session.delete(report)


class Reports:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], now: Callable[[], datetime]
    ) -> None:
        self.sessions = sessions
        self.now = now

    async def delivery(self, provider_id: str, status: str, failure_reason: str | None) -> bool:
        """Record a delivery report; False when no message carries this id yet (it is
        kept for KEEP_EARLY, in case its message is being recorded right now)."""
        now = self.now()
        async with writing(self.sessions) as session:
            if await apply_report(session, provider_id, status, failure_reason, now):
                return True
            known = await session.scalar(
                select(models.Message.id).where(models.Message.provider_id == provider_id)
            )
            if known is not None:
                return True  # a late report for a message already final
            await self._keep_early(session, provider_id, status, failure_reason, now)
        # The dispatcher may have recorded the id while we kept the report: look once more,
        # now that the report is committed (whichever commits last applies it).
        async with writing(self.sessions) as session:
            await apply_early_reports(session, [provider_id[:64]], now)
        log.warning("delivery report for a message id not recorded (yet): %s", provider_id[:64])
        return False

    @staticmethod
    async def _keep_early(
        session: AsyncSession, provider_id: str, status: str, reason: str | None, now: datetime
    ) -> None:
        await session.execute(
            delete(models.SmsEarlyReport).where(
                models.SmsEarlyReport.received_at < now - KEEP_EARLY
            )
        )
        kept = await session.get(models.SmsEarlyReport, provider_id[:64])
        if kept is None:
            session.add(
                models.SmsEarlyReport(
                    provider_id=provider_id[:64],
                    status=status[:16],
                    reason=reason[:120] if reason else None,
                    received_at=now,
                )
            )
        elif status in FINAL_REPORTS or kept.status not in FINAL_REPORTS:
            kept.status, kept.reason, kept.received_at = status[:16], reason, now

    async def opt_out(self, phone: str, source: str = OptOutSource.AGGREGATOR) -> None:
        async with writing(self.sessions, f"sms-from:{phone}") as session:
            if await session.get(models.SmsOptOut, phone) is None:
                session.add(models.SmsOptOut(phone=phone, source=source, opted_out_at=self.now()))
