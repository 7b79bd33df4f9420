"""Field agents and the cash they hand over to their mutual."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base
from db.models.scheme import SchemeUnit


class Agent(Base):
    """A field agent of one mutual, recognised by phone on the short code and protected
    by a PIN (only its slow-KDF hash is kept)."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164
    name: Mapped[str] = mapped_column(String(120))
    mutual_id: Mapped[int] = mapped_column(ForeignKey("scheme_units.id"), index=True)
    pin_hash: Mapped[str | None] = mapped_column(String(200))  # None: set on the next dial
    # A new PIN's first entry, hashed, until it is typed again: kept here rather than in
    # the USSD session, where a 4-6 digit PIN's hash would be easy to brute-force.
    pin_pending_hash: Mapped[str | None] = mapped_column(String(200))
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    mutual: Mapped[SchemeUnit] = relationship()


class CashHandover(Base):
    """Cash an agent handed over to the mutual: what they hold is what they collected
    (payments with their id) less these."""

    __tablename__ = "cash_handovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    received_by: Mapped[str] = mapped_column(String(120))
    reference: Mapped[str | None] = mapped_column(String(64), unique=True)  # the mutual's slip
    handed_over_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(120))
