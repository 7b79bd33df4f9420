"""register events with a priority; the eligibility read from covering indexes

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-03

A backfill (an import, `alafia register backfill`) queues thousands of events at once;
the sync took them in id order, so a household enrolled afterwards waited behind all of
them. `priority` (0 first: enrolments and payments; 1 other changes; 2 backfills) orders
the claim, read from a partial index of the pending events in that order.

On PostgreSQL the eligibility check reads the member and its cover year from indexes
that carry the columns it needs (INCLUDE), so that a check reads index pages only once
the tables are vacuumed. SQLite has no INCLUDE: the plain indexes serve it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("register_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.SmallInteger(), nullable=False, server_default="1")
        )
        batch_op.create_index(
            "ix_register_events_next",
            ["priority", "id"],
            unique=False,
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        )
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_members_eligibility",
            "members",
            ["member_no"],
            postgresql_include=["id", "household_id", "first_names", "last_name", "left_on"],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_members_eligibility", table_name="members")
    with op.batch_alter_table("register_events", schema=None) as batch_op:
        batch_op.drop_index("ix_register_events_next")
        batch_op.drop_column("priority")
