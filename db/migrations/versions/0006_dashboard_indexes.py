"""indexes for the dashboard's figures on a million members

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

The statistics API groups members by their household's mutual, product and channel, and
by occupation: (household_id, created_at, occupation) lets PostgreSQL read members from
the index alone instead of the whole table. Time series and the period filter find
enrolments, payments and messages of a few weeks by date instead of scanning them all.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXES = (
    (
        "ix_members_household_created_occupation",
        "members",
        ["household_id", "created_at", "occupation"],
    ),
    ("ix_members_created_at", "members", ["created_at"]),
    ("ix_households_created_at", "households", ["created_at"]),
    ("ix_payments_status_settled_at", "payments", ["status", "settled_at"]),
    ("ix_messages_created_at", "messages", ["created_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
