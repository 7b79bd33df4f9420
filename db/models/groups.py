"""Group payers: a school, an association, a cooperative or a socio-professional
category that pays its member households' premiums under a yearly contract.

A group pays like a sponsor: it has a `sponsors` row of its own (`sponsor_id`) and its
share of each member household's year is a `period_shares` row, paid by the transfers
staff record (`sponsor_settlements`, once per reference). Its households carry
`households.group_id`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base
from db.models.scheme import Product, SchemeUnit
from db.models.sponsors import Sponsor


class PayerGroup(Base):
    __tablename__ = "payer_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))  # db.values.GroupKind
    mutual_id: Mapped[int] = mapped_column(ForeignKey("scheme_units.id"), index=True)
    # The group as a payer of premiums (a sponsor that pays all of its households').
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"), unique=True)
    # Who is asked to pay by mobile money (E.164).
    treasurer_phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    mutual: Mapped[SchemeUnit] = relationship()
    sponsor: Mapped[Sponsor] = relationship()


class GroupContract(Base):
    """One year of a group's contract: the product its households are covered by, the
    cover years it pays for (those starting between `starts_on` and `ends_on`) and the
    invoice number of that year's single invoice."""

    __tablename__ = "group_contracts"
    __table_args__ = (UniqueConstraint("group_id", "year", name="uq_group_contracts_group_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("payer_groups.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    invoice_no: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(80))  # an actor, as in the audit

    group: Mapped[PayerGroup] = relationship()
    product: Mapped[Product] = relationship()
