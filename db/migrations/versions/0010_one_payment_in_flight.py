"""one debt, one payment: one mobile-money payment in flight per cover period

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-03

A household that chose "pay everything" twice before the first prompt was confirmed was
debited twice. A partial unique index makes a second pending mobile-money payment of the
same cover period impossible, whichever process opens it (cash is settled in the same
transaction and never waits). `refund_due` holds what a provider confirmed beyond what the
period still needed (a late success after a cancel): never credited, listed by
`alafia payments review` until staff record the refund (`refunded_at`, `refund_note`).

Before the index is built, any period with several pending mobile payments keeps its
oldest one pending; the others are expired, so that the worker still asks the provider
about them and any success is credited (or held for refund).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PENDING_MOBILE = "status = 'pending' AND provider <> 'cash'"


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("refund_due", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("refund_note", sa.String(length=120), nullable=True))
    op.execute(
        f"""
        UPDATE payments SET status = 'expired', reason = 'expired'
        WHERE {PENDING_MOBILE}
          AND EXISTS (
            SELECT 1 FROM payments AS older
            WHERE older.period_id = payments.period_id
              AND older.status = 'pending' AND older.provider <> 'cash'
              AND (older.created_at < payments.created_at
                   OR (older.created_at = payments.created_at
                       AND older.reference < payments.reference))
          )
        """
    )
    op.create_index(
        "uq_payments_one_pending_per_period",
        "payments",
        ["period_id"],
        unique=True,
        sqlite_where=sa.text(PENDING_MOBILE),
        postgresql_where=sa.text(PENDING_MOBILE),
    )


def downgrade() -> None:
    op.drop_index("uq_payments_one_pending_per_period", table_name="payments")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("refund_note")
        batch_op.drop_column("refunded_at")
        batch_op.drop_column("refund_due")
