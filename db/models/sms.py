"""SMS going out (the outbox, its delivery reports, campaigns) and coming in, and the
numbers that asked for no more."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class Message(Base):
    """An SMS in the outbox, written in the same transaction as the event behind it (an
    enrolment, a payment, a change of cover), so that no event is ever without its
    message. The worker sends it; delivery reports tell how it ended.

    queued -> sent -> delivered | undelivered; or refused (the aggregator said no for
    good), cancelled (the number opted out before a reminder left), expired (it could
    not leave in time)."""

    __tablename__ = "messages"
    # The claim reads due messages in order: (status, not_before, id) serves it without a sort.
    __table_args__ = (
        Index("ix_messages_due", "status", "not_before", "id"),
        Index("ix_messages_created_at", "created_at"),  # the dashboard's period (0006)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(8))
    purpose: Mapped[str] = mapped_column(String(24))  # db.values.MessagePurpose
    template: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(Text)  # as it leaves, measured before it is queued
    encoding: Mapped[str] = mapped_column(String(8))  # gsm7, ucs2
    segments: Mapped[int] = mapped_column(Integer)  # what the aggregator bills
    # Reminders and campaigns wait out quiet hours; receipts and replies do not.
    quiet: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))  # db.values.MessageStatus
    # At most one message per event: "receipt:<payment>", "reminder:<kind>:<period>".
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    payment_reference: Mapped[str | None] = mapped_column(String(36), unique=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("sms_campaigns.id"), index=True)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str | None] = mapped_column(String(120))  # a refusal, failure or last error
    delivery_status: Mapped[str | None] = mapped_column(String(16))  # the report's own word
    cost: Mapped[str | None] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SmsEarlyReport(Base):
    """A delivery report that arrived before its message was recorded as sent (the
    aggregator can be faster than the worker's bookkeeping): applied when it is."""

    __tablename__ = "sms_early_reports"

    provider_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(120))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SmsOptOut(Base):
    """A number that asked for no more reminders or campaigns (STOP, or the aggregator's
    opt-out notice). Receipts and replies still go: they answer the person's own act."""

    __tablename__ = "sms_opt_outs"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # db.values.OptOutSource
    opted_out_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InboundSms(Base):
    """Every SMS received, once per aggregator id: it retries for hours until answered."""

    __tablename__ = "inbound_sms"
    __table_args__ = (Index("ix_inbound_sms_phone_received", "phone", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str] = mapped_column(String(20))
    to: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    keyword: Mapped[str] = mapped_column(String(16))  # what it was read as; "flood" if ignored
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SmsCampaign(Base):
    """A message sent by staff to every household of a part of the scheme."""

    __tablename__ = "sms_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(40))
    mutual_id: Mapped[int | None] = mapped_column(ForeignKey("scheme_units.id"))
    commune: Mapped[str | None] = mapped_column(String(60))
    recipients: Mapped[int] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
