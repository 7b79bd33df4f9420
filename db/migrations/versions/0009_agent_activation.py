"""agents' activation codes, escalating lock-outs, cache versions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

A new agent (or one whose PIN staff reset) chooses a first PIN only with the one-time
activation code staff were given: its scrypt hash and expiry are kept on the account.
`lock_level` counts the locks since the last right PIN, so that each lasts longer.
Agents recorded before this revision without a PIN have no code: staff give them one
with `alafia agents reset-pin`.

`cache_versions` holds one counter per in-memory cache of the gateway processes
(`known_phones`: agents' and desk phones), raised in the same transaction as a change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lock_level", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("activation_hash", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("activation_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
    versions = op.create_table(
        "cache_versions",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cache_versions")),
    )
    op.bulk_insert(versions, [{"name": "known_phones", "version": 0}])


def downgrade() -> None:
    op.drop_table("cache_versions")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("activation_expires_at")
        batch_op.drop_column("activation_hash")
        batch_op.drop_column("lock_level")
