"""The tables: scheme hierarchy, products, households, members, coverage periods.

One name per concept across code, database and API (DESIGN.md §2). Amounts are whole
XOF in integers; dates are calendar days in the scheme's time zone.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so that Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class SchemeUnit(Base):
    """A level of the scheme: network > health zone > mutual > village group.

    `path` holds the codes from the top (`NET/ZONE/MUT`) so that "this unit and all
    below it", the scope of a staff member or an agent, is one prefix query.
    """

    __tablename__ = "scheme_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    level: Mapped[str] = mapped_column(String(16))  # network, zone, mutual, village_group
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

    unit: Mapped[SchemeUnit] = relationship()


class Occupation(Base):
    """The scheme's socio-professional groups, by which it enrols and reports."""

    __tablename__ = "occupations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    names: Mapped[dict[str, Any]] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Household(Base):
    __tablename__ = "households"
    # The dashboard's period filter and time series (migration 0006).
    __table_args__ = (Index("ix_households_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mutual_id: Mapped[int] = mapped_column(ForeignKey("scheme_units.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    phone: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    language: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16))  # ussd, agent, import
    commune: Mapped[str | None] = mapped_column(String(60))
    arrondissement: Mapped[str | None] = mapped_column(String(60))
    village: Mapped[str | None] = mapped_column(String(60))
    # A category some sponsors pay for (e.g. "indigent", from the social registry).
    category: Mapped[str | None] = mapped_column(String(32))
    # The field agent who registered it (channel "agent"), for their figures and the audit.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    # Who asked for this enrolment (a USSD session, an import row): the same request
    # arriving twice finds its household instead of creating a second one.
    request_key: Mapped[str] = mapped_column(String(120), unique=True)
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
    relationship_to_head: Mapped[str] = mapped_column(String(16))
    occupation: Mapped[str | None] = mapped_column(String(32))
    national_id: Mapped[str | None] = mapped_column(String(20), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    # The agent who registered this person (with the household or added later).
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    household: Mapped[Household] = relationship(back_populates="members")


class CoveragePeriod(Base):
    """One cover year of a household. `status` is stored for fast queries and kept
    in step with `gateway.coverage.status_on`, which decides it from dates and money."""

    __tablename__ = "coverage_periods"
    __table_args__ = (
        UniqueConstraint("household_id", "starts_on", name="uq_coverage_periods_household_start"),
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
    status: Mapped[str] = mapped_column(String(20), index=True)
    # Copies of what `gateway.coverage` derives once the premium is paid, so the daily
    # sweep (reminders, activation, lapse) finds its periods by index instead of reading
    # every household.
    covered_from: Mapped[date | None] = mapped_column(Date, index=True)
    covered_until: Mapped[date | None] = mapped_column(Date, index=True)
    grace_until: Mapped[date | None] = mapped_column(Date, index=True)

    household: Mapped[Household] = relationship(back_populates="periods")


class Payment(Base):
    """One premium payment, named by our own reference before any provider is called.

    Rows are never deleted and their amount never changes: the household's balance is the
    sum of its succeeded payments. Only `status` (and what goes with it) moves, forward.
    """

    __tablename__ = "payments"
    # Money collected in a period, for the dashboard (migration 0006).
    __table_args__ = (Index("ix_payments_status_settled_at", "status", "settled_at"),)

    reference: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID v4
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("coverage_periods.id"), index=True)
    provider: Mapped[str] = mapped_column(String(16))  # momo, fedapay, sandbox, cash
    operator: Mapped[str | None] = mapped_column(String(16))
    payer_phone: Mapped[str | None] = mapped_column(String(20))
    payer_name: Mapped[str | None] = mapped_column(String(80))  # cash receipts
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(String(40))
    provider_transaction_id: Mapped[str | None] = mapped_column(String(64))
    receipt_no: Mapped[str | None] = mapped_column(String(20), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # ussd, agent, staff
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
    # The provider may hold only part of our request (the answer was lost): once it says
    # the payment is still pending, the prompt is sent again on what it holds.
    unclear: Mapped[bool] = mapped_column(Boolean, default=False)


class PaymentNotice(Base):
    """Every callback, webhook and status answer as received, whether believed or not."""

    __tablename__ = "payment_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(36), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # callback, webhook, status
    body: Mapped[str] = mapped_column(String)
    outcome: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Message(Base):
    """An SMS in the outbox, written in the same transaction as the event behind it (an
    enrolment, a payment, a change of cover), so that no event is ever without its
    message. The worker sends it; delivery reports tell how it ended.

    queued -> sent -> delivered | undelivered; or refused (the aggregator said no for
    good), cancelled (the number opted out before a reminder left), expired (it could
    not leave in time)."""

    __tablename__ = "messages"
    # The claim reads due messages in order: (status, not_before, id) serves it without a sort.
    __table_args__ = (
        Index("ix_messages_due", "status", "not_before", "id"),
        Index("ix_messages_created_at", "created_at"),  # the dashboard's period (0006)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(8))
    purpose: Mapped[str] = mapped_column(String(24))  # confirmation, receipt, reminder, ...
    template: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(Text)  # as it leaves, measured before it is queued
    encoding: Mapped[str] = mapped_column(String(8))  # gsm7, ucs2
    segments: Mapped[int] = mapped_column(Integer)  # what the aggregator bills
    # Reminders and campaigns wait out quiet hours; receipts and replies do not.
    quiet: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    # At most one message per event: "receipt:<payment>", "reminder:<kind>:<period>".
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    payment_reference: Mapped[str | None] = mapped_column(String(36), unique=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("sms_campaigns.id"), index=True)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str | None] = mapped_column(String(120))  # a refusal, failure or last error
    delivery_status: Mapped[str | None] = mapped_column(String(16))  # the report's own word
    cost: Mapped[str | None] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SmsEarlyReport(Base):
    """A delivery report that arrived before its message was recorded as sent (the
    aggregator can be faster than the worker's bookkeeping): applied when it is."""

    __tablename__ = "sms_early_reports"

    provider_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(120))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SmsOptOut(Base):
    """A number that asked for no more reminders or campaigns (STOP, or the aggregator's
    opt-out notice). Receipts and replies still go: they answer the person's own act."""

    __tablename__ = "sms_opt_outs"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # keyword, aggregator
    opted_out_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InboundSms(Base):
    """Every SMS received, once per aggregator id: it retries for hours until answered."""

    __tablename__ = "inbound_sms"
    __table_args__ = (Index("ix_inbound_sms_phone_received", "phone", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str] = mapped_column(String(20))
    to: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    keyword: Mapped[str] = mapped_column(String(16))  # what it was read as; "flood" if ignored
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SmsCampaign(Base):
    """A message sent by staff to every household of a part of the scheme."""

    __tablename__ = "sms_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(40))
    mutual_id: Mapped[int | None] = mapped_column(ForeignKey("scheme_units.id"))
    commune: Mapped[str | None] = mapped_column(String(60))
    recipients: Mapped[int] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


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


class RegisterEvent(Base):
    """Something the central register must learn (a household enrolled, a payment, cover
    activated or lapsed), written in the same transaction as the change itself. The
    worker builds the event from the household's state when it pushes it, so a retry or
    a late push always carries the latest truth.

    pending -> pushed | dead (failed for good, kept with its last error) | skipped (this
    register takes no such event)."""

    __tablename__ = "register_events"
    __table_args__ = (
        Index("ix_register_events_due", "status", "next_attempt_at"),
        Index("ix_register_events_household", "household_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # the order events happened in
    event_id: Mapped[str] = mapped_column(String(36), unique=True)  # stable across retries
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    kind: Mapped[str] = mapped_column(String(24))
    period_id: Mapped[int | None] = mapped_column(ForeignKey("coverage_periods.id"))
    payment_reference: Mapped[str | None] = mapped_column(String(36))
    member_no: Mapped[str | None] = mapped_column(String(12))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(12))
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
    channel: Mapped[str] = mapped_column(String(8))  # api, fhir, ussd, sms
    outcome: Mapped[str] = mapped_column(String(20))  # covered, not_covered, unknown, ...
    source: Mapped[str] = mapped_column(String(16))  # local, register
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


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


class AuditEntry(Base):
    """Who did what, when, to which household: agents' actions, staff logins and exports,
    imports and account changes. Append-only; never holds a PIN or a password."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_actor_at", "actor", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(120))  # agent:12, staff:7, cli:root, import
    action: Mapped[str] = mapped_column(String(40))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    member_no: Mapped[str | None] = mapped_column(String(12))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class StaffAccount(Base):
    """Central staff or a mutual's manager, on the web dashboard. `scope_unit_id` is the
    part of the scheme they see (None: all of it, central admins only)."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)  # lower case
    role: Mapped[str] = mapped_column(String(20))  # central_admin, mutual_manager, viewer
    scope_unit_id: Mapped[int | None] = mapped_column(ForeignKey("scheme_units.id"))
    password_hash: Mapped[str] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Sessions opened before this (a password reset) are over, in every browser.
    sessions_valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A one-time code, given by a central admin, with which the person sets their own
    # password: only its SHA-256 is kept, until it is used or expires (migration 0007).
    password_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_code_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    scope_unit: Mapped[SchemeUnit | None] = relationship()


class UssdSessionEnd(Base):
    """Africa's Talking's end-of-session notification, with the screen (menu node) the
    session ended on: the material of the USSD funnel. The raw `input` is not kept: it
    carries what people typed, agents' PINs included."""

    __tablename__ = "ussd_session_ends"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(100), unique=True)
    service_code: Mapped[str] = mapped_column(String(40))
    network_code: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16))  # Success, Incomplete, Failed
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    hops: Mapped[int | None] = mapped_column(Integer)
    journey: Mapped[str | None] = mapped_column(String(40))  # enrol, pay, agent, ...
    last_node: Mapped[str | None] = mapped_column(String(80))  # e.g. enrol.dep_birth
    error_message: Mapped[str | None] = mapped_column(String(200))
    cost: Mapped[str | None] = mapped_column(String(24))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
