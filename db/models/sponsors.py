"""Sponsors, their shares of premiums (subsidies) and the transfers that settle them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base


class Sponsor(Base):
    """Who pays part or all of some households' premiums: the State, a commune, an NGO."""

    __tablename__ = "sponsors"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # True: cover starts only once the sponsor's share has arrived too.
    waits_for_payment: Mapped[bool] = mapped_column(Boolean, default=False)


class Subsidy(Base):
    """A sponsor's share of a product's premium, for every household on it or only for a
    category of households."""

    __tablename__ = "subsidies"

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(32))
    percent: Mapped[int | None] = mapped_column(Integer)
    amount_per_person: Mapped[int | None] = mapped_column(Integer)

    sponsor: Mapped[Sponsor] = relationship()


class SponsorSettlement(Base):
    """A bulk payment from a sponsor, spread over the periods it owes, oldest first."""

    __tablename__ = "sponsor_settlements"

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)  # the transfer's reference
    amount: Mapped[int] = mapped_column(Integer)
    allocated: Mapped[int] = mapped_column(Integer)
    received_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
