"""Health facilities, their desk phones, and every eligibility check they made."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class Facility(Base):
    """A health facility that checks its patients' cover, by API (with its key) or from
    the phones at its reception desk."""

    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # The key is shown once; only a prefix (to find it) and its hash are kept.
    key_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FacilityPhone(Base):
    """Which facility a desk phone belongs to: found by index on every USSD dial."""

    __tablename__ = "facility_phones"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)


class EligibilityCheck(Base):
    """Every check a facility made, with what it was told and where the answer came from."""

    __tablename__ = "eligibility_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    member_no: Mapped[str] = mapped_column(String(20))
    on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(8))  # db.values.CheckChannel
    outcome: Mapped[str] = mapped_column(String(20))  # menus.values.CheckOutcome
    source: Mapped[str] = mapped_column(String(16))  # menus.values.CheckSource
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
