"""staff password codes, for the dashboard's account pages

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

A central admin resetting a password from the dashboard gives the person a one-time code
instead of a password; the person sets their own with it. Only the code's SHA-256 is
kept (unique: the code alone finds its account), with when it stops working. Correcting
households (the other part of this change) needs no new column: a form's version is a
fingerprint of the values it showed, and the audit log already has the household.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_code_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("password_code_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_staff_accounts_password_code_hash"), ["password_code_hash"]
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_accounts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_staff_accounts_password_code_hash"), type_="unique")
        batch_op.drop_column("password_code_expires_at")
        batch_op.drop_column("password_code_hash")
