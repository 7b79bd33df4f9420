"""What the outbox holds and what a household will be sent: for operators, in the CLI
(and the staff dashboard later)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import as_aware
from db.values import MessageStatus
from gateway.sms.reminders import Reminders

# Messages that ended without reaching the handset: operators are told why.
NOT_SENT = (
    MessageStatus.REFUSED,
    MessageStatus.UNDELIVERED,
    MessageStatus.EXPIRED,
    MessageStatus.CANCELLED,
)


async def outbox_figures(
    sessions: async_sessionmaker[AsyncSession], now: datetime
) -> dict[str, Any]:
    """Messages by purpose and status, segments for cost, why messages did not go."""
    message = models.Message
    async with sessions() as session:
        counts = (
            await session.execute(
                select(message.purpose, message.status, func.count(), func.sum(message.segments))
                .group_by(message.purpose, message.status)
                .order_by(message.purpose, message.status)
            )
        ).all()
        reasons = (
            await session.execute(
                select(message.status, message.reason, func.count())
                .where(message.status.in_(NOT_SENT))
                .group_by(message.status, message.reason)
                .order_by(func.count().desc())
                .limit(20)
            )
        ).all()
        oldest = await session.scalar(
            select(func.min(message.created_at)).where(message.status == MessageStatus.QUEUED)
        )
        retrying = await session.scalar(
            select(func.count()).where(message.status == MessageStatus.QUEUED, message.attempts > 0)
        )
        opted_out = await session.scalar(select(func.count()).select_from(models.SmsOptOut))
    return {
        "by_purpose": [
            {"purpose": p, "status": s, "messages": n, "segments": int(seg or 0)}
            for p, s, n, seg in counts
        ],
        "not_sent": [{"status": s, "reason": r, "messages": n} for s, r, n in reasons],
        "oldest_queued_minutes": (
            int((now - as_aware(oldest, now)).total_seconds() // 60) if oldest else None
        ),
        "retrying": int(retrying or 0),
        "opted_out_numbers": int(opted_out or 0),
    }


async def household_schedule(
    sessions: async_sessionmaker[AsyncSession], reminders: Reminders, member_no: str, today: date
) -> list[dict[str, Any]] | None:
    """Every reminder of the household's periods: when, and what became of it."""
    async with sessions() as session:
        member = await session.scalar(
            select(models.Member).where(models.Member.member_no == member_no)
        )
        if member is None:
            return None
        periods = (
            await session.scalars(
                select(models.CoveragePeriod)
                .where(models.CoveragePeriod.household_id == member.household_id)
                .order_by(models.CoveragePeriod.starts_on)
            )
        ).all()
        rows: list[dict[str, Any]] = []
        for period in periods:
            product = await session.get(models.Product, period.product_id)
            assert product is not None
            planned = reminders.planned(period, product)
            sent = {
                m.dedupe_key: m
                for m in await session.scalars(
                    select(models.Message).where(
                        models.Message.dedupe_key.in_([p.dedupe_key for p in planned])
                    )
                )
            }
            for plan in planned:
                message = sent.get(plan.dedupe_key)
                if message is not None:
                    state = message.status
                elif plan.day > today:
                    state = "planned"
                else:
                    state = "not sent"  # not due any more, or to a number that said STOP
                rows.append({"day": plan.day.isoformat(), "kind": plan.kind, "state": state})
        return rows
