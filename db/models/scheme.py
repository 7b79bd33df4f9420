"""The scheme as configured: its hierarchy of units, the products its mutuals sell, and
the socio-professional groups it enrols by."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base

# Francs: what one Borgou mutual set as its smallest instalment (a third of a person's
# 1,575), used where a scheme file says nothing.
DEFAULT_MIN_PART_PAYMENT = 500


class SchemeUnit(Base):
    """A level of the scheme: network > health zone > mutual > village group.

    `path` holds the codes from the top (`NET/ZONE/MUT`) so that "this unit and all
    below it", the scope of a staff member or an agent, is one prefix query.
    """

    __tablename__ = "scheme_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    level: Mapped[str] = mapped_column(String(16))  # db.values.UnitLevel
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("scheme_units.id"))
    path: Mapped[str] = mapped_column(String(400), index=True)
    department: Mapped[str | None] = mapped_column(String(60))
    commune: Mapped[str | None] = mapped_column(String(60))
    arrondissement: Mapped[str | None] = mapped_column(String(60))
    # A mutual may collect through another provider than the installation's default.
    payment_provider: Mapped[str | None] = mapped_column(String(16))


class Product(Base):
    """The offer a mutual sells, with its rules (DESIGN.md §2)."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    # Offered by this unit and every mutual below it.
    unit_id: Mapped[int] = mapped_column(ForeignKey("scheme_units.id"))
    names: Mapped[dict[str, Any]] = mapped_column(JSON)
    target_group: Mapped[str] = mapped_column(String(40), default="families")
    premium_per_person: Mapped[int] = mapped_column(Integer)
    household_premium: Mapped[int | None] = mapped_column(Integer)
    max_members: Mapped[int | None] = mapped_column(Integer)
    window_start: Mapped[str | None] = mapped_column(String(5))  # "MM-DD", yearly campaign
    window_end: Mapped[str | None] = mapped_column(String(5))
    waiting_days: Mapped[int] = mapped_column(Integer, default=30)
    cover_months: Mapped[int] = mapped_column(Integer, default=12)
    grace_days: Mapped[int] = mapped_column(Integer, default=30)
    copay_percent: Mapped[int] = mapped_column(Integer, default=0)
    benefits: Mapped[list[Any]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The scheme's calendar (migration 0012). "rolling": 12 months from the day rights
    # open (the first rule); "scheme_year": everyone covered from `year_starts` ("MM-DD")
    # for `cover_months`, late joiners paying the full year or a pro-rata share.
    cover_kind: Mapped[str] = mapped_column(String(16), default="rolling", server_default="rolling")
    year_starts: Mapped[str | None] = mapped_column(String(5))
    late_joiners: Mapped[str] = mapped_column(String(16), default="full", server_default="full")
    # Renewal opens this many days before cover ends, and closes when grace ends.
    renewal_opens_days: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    # Rights may open once this share of the premium is paid (Rwanda opens at 75 %).
    cover_threshold_percent: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    # The least a part payment may be (migration 0015): a mobile-money prompt for 1 F costs
    # the mutual more than it brings. Paying the whole rest is accepted below it.
    min_part_payment: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_MIN_PART_PAYMENT, server_default=str(DEFAULT_MIN_PART_PAYMENT)
    )
    # Prices by age band, first match wins: [{"category": "child", "max_age": 17,
    # "premium": 1000, "names": {...}}]; anyone else pays `premium_per_person` ("adult").
    person_prices: Mapped[list[Any] | None] = mapped_column(JSON)
    # Free care and indigence on this product, and the sponsor who pays for them:
    # {"sponsor": "ETAT", "under_age": 5, "pregnancy": true, "indigent": true}.
    free_care: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    unit: Mapped[SchemeUnit] = relationship()


class Occupation(Base):
    """The scheme's socio-professional groups, by which it enrols and reports."""

    __tablename__ = "occupations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    names: Mapped[dict[str, Any]] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)
