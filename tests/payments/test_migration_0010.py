"""Migration 0010 (one mobile-money payment in flight per cover period), up and down, on
SQLite and on PostgreSQL: a period that already had two pending mobile payments keeps the
older one pending and the other expired (still asked about by the worker), and the index
then refuses a second pending one.

PostgreSQL runs when TEST_DATABASE_URL names one, in a schema of its own that is
dropped afterwards, so the suite's database is never touched."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, make_url, text
from sqlalchemy.exc import IntegrityError

from db.engine import create_engine_sync, is_sqlite
from db.migrate import alembic_config, current, upgrade

REVISION = "0010"
SCHEMA = "migration_0010_check"
AT = datetime(2026, 11, 23, 9, 0)


def _previous() -> str:
    """The revision 0010 comes after, as the migration itself says (re-chained at merge)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    before = script.get_revision(REVISION).down_revision
    assert isinstance(before, str)
    return before


PREVIOUS = _previous()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, for migrations only."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    suite = os.environ.get("TEST_DATABASE_URL", "")
    if not suite or is_sqlite(suite):
        pytest.skip("TEST_DATABASE_URL names no PostgreSQL database")
    engine = create_engine_sync(suite)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    url = make_url(suite).update_query_dict({"options": f"-csearch_path={SCHEMA}"})
    yield url.render_as_string(hide_password=False)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    engine.dispose()


def _a_period(engine: Engine) -> int:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO scheme_units (code, level, name, path)"
                " VALUES ('MS-TEST', 'mutual', 'Mutuelle test', 'MS-TEST')"
            )
        )
        unit = connection.execute(text("SELECT id FROM scheme_units")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO products (code, unit_id, names, target_group, premium_per_person,"
                " waiting_days, cover_months, grace_days, copay_percent, benefits, active)"
                " VALUES ('P', :unit, '{}', 'all', 1575, 30, 12, 30, 0, '[]', :yes)"
            ),
            {"unit": unit, "yes": True},
        )
        product = connection.execute(text("SELECT id FROM products")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO households (mutual_id, product_id, phone, language, channel,"
                " request_key) VALUES (:unit, :product, '+2290197000941', 'fr', 'ussd', 'k')"
            ),
            {"unit": unit, "product": product},
        )
        household = connection.execute(text("SELECT id FROM households")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO coverage_periods (household_id, product_id, starts_on, persons,"
                " premium_due, amount_paid, sponsor_share, sponsor_paid, waits_for_sponsor,"
                " waiting_days, cover_months, grace_days, status)"
                " VALUES (:household, :product, :day, 2, 3150, 0, 0, 0, :no, 30, 12, 30,"
                " 'pending_payment')"
            ),
            {"household": household, "product": product, "day": date(2026, 11, 1), "no": False},
        )
        return int(connection.execute(text("SELECT id FROM coverage_periods")).scalar_one())


def _payment(engine: Engine, reference: str, period: int, minute: int, provider: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO payments (reference, household_id, period_id, provider, amount,"
                " currency, status, channel, created_at, checks, unclear)"
                " SELECT :reference, household_id, id, :provider, 3150, 'XOF', 'pending',"
                " 'ussd', :at, 0, :no FROM coverage_periods WHERE id = :period"
            ),
            {
                "reference": reference,
                "provider": provider,
                "at": AT.replace(minute=minute),
                "no": False,
                "period": period,
            },
        )


def _statuses(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT reference, status FROM payments")).all()
    return {row[0]: row[1] for row in rows}


def test_0010_keeps_the_oldest_pending_and_then_refuses_a_second(database: str) -> None:
    upgrade(database, PREVIOUS)
    engine = create_engine_sync(database)
    period = _a_period(engine)
    _payment(engine, "b-second", period, 5, "momo")
    _payment(engine, "a-first", period, 1, "momo")
    _payment(engine, "c-third", period, 9, "fedapay")

    upgrade(database, REVISION)

    assert current(database) == REVISION
    assert _statuses(engine) == {"a-first": "pending", "b-second": "expired", "c-third": "expired"}
    columns = {column["name"] for column in inspect(engine).get_columns("payments")}
    assert {"refund_due", "refunded_at", "refund_note"} <= columns
    with pytest.raises(IntegrityError):
        _payment(engine, "d-fourth", period, 12, "momo")
    _payment(engine, "e-cash", period, 13, "cash")  # cash never waits: not counted

    command.downgrade(alembic_config(database), PREVIOUS)
    assert current(database) == PREVIOUS
    _payment(engine, "f-again", period, 14, "momo")  # no index any more
    columns = {column["name"] for column in inspect(engine).get_columns("payments")}
    assert "refund_due" not in columns
    engine.dispose()
