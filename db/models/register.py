"""What the central register must learn, and its own ids for what it already knows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class RegisterEvent(Base):
    """Something the central register must learn (a household enrolled, a payment, cover
    activated or lapsed), written in the same transaction as the change itself. The
    worker builds the event from the household's state when it pushes it, so a retry or
    a late push always carries the latest truth.

    Events are claimed by `priority`, then in the order they happened; a household's
    own events always in the order they happened, whatever their priority.

    pending -> pushed | dead (failed for good, kept with its last error) | skipped (this
    register takes no such event)."""

    __tablename__ = "register_events"
    __table_args__ = (
        Index("ix_register_events_due", "status", "next_attempt_at"),
        Index("ix_register_events_household", "household_id", "id"),
        # The sync's claim walks the pending events in this order (migration 0016).
        Index(
            "ix_register_events_next",
            "priority",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # the order events happened in
    event_id: Mapped[str] = mapped_column(String(36), unique=True)  # stable across retries
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    kind: Mapped[str] = mapped_column(String(24))  # adapters.register.EventKind
    period_id: Mapped[int | None] = mapped_column(ForeignKey("coverage_periods.id"))
    payment_reference: Mapped[str | None] = mapped_column(String(36))
    member_no: Mapped[str | None] = mapped_column(String(12))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(12))  # db.values.RegisterEventStatus
    # Claimed lowest first (db.values.EventPriority): a backfill never delays an enrolment.
    priority: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(300))
    pushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RegisterLink(Base):
    """The register's own ids for a household's records (its Group, Patients, Contracts),
    kept from every push so that a retry updates instead of creating twice."""

    __tablename__ = "register_links"

    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), primary_key=True)
    register_ids: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
