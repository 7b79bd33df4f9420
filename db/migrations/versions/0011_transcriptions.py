"""names spoken instead of typed, waiting for staff to transcribe them

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

A household enrolled by voice keeps its members' names as recordings: each member is
stored with empty names and a `transcriptions` row per recording (the head's family name,
the head's first names, a dependant's whole name). The worker fetches the recording into
`audio` (kept in the database, so that every machine serving the dashboard can play it and
backups hold it); staff type the name, which fills the member's columns and drops the
audio. Until every name of a household is typed, its enrolment SMS and its register
events wait.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transcriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("fields", sa.String(length=16), nullable=False),
        sa.Column("recording_url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fetch_attempts", sa.Integer(), nullable=False),
        sa.Column("next_fetch_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("audio", sa.LargeBinary(), nullable=True),
        sa.Column("audio_type", sa.String(length=60), nullable=True),
        sa.Column("audio_size", sa.Integer(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transcribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transcribed_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_transcriptions_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_transcriptions_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["transcribed_by"],
            ["staff_accounts.id"],
            name=op.f("fk_transcriptions_transcribed_by_staff_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcriptions")),
    )
    op.create_index(
        "ix_transcriptions_status_next_fetch_at",
        "transcriptions",
        ["status", "next_fetch_at"],
        unique=False,
    )
    op.create_index(
        "ix_transcriptions_household_id_status",
        "transcriptions",
        ["household_id", "status"],
        unique=False,
    )
    op.create_index(
        op.f("ix_transcriptions_member_id"), "transcriptions", ["member_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_transcriptions_member_id"), table_name="transcriptions")
    op.drop_index("ix_transcriptions_household_id_status", table_name="transcriptions")
    op.drop_index("ix_transcriptions_status_next_fetch_at", table_name="transcriptions")
    op.drop_table("transcriptions")
