"""sms outbox, opt-outs, inbound and campaigns; stored coverage dates

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:26:00.813419
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_sms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("to", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("keyword", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_sms")),
        sa.UniqueConstraint("provider_id", name=op.f("uq_inbound_sms_provider_id")),
    )
    with op.batch_alter_table("inbound_sms", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_sms_phone_received", ["phone", "received_at"], unique=False
        )

    op.create_table(
        "sms_early_reports",
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=120), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider_id", name=op.f("pk_sms_early_reports")),
    )
    op.create_table(
        "sms_opt_outs",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_sms_opt_outs")),
    )
    op.create_table(
        "sms_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("mutual_id", sa.Integer(), nullable=True),
        sa.Column("commune", sa.String(length=60), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mutual_id"], ["scheme_units.id"], name=op.f("fk_sms_campaigns_mutual_id_scheme_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_campaigns")),
    )
    with op.batch_alter_table("coverage_periods", schema=None) as batch_op:
        batch_op.add_column(sa.Column("covered_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("covered_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("grace_until", sa.Date(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_coverage_periods_covered_from"), ["covered_from"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_coverage_periods_covered_until"), ["covered_until"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_coverage_periods_grace_until"), ["grace_until"], unique=False
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        # Defaults only carry rows queued before this revision; the code always sets them.
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("encoding", sa.String(length=8), nullable=False, server_default="gsm7")
        )
        batch_op.add_column(sa.Column("segments", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(
            sa.Column("quiet", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("provider_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("cost", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index(batch_op.f("ix_messages_status"))
        batch_op.create_index(batch_op.f("ix_messages_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index("ix_messages_due", ["status", "not_before", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_phone"), ["phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_provider_id"), ["provider_id"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_messages_dedupe_key"), ["dedupe_key"])
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_campaign_id_sms_campaigns"),
            "sms_campaigns",
            ["campaign_id"],
            ["id"],
        )

    _word_old_receipts()
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column(
            "not_before", existing_type=sa.DateTime(timezone=True), nullable=False
        )
    _date_paid_periods()


# Before this revision receipts were queued as a template and its values only. They are
# worded here with a frozen copy of the receipt text, so that none is lost or left blank.
_RECEIPT = {
    "fr": "Recu {receipt_no}: {amount} FCFA recus pour votre mutuelle. Reste a payer: {due} FCFA.",
    "en": "Receipt {receipt_no}: {amount} FCFA received for your mutual. Still due: {due} FCFA.",
}


def _word_old_receipts() -> None:
    bind = op.get_bind()
    messages = sa.table(
        "messages",
        sa.column("id", sa.Integer),
        sa.column("language", sa.String),
        sa.column("params", sa.JSON),
        sa.column("text", sa.Text),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("not_before", sa.DateTime(timezone=True)),
    )
    for row in bind.execute(sa.select(messages)).all():
        params = row.params or {}
        text = _RECEIPT.get(row.language, _RECEIPT["fr"]).format(
            receipt_no=params.get("receipt_no", ""),
            amount=params.get("amount", 0),
            due=params.get("amount_due", 0),
        )
        bind.execute(
            messages.update()
            .where(messages.c.id == row.id)
            .values(text=text, not_before=row.created_at)
        )


def _date_paid_periods() -> None:
    """Periods paid before this revision get their cover dates stored too (the same
    arithmetic as gateway.coverage at this revision)."""
    bind = op.get_bind()
    periods = sa.table(
        "coverage_periods",
        sa.column("id", sa.Integer),
        sa.column("paid_in_full_on", sa.Date),
        sa.column("waiting_days", sa.Integer),
        sa.column("cover_months", sa.Integer),
        sa.column("grace_days", sa.Integer),
        sa.column("covered_from", sa.Date),
        sa.column("covered_until", sa.Date),
        sa.column("grace_until", sa.Date),
    )
    paid = bind.execute(sa.select(periods).where(periods.c.paid_in_full_on.is_not(None))).all()
    for row in paid:
        start = row.paid_in_full_on + timedelta(days=row.waiting_days)
        index = start.month - 1 + row.cover_months
        year, month = start.year + index // 12, index % 12 + 1
        end = date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
        end -= timedelta(days=1)
        bind.execute(
            periods.update()
            .where(periods.c.id == row.id)
            .values(
                covered_from=start,
                covered_until=end,
                grace_until=end + timedelta(days=row.grace_days),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_messages_campaign_id_sms_campaigns"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_messages_dedupe_key"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_messages_provider_id"))
        batch_op.drop_index(batch_op.f("ix_messages_phone"))
        batch_op.drop_index("ix_messages_due")
        batch_op.drop_index(batch_op.f("ix_messages_campaign_id"))
        batch_op.create_index(batch_op.f("ix_messages_status"), ["status"], unique=False)
        batch_op.drop_column("reported_at")
        batch_op.drop_column("sent_at")
        batch_op.drop_column("cost")
        batch_op.drop_column("delivery_status")
        batch_op.drop_column("reason")
        batch_op.drop_column("provider_id")
        batch_op.drop_column("attempts")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("not_before")
        batch_op.drop_column("campaign_id")
        batch_op.drop_column("dedupe_key")
        batch_op.drop_column("quiet")
        batch_op.drop_column("segments")
        batch_op.drop_column("encoding")
        batch_op.drop_column("text")

    with op.batch_alter_table("coverage_periods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coverage_periods_grace_until"))
        batch_op.drop_index(batch_op.f("ix_coverage_periods_covered_until"))
        batch_op.drop_index(batch_op.f("ix_coverage_periods_covered_from"))
        batch_op.drop_column("grace_until")
        batch_op.drop_column("covered_until")
        batch_op.drop_column("covered_from")

    op.drop_table("sms_campaigns")
    op.drop_table("sms_opt_outs")
    op.drop_table("sms_early_reports")
    with op.batch_alter_table("inbound_sms", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_sms_phone_received")

    op.drop_table("inbound_sms")
