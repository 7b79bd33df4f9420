"""the caller's mutual on each USSD session end

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

The USSD funnel is read per mutual: a mutual manager sees where their own members give
up. `mutual_id` is the caller's mutual when the session knew it (a known household, a
field agent, or the mutual chosen while enrolling); NULL otherwise, and for every session
recorded before this revision. The funnel filters on the mutual and the period together,
so one index serves a manager's query; the whole scheme's keeps `ended_at`'s own index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ussd_session_ends", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mutual_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_ussd_session_ends_mutual_id_scheme_units"),
            "scheme_units",
            ["mutual_id"],
            ["id"],
        )
        batch_op.create_index(
            "ix_ussd_session_ends_mutual_ended_at", ["mutual_id", "ended_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ussd_session_ends", schema=None) as batch_op:
        batch_op.drop_index("ix_ussd_session_ends_mutual_ended_at")
        batch_op.drop_constraint(
            batch_op.f("fk_ussd_session_ends_mutual_id_scheme_units"), type_="foreignkey"
        )
        batch_op.drop_column("mutual_id")
