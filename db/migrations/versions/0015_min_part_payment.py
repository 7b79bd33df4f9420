"""the smallest part payment of each product

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

A part payment of 1 F was accepted: it costs the mutual a provider's fee, a receipt SMS
and a register event, for nothing. Each product now says the least a part may be
(`min_part_payment`, 500 F where the scheme file says nothing); paying the whole rest of
what is due is always accepted, however small.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("min_part_payment", sa.Integer(), server_default="500", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("min_part_payment")
