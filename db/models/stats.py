"""The dashboard's daily roll-ups (migration 0017): households and persons enrolled, and
succeeded payments, per
day of the scheme's calendar and per the dimensions the statistics filters name, kept by
the worker (`gateway.stats.rollup`) up to a watermark day, so that a figure adds up a
few thousand rows instead of counting a million members. A missing commune or
occupation is stored as "" (a key column cannot be NULL in a primary key)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class HouseholdDay(Base):
    __tablename__ = "stats_household_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    mutual_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune: Mapped[str] = mapped_column(String(60), primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    households: Mapped[int] = mapped_column(Integer)


class PersonDay(Base):
    __tablename__ = "stats_person_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    mutual_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune: Mapped[str] = mapped_column(String(60), primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    occupation: Mapped[str] = mapped_column(String(32), primary_key=True)
    persons: Mapped[int] = mapped_column(Integer)


class PaymentDay(Base):
    """Succeeded payments by the day they settled, the household's dimensions and the
    payment's own provider and channel (`paid_through`)."""

    __tablename__ = "stats_payment_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    mutual_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune: Mapped[str] = mapped_column(String(60), primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    paid_through: Mapped[str] = mapped_column(String(16), primary_key=True)
    payments: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)


class RollupMark(Base):
    """How far a roll-up is folded: every day up to `rolled_until` is in its table; the
    figures count the days after it live. The worker takes this row's lock to fold."""

    __tablename__ = "stats_rollup_marks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    rolled_until: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
