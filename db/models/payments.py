"""The premium ledger: payments, and every notice a provider sent about them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class Payment(Base):
    """One premium payment, named by our own reference before any provider is called.

    Rows are never deleted and their amount never changes: the household's balance is the
    sum of its succeeded payments. Only `status` (and what goes with it) moves, forward.
    """

    __tablename__ = "payments"
    __table_args__ = (
        # Money collected in a period, for the dashboard (migration 0006).
        Index("ix_payments_status_settled_at", "status", "settled_at"),
        # One debt, one payment: at most one mobile-money payment in flight per cover
        # period, whichever process opens it (migration 0010). Cash is settled at once.
        Index(
            "uq_payments_one_pending_per_period",
            "period_id",
            unique=True,
            sqlite_where=text("status = 'pending' AND provider <> 'cash'"),
            postgresql_where=text("status = 'pending' AND provider <> 'cash'"),
        ),
    )

    reference: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID v4
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("coverage_periods.id"), index=True)
    provider: Mapped[str] = mapped_column(String(16))  # momo, fedapay, sandbox, cash
    operator: Mapped[str | None] = mapped_column(String(16))
    payer_phone: Mapped[str | None] = mapped_column(String(20))
    payer_name: Mapped[str | None] = mapped_column(String(80))  # cash receipts
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), index=True)  # db.values.PaymentStatus
    reason: Mapped[str | None] = mapped_column(String(40))
    provider_transaction_id: Mapped[str | None] = mapped_column(String(64))
    receipt_no: Mapped[str | None] = mapped_column(String(20), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # menus.values.Channel
    # The agent who took this cash: it is in their hands until handed over to the mutual.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    # The request that opened it (a USSD session): a repeated confirmation finds this
    # payment instead of prompting the payer twice.
    request_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the worker should next act on it (submit, or ask the provider its status).
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # Taken by a worker until then: callbacks and other workers leave it alone meanwhile.
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checks: Mapped[int] = mapped_column(Integer, default=0)
    # What the provider confirmed beyond what the period still needed (a late success
    # after a cancel, cash taken meanwhile): never credited, owed back to the payer.
    refund_due: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refund_note: Mapped[str | None] = mapped_column(String(120))  # the transfer's reference
    # The provider may hold only part of our request (the answer was lost): once it says
    # the payment is still pending, the prompt is sent again on what it holds.
    unclear: Mapped[bool] = mapped_column(Boolean, default=False)


class PaymentNotice(Base):
    """Every callback, webhook and status answer as received, whether believed or not."""

    __tablename__ = "payment_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(36), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # db.values.NoticeSource
    body: Mapped[str] = mapped_column(String)
    outcome: Mapped[str] = mapped_column(String(40))  # db.values.NoticeOutcome, or why refused
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
