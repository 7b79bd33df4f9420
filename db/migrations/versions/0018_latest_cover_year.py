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

An index-only scan reads the table's page for every row on a page changed since the last
vacuum: with a tenth of the years rewritten across the table (as a sweep that moves many
statuses would), the count took 240-280 ms instead of 150 on the bench's register.
Autovacuum waits by default for a fifth of a table to change; for the cover years it now
runs once 2 % have (about 5,000 of 267,000), and a vacuum of them took about 0.5 s.

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
    op.execute("ALTER TABLE coverage_periods SET (autovacuum_vacuum_scale_factor = 0.02)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE coverage_periods RESET (autovacuum_vacuum_scale_factor)")
    op.drop_index("ix_households_id_mutual", table_name="households")
    op.drop_index("ix_coverage_periods_latest", table_name="coverage_periods")
