"""each household's latest cover year read from indexes, for the dashboard's statuses

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03

The dashboard's `overview` and `coverage` count each household's latest cover year by
status. PostgreSQL answered it with a hash anti join of `coverage_periods` against
itself and a hash join to `households`: two sequential scans of the cover years and one
of the households, 0.4-0.9 s on a million members (bench/dashboard_cold.py). With the
cover years in (household, latest first) order carrying their status and persons, and
the households in id order carrying their mutual, `gateway.stats.figures` takes the
first year of each household (`DISTINCT ON`) in a merge join of two index-only scans:
no sort, no hash, no table page once the tables are vacuumed.

PostgreSQL only: SQLite has no INCLUDE, and its query (no later year exists) reads the
unique (household_id, starts_on) index it already has.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index(
        "ix_coverage_periods_latest",
        "coverage_periods",
        ["household_id", sa.text("starts_on DESC")],
        postgresql_include=["status", "persons"],
    )
    op.create_index(
        "ix_households_id_mutual",
        "households",
        ["id"],
        postgresql_include=["mutual_id"],
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_households_id_mutual", table_name="households")
    op.drop_index("ix_coverage_periods_latest", table_name="coverage_periods")
