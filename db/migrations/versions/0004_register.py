"""register outbox, facilities and eligibility checks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:43:22.641266
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "facilities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facilities")),
        sa.UniqueConstraint("code", name=op.f("uq_facilities_code")),
        sa.UniqueConstraint("key_prefix", name=op.f("uq_facilities_key_prefix")),
    )
    op.create_table(
        "eligibility_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("member_no", sa.String(length=20), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_eligibility_checks_facility_id_facilities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_checks")),
    )
    with op.batch_alter_table("eligibility_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_eligibility_checks_facility_id"), ["facility_id"], unique=False
        )

    op.create_table(
        "facility_phones",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_facility_phones_facility_id_facilities"),
        ),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_facility_phones")),
    )
    with op.batch_alter_table("facility_phones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_facility_phones_facility_id"), ["facility_id"], unique=False
        )

    op.create_table(
        "register_links",
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("register_ids", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_register_links_household_id_households"),
        ),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_register_links")),
    )
    op.create_table(
        "register_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=True),
        sa.Column("payment_reference", sa.String(length=36), nullable=True),
        sa.Column("member_no", sa.String(length=12), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_register_events_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["coverage_periods.id"],
            name=op.f("fk_register_events_period_id_coverage_periods"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_register_events_event_id")),
    )
    with op.batch_alter_table("register_events", schema=None) as batch_op:
        batch_op.create_index("ix_register_events_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_register_events_household", ["household_id", "id"], unique=False)
    _announce_existing_households()


def _announce_existing_households() -> None:
    """Households enrolled before this revision reach the register too: one
    household_enrolled event each (the worker sends their state as it is now)."""
    bind = op.get_bind()
    households = sa.table(
        "households", sa.column("id", sa.Integer), sa.column("created_at", sa.DateTime)
    )
    events = sa.table(
        "register_events",
        sa.column("event_id", sa.String),
        sa.column("household_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("occurred_at", sa.DateTime(timezone=True)),
        sa.column("status", sa.String),
        sa.column("attempts", sa.Integer),
        sa.column("next_attempt_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    rows = [
        {
            "event_id": str(uuid.uuid4()),
            "household_id": household_id,
            "kind": "household_enrolled",
            "occurred_at": created_at or now,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        }
        for household_id, created_at in bind.execute(
            sa.select(households.c.id, households.c.created_at).order_by(households.c.id)
        ).all()
    ]
    if rows:
        bind.execute(events.insert(), rows)


def downgrade() -> None:
    with op.batch_alter_table("register_events", schema=None) as batch_op:
        batch_op.drop_index("ix_register_events_household")
        batch_op.drop_index("ix_register_events_due")

    op.drop_table("register_events")
    op.drop_table("register_links")
    with op.batch_alter_table("facility_phones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_facility_phones_facility_id"))

    op.drop_table("facility_phones")
    with op.batch_alter_table("eligibility_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eligibility_checks_facility_id"))

    op.drop_table("eligibility_checks")
    op.drop_table("facilities")
