"""scheme, households, members and coverage periods

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:12:07.511159
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "occupations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_occupations")),
        sa.UniqueConstraint("code", name=op.f("uq_occupations_code")),
    )
    op.create_table(
        "scheme_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("department", sa.String(length=60), nullable=True),
        sa.Column("commune", sa.String(length=60), nullable=True),
        sa.Column("arrondissement", sa.String(length=60), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["scheme_units.id"], name=op.f("fk_scheme_units_parent_id_scheme_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheme_units")),
        sa.UniqueConstraint("code", name=op.f("uq_scheme_units_code")),
    )
    with op.batch_alter_table("scheme_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scheme_units_path"), ["path"], unique=False)

    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("target_group", sa.String(length=40), nullable=False),
        sa.Column("premium_per_person", sa.Integer(), nullable=False),
        sa.Column("household_premium", sa.Integer(), nullable=True),
        sa.Column("max_members", sa.Integer(), nullable=True),
        sa.Column("window_start", sa.String(length=5), nullable=True),
        sa.Column("window_end", sa.String(length=5), nullable=True),
        sa.Column("waiting_days", sa.Integer(), nullable=False),
        sa.Column("cover_months", sa.Integer(), nullable=False),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("copay_percent", sa.Integer(), nullable=False),
        sa.Column("benefits", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["scheme_units.id"], name=op.f("fk_products_unit_id_scheme_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("code", name=op.f("uq_products_code")),
    )
    op.create_table(
        "households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mutual_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("commune", sa.String(length=60), nullable=True),
        sa.Column("arrondissement", sa.String(length=60), nullable=True),
        sa.Column("village", sa.String(length=60), nullable=True),
        sa.Column("request_key", sa.String(length=120), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["mutual_id"], ["scheme_units.id"], name=op.f("fk_households_mutual_id_scheme_units")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_households_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
        sa.UniqueConstraint("request_key", name=op.f("uq_households_request_key")),
    )
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_households_mutual_id"), ["mutual_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_households_phone"), ["phone"], unique=False)

    op.create_table(
        "coverage_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("premium_due", sa.Integer(), nullable=False),
        sa.Column("amount_paid", sa.Integer(), nullable=False),
        sa.Column("paid_in_full_on", sa.Date(), nullable=True),
        sa.Column("waiting_days", sa.Integer(), nullable=False),
        sa.Column("cover_months", sa.Integer(), nullable=False),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_coverage_periods_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_coverage_periods_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_periods")),
        sa.UniqueConstraint(
            "household_id", "starts_on", name="uq_coverage_periods_household_start"
        ),
    )
    with op.batch_alter_table("coverage_periods", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coverage_periods_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_coverage_periods_status"), ["status"], unique=False)

    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_no", sa.String(length=12), nullable=True),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("last_name", sa.String(length=60), nullable=False),
        sa.Column("first_names", sa.String(length=80), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.Column("birth_year_only", sa.Boolean(), nullable=False),
        sa.Column("relationship_to_head", sa.String(length=16), nullable=False),
        sa.Column("occupation", sa.String(length=32), nullable=True),
        sa.Column("national_id", sa.String(length=20), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_members_household_id_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("member_no", name=op.f("uq_members_member_no")),
        sa.UniqueConstraint("national_id", name=op.f("uq_members_national_id")),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_members_head_identity", ["last_name", "first_names", "birth_year"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_members_household_id"), ["household_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_household_id"))
        batch_op.drop_index("ix_members_head_identity")

    op.drop_table("members")
    with op.batch_alter_table("coverage_periods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coverage_periods_status"))
        batch_op.drop_index(batch_op.f("ix_coverage_periods_household_id"))

    op.drop_table("coverage_periods")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_households_phone"))
        batch_op.drop_index(batch_op.f("ix_households_mutual_id"))

    op.drop_table("households")
    op.drop_table("products")
    with op.batch_alter_table("scheme_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheme_units_path"))

    op.drop_table("scheme_units")
    op.drop_table("occupations")
