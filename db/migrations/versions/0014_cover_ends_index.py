"""an index on the fixed end of scheme years, for the renewal statistics

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

A household is due for renewal in a period when one of its cover years ends in it: a
scheme year on its fixed `cover_ends_on`, a rolling year on its `covered_until`. The
renewal figures (`gateway.stats.renewals`) ask for each end in its own arm of an OR, so
that PostgreSQL reads both by index (a BitmapOr): `covered_until` has had its index
since the reminders needed it; without this one, a period filter on a scheme of scheme
years would read every cover year ever opened. `renewal_of_id`, the other half of the
question, was indexed by 0012.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("coverage_periods", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coverage_periods_cover_ends_on"), ["cover_ends_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("coverage_periods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coverage_periods_cover_ends_on"))
