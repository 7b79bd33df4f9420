"""Migration 0018 (the indexes the latest cover years are read from), up and down, on
SQLite and on PostgreSQL: PostgreSQL gets the two covering indexes and an earlier
autovacuum of the cover years, SQLite nothing (its query reads the unique
(household_id, starts_on) index), and going back takes them away.

PostgreSQL runs when TEST_DATABASE_URL names one, in a schema of its own that is
dropped afterwards, so the suite's database is never touched."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import inspect, text

from db.engine import create_engine_sync, is_sqlite
from db.migrate import alembic_config, current, upgrade
from tests.stats.test_migration_0008 import database

__all__ = ["database"]  # the fixture: an empty database of each kind

REVISION = "0018"
PREVIOUS = "0017"
ADDED = {
    "coverage_periods": "ix_coverage_periods_latest",
    "households": "ix_households_id_mutual",
}


def _indexes(database: str) -> dict[str, dict[str, Any]]:
    engine = create_engine_sync(database)
    table = inspect(engine)
    found = {name: {index["name"]: index for index in table.get_indexes(name)} for name in ADDED}
    engine.dispose()
    return found


def _vacuum_options(database: str) -> Any:
    """The storage options of `coverage_periods` (in the schema the URL searches)."""
    engine = create_engine_sync(database)
    with engine.connect() as connection:
        options = connection.execute(
            text("SELECT reloptions FROM pg_class WHERE oid = 'coverage_periods'::regclass")
        ).scalar_one()
    engine.dispose()
    return options


def test_0018_adds_the_covering_indexes_on_postgresql_only(database: str) -> None:
    upgrade(database, REVISION)

    assert current(database) == REVISION
    found = _indexes(database)
    if is_sqlite(database):
        assert all(ADDED[name] not in found[name] for name in ADDED)
    else:
        latest = found["coverage_periods"]["ix_coverage_periods_latest"]
        households = found["households"]["ix_households_id_mutual"]
        assert latest["column_names"] == ["household_id", "starts_on"]
        assert latest["column_sorting"] == {"starts_on": ("desc",)}  # the latest first
        assert latest["dialect_options"]["postgresql_include"] == ["status", "persons"]
        assert households["column_names"] == ["id"]
        assert households["dialect_options"]["postgresql_include"] == ["mutual_id"]
        assert _vacuum_options(database) == ["autovacuum_vacuum_scale_factor=0.02"]

    command.downgrade(alembic_config(database), PREVIOUS)

    assert current(database) == PREVIOUS
    found = _indexes(database)
    assert all(ADDED[name] not in found[name] for name in ADDED)
    if not is_sqlite(database):
        assert _vacuum_options(database) is None

    upgrade(database, REVISION)  # and forward again, as a redeploy would
    assert current(database) == REVISION
