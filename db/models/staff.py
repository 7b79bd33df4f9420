"""Dashboard accounts and the audit log of who did what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base
from db.models.scheme import SchemeUnit


class StaffAccount(Base):
    """Central staff or a mutual's manager, on the web dashboard. `scope_unit_id` is the
    part of the scheme they see (None: all of it, central admins only)."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)  # lower case
    role: Mapped[str] = mapped_column(String(20))  # db.values.StaffRole
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


class AuditEntry(Base):
    """Who did what, when, to which household: agents' actions, staff logins and exports,
    imports and account changes. Append-only; never holds a PIN or a password."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_actor_at", "actor", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(120))  # agent:12, staff:7, cli:root, import
    action: Mapped[str] = mapped_column(String(40))  # db.values.AuditAction
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    member_no: Mapped[str | None] = mapped_column(String(12))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
