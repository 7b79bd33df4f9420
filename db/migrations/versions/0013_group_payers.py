"""group payers: a school, an association, a cooperative or a socio-professional
category that pays its households' premiums under a yearly contract

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

A group pays like a sponsor: it has a `sponsors` row of its own, and its share of each
member household's cover year is a `period_shares` row settled by the transfers staff
record (`sponsor_settlements`, once per reference). `group_contracts` holds one row per
group and year (the product, the dates of the cover years it pays for, the invoice
number); `households.group_id` says which group pays a household's premium. A cover
year is renewed at most once (`uq_coverage_periods_one_renewal`, cancelled years aside).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payer_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mutual_id", sa.Integer(), nullable=False),
        sa.Column("sponsor_id", sa.Integer(), nullable=False),
        sa.Column("treasurer_phone", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mutual_id"], ["scheme_units.id"], name=op.f("fk_payer_groups_mutual_id_scheme_units")
        ),
        sa.ForeignKeyConstraint(
            ["sponsor_id"], ["sponsors.id"], name=op.f("fk_payer_groups_sponsor_id_sponsors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payer_groups")),
        sa.UniqueConstraint("code", name=op.f("uq_payer_groups_code")),
        sa.UniqueConstraint("sponsor_id", name=op.f("uq_payer_groups_sponsor_id")),
    )
    with op.batch_alter_table("payer_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payer_groups_mutual_id"), ["mutual_id"], unique=False)

    op.create_table(
        "group_contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("invoice_no", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["payer_groups.id"], name=op.f("fk_group_contracts_group_id_payer_groups")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_group_contracts_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_contracts")),
        sa.UniqueConstraint("group_id", "year", name="uq_group_contracts_group_year"),
        sa.UniqueConstraint("invoice_no", name=op.f("uq_group_contracts_invoice_no")),
    )
    with op.batch_alter_table("group_contracts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_contracts_group_id"), ["group_id"], unique=False)

    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_households_group_id"), ["group_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_households_group_id_payer_groups"), "payer_groups", ["group_id"], ["id"]
        )
    # One live renewal per cover year, whoever opens it (the short code, an agent, the
    # import, `alafia renew`): two paths racing for one household cannot both win.
    op.create_index(
        "uq_coverage_periods_one_renewal",
        "coverage_periods",
        ["renewal_of_id"],
        unique=True,
        sqlite_where=sa.text("renewal_of_id IS NOT NULL AND cancelled_on IS NULL"),
        postgresql_where=sa.text("renewal_of_id IS NOT NULL AND cancelled_on IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_coverage_periods_one_renewal", table_name="coverage_periods")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_households_group_id_payer_groups"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_households_group_id"))
        batch_op.drop_column("group_id")
    with op.batch_alter_table("group_contracts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_contracts_group_id"))
    op.drop_table("group_contracts")
    with op.batch_alter_table("payer_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payer_groups_mutual_id"))
    op.drop_table("payer_groups")
