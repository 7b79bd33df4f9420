"""the dashboard's daily roll-ups of households and persons enrolled, and payments

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

Counting the enrolment figures from households and members took 0.6-1.4 s on a million
members (bench/dashboard_cold.py). The worker now keeps per-day sums by mutual, commune,
product, channel (and occupation for persons; provider and channel for payments) up to
a watermark day; the tables start
empty and the worker fills them on its first rounds (or `alafia stats rebuild` at once).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _dimensions() -> list[sa.Column[object]]:
    return [
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("mutual_id", sa.Integer(), primary_key=True),
        sa.Column("commune", sa.String(60), primary_key=True),
        sa.Column("product_id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
    ]


def upgrade() -> None:
    op.create_table(
        "stats_household_days",
        *_dimensions(),
        sa.Column("households", sa.Integer(), nullable=False),
    )
    op.create_table(
        "stats_person_days",
        *_dimensions(),
        sa.Column("occupation", sa.String(32), primary_key=True),
        sa.Column("persons", sa.Integer(), nullable=False),
    )
    op.create_table(
        "stats_payment_days",
        *_dimensions(),
        sa.Column("provider", sa.String(16), primary_key=True),
        sa.Column("paid_through", sa.String(16), primary_key=True),
        sa.Column("payments", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "stats_rollup_marks",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("rolled_until", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("stats_rollup_marks")
    op.drop_table("stats_payment_days")
    op.drop_table("stats_person_days")
    op.drop_table("stats_household_days")
