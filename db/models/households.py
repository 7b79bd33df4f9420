"""Households, their members and their coverage periods (one per cover year)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base
from db.models.scheme import Product, SchemeUnit


class Household(Base):
    __tablename__ = "households"
    __table_args__ = (
        # The dashboard's period filter and time series (migration 0006).
        Index("ix_households_created_at", "created_at"),
        # Households in id order with their mutual, read from the index alone by the
        # dashboard's statuses of the latest cover years (migration 0018, PostgreSQL).
        Index("ix_households_id_mutual", "id", postgresql_include=["mutual_id"]).ddl_if(
            dialect="postgresql"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mutual_id: Mapped[int] = mapped_column(ForeignKey("scheme_units.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    phone: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    language: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16))  # menus.values.Channel
    commune: Mapped[str | None] = mapped_column(String(60))
    arrondissement: Mapped[str | None] = mapped_column(String(60))
    village: Mapped[str | None] = mapped_column(String(60))
    # A category some sponsors pay for (e.g. "indigent", from the social registry).
    category: Mapped[str | None] = mapped_column(String(32))
    # The field agent who registered it (Channel.AGENT), for their figures and the audit.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    # Who asked for this enrolment (a USSD session, an import row): the same request
    # arriving twice finds its household instead of creating a second one.
    request_key: Mapped[str] = mapped_column(String(120), unique=True)
    # The group that pays its premium (migration 0013), if any.
    group_id: Mapped[int | None] = mapped_column(ForeignKey("payer_groups.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    members: Mapped[list[Member]] = relationship(back_populates="household", order_by="Member.id")
    periods: Mapped[list[CoveragePeriod]] = relationship(
        back_populates="household", order_by="CoveragePeriod.starts_on"
    )
    mutual: Mapped[SchemeUnit] = relationship()
    product: Mapped[Product] = relationship()


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        Index("ix_members_head_identity", "last_name", "first_names", "birth_year"),
        # The dashboard counts members per household's mutual and occupation from this
        # index alone, and finds a period's members by date (migration 0006).
        Index(
            "ix_members_household_created_occupation", "household_id", "created_at", "occupation"
        ),
        Index("ix_members_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Set right after insert from the row id, with its check digit; unique once set.
    member_no: Mapped[str | None] = mapped_column(String(12), unique=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    last_name: Mapped[str] = mapped_column(String(60))
    first_names: Mapped[str] = mapped_column(String(80))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    birth_year: Mapped[int] = mapped_column(Integer)
    birth_year_only: Mapped[bool] = mapped_column(Boolean, default=False)
    relationship_to_head: Mapped[str] = mapped_column(String(16))  # register's Relationship
    occupation: Mapped[str | None] = mapped_column(String(32))
    national_id: Mapped[str | None] = mapped_column(String(20), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    # The agent who registered this person (with the household or added later).
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Dropped from the household at a renewal (db.values.LeftReason): kept for history
    # and the register, no longer covered from the next cover year on.
    left_on: Mapped[date | None] = mapped_column(Date)
    left_reason: Mapped[str | None] = mapped_column(String(16))

    household: Mapped[Household] = relationship(back_populates="members")


class MemberExemption(Base):
    """A ground on which a person's premium is paid by the scheme's free-care sponsor
    (db.values.ExemptionGround): indigence (the social registry, staff, an import) or a
    pregnancy, each with its dates. Children under the product's age limit need no row:
    their birth date says it."""

    __tablename__ = "member_exemptions"
    __table_args__ = (Index("ix_member_exemptions_member_ground", "member_id", "ground"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    ground: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # db.values.ExemptionSource
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str | None] = mapped_column(String(80))  # an actor, as in the audit
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CoveragePeriod(Base):
    """One cover year of a household. `status` is stored for fast queries and kept in
    step with `gateway.enrolment.coverage.status_on`, which decides it from dates and
    money."""

    __tablename__ = "coverage_periods"
    __table_args__ = (
        UniqueConstraint("household_id", "starts_on", name="uq_coverage_periods_household_start"),
        # A year is renewed once, whoever renews it (migration 0013).
        Index(
            "uq_coverage_periods_one_renewal",
            "renewal_of_id",
            unique=True,
            sqlite_where=text("renewal_of_id IS NOT NULL AND cancelled_on IS NULL"),
            postgresql_where=text("renewal_of_id IS NOT NULL AND cancelled_on IS NULL"),
        ),
        # Each household's years latest first, with what the dashboard counts of the
        # latest one: read from the index alone (migration 0018, PostgreSQL).
        Index(
            "ix_coverage_periods_latest",
            "household_id",
            text("starts_on DESC"),
            postgresql_include=["status", "persons"],
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    starts_on: Mapped[date] = mapped_column(Date)  # the day the period was opened
    persons: Mapped[int] = mapped_column(Integer)
    premium_due: Mapped[int] = mapped_column(Integer)  # the household's own share
    amount_paid: Mapped[int] = mapped_column(Integer, default=0)
    # Set once the share that opens rights is paid (and the sponsor's, when it must be).
    paid_in_full_on: Mapped[date | None] = mapped_column(Date)
    sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("sponsors.id"), index=True)
    sponsor_share: Mapped[int] = mapped_column(Integer, default=0)
    sponsor_paid: Mapped[int] = mapped_column(Integer, default=0)
    # Copied from the sponsor at enrolment: must its share arrive before cover starts?
    waits_for_sponsor: Mapped[bool] = mapped_column(Boolean, default=False)
    waiting_days: Mapped[int] = mapped_column(Integer)
    cover_months: Mapped[int] = mapped_column(Integer)
    grace_days: Mapped[int] = mapped_column(Integer)
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), index=True)  # register's CoverageStatus
    # Copies of what `gateway.enrolment.coverage` derives once the premium is paid, so
    # the daily sweep (reminders, activation, lapse) finds its periods by index instead
    # of reading every household.
    covered_from: Mapped[date | None] = mapped_column(Date, index=True)
    covered_until: Mapped[date | None] = mapped_column(Date, index=True)
    grace_until: Mapped[date | None] = mapped_column(Date, index=True)
    # The cover year this one renews (None for a first enrolment, migration 0012).
    renewal_of_id: Mapped[int | None] = mapped_column(ForeignKey("coverage_periods.id"), index=True)
    # The request that opened it (a USSD session, an import row, a bulk run): asked
    # twice, it finds this period instead of opening a second one.
    request_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    channel: Mapped[str | None] = mapped_column(String(16))  # menus.values.Channel
    # A scheme year's fixed dates; None for rolling cover, derived from the payment.
    cover_starts_on: Mapped[date | None] = mapped_column(Date)
    cover_ends_on: Mapped[date | None] = mapped_column(Date, index=True)  # renewals due (0014)
    # Copied from the product: the share of the premium that opens rights.
    threshold_percent: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    # An overpayment of the year before, counted as paid on this one.
    carried_in: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    household: Mapped[Household] = relationship(back_populates="periods")


class CoverLine(Base):
    """One person's part of a cover year: their price, on what ground they are covered
    and who pays their share (`gateway.enrolment.pricing`)."""

    __tablename__ = "cover_lines"
    __table_args__ = (
        UniqueConstraint("period_id", "member_id", name="uq_cover_lines_period_member"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("coverage_periods.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    category: Mapped[str] = mapped_column(String(16))  # "adult" or a price band's category
    ground: Mapped[str] = mapped_column(String(16))  # db.values.CoverGround
    price: Mapped[int] = mapped_column(Integer)
    sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("sponsors.id"))
    sponsor_amount: Mapped[int] = mapped_column(Integer, default=0)


class PeriodShare(Base):
    """What one sponsor owes on one cover year and what it has paid; the period's
    `sponsor_share`/`sponsor_paid` are their sums (several sponsors may share a year:
    a commune's subsidy for all, the State for an indigent member)."""

    __tablename__ = "period_shares"
    __table_args__ = (
        UniqueConstraint("period_id", "sponsor_id", name="uq_period_shares_period_sponsor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("coverage_periods.id"), index=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    paid: Mapped[int] = mapped_column(Integer, default=0)
