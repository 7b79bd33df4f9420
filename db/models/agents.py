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
    # How many locks since the last right PIN: each lasts longer, the last one until staff
    # unlock (gateway.agents.pins.LOCKS). Passing time does not lower it.
    lock_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The one-time code staff gave the agent to choose a first PIN (after `agents add` or
    # `reset-pin`): its slow-KDF hash and when it stops working; both cleared once used.
    activation_hash: Mapped[str | None] = mapped_column(String(200))
    activation_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
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


class CacheVersion(Base):
    """A counter per cache that processes keep in memory, raised in the same transaction
    as the change the cache depends on: a process that reads a higher number than the
    one it cached at reads the cache again (gateway.known_phones)."""

    __tablename__ = "cache_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
