"""payments, sponsors and queued messages

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:57:19.650780
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=36), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_notices")),
    )
    with op.batch_alter_table("payment_notices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_notices_reference"), ["reference"], unique=False
        )

    op.create_table(
        "sponsors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("waits_for_payment", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sponsors")),
        sa.UniqueConstraint("code", name=op.f("uq_sponsors_code")),
    )
    op.create_table(
        "sponsor_settlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sponsor_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sponsor_id"], ["sponsors.id"], name=op.f("fk_sponsor_settlements_sponsor_id_sponsors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sponsor_settlements")),
        sa.UniqueConstraint("reference", name=op.f("uq_sponsor_settlements_reference")),
    )
    with op.batch_alter_table("sponsor_settlements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sponsor_settlements_sponsor_id"), ["sponsor_id"], unique=False
        )

    op.create_table(
        "subsidies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sponsor_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("amount_per_person", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_subsidies_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["sponsor_id"], ["sponsors.id"], name=op.f("fk_subsidies_sponsor_id_sponsors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidies")),
    )
    with op.batch_alter_table("subsidies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subsidies_product_id"), ["product_id"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("purpose", sa.String(length=24), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payment_reference", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_messages_household_id_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("payment_reference", name=op.f("uq_messages_payment_reference")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messages_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_messages_status"), ["status"], unique=False)

    op.create_table(
        "payments",
        sa.Column("reference", sa.String(length=36), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("operator", sa.String(length=16), nullable=True),
        sa.Column("payer_phone", sa.String(length=20), nullable=True),
        sa.Column("payer_name", sa.String(length=80), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("provider_transaction_id", sa.String(length=64), nullable=True),
        sa.Column("receipt_no", sa.String(length=20), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("request_key", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("unclear", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_payments_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["coverage_periods.id"],
            name=op.f("fk_payments_period_id_coverage_periods"),
        ),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_payments")),
        sa.UniqueConstraint("receipt_no", name=op.f("uq_payments_receipt_no")),
        sa.UniqueConstraint("request_key", name=op.f("uq_payments_request_key")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payments_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payments_next_check_at"), ["next_check_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_payments_period_id"), ["period_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payments_status"), ["status"], unique=False)

    with op.batch_alter_table("coverage_periods", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sponsor_id", sa.Integer(), nullable=True))
        # Defaults for the periods opened before sponsors existed.
        batch_op.add_column(
            sa.Column("sponsor_share", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("sponsor_paid", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("waits_for_sponsor", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            batch_op.f("ix_coverage_periods_sponsor_id"), ["sponsor_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_coverage_periods_sponsor_id_sponsors"),
            "sponsors",
            ["sponsor_id"],
            ["id"],
        )

    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(length=32), nullable=True))

    with op.batch_alter_table("scheme_units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_provider", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scheme_units", schema=None) as batch_op:
        batch_op.drop_column("payment_provider")

    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_column("category")

    with op.batch_alter_table("coverage_periods", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_coverage_periods_sponsor_id_sponsors"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_coverage_periods_sponsor_id"))
        batch_op.drop_column("waits_for_sponsor")
        batch_op.drop_column("sponsor_paid")
        batch_op.drop_column("sponsor_share")
        batch_op.drop_column("sponsor_id")

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_status"))
        batch_op.drop_index(batch_op.f("ix_payments_period_id"))
        batch_op.drop_index(batch_op.f("ix_payments_next_check_at"))
        batch_op.drop_index(batch_op.f("ix_payments_household_id"))

    op.drop_table("payments")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_status"))
        batch_op.drop_index(batch_op.f("ix_messages_household_id"))

    op.drop_table("messages")
    with op.batch_alter_table("subsidies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subsidies_product_id"))

    op.drop_table("subsidies")
    with op.batch_alter_table("sponsor_settlements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sponsor_settlements_sponsor_id"))

    op.drop_table("sponsor_settlements")
    op.drop_table("sponsors")
    with op.batch_alter_table("payment_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_notices_reference"))

    op.drop_table("payment_notices")
