"""Migration 0008 (the caller's mutual on USSD session ends), up and down, on SQLite and
on PostgreSQL: rows recorded before it keep their place with no mutual, the funnel's
index and the foreign key exist after it, and going back drops only what it added.

PostgreSQL runs when TEST_DATABASE_URL names one, in a schema of its own that is
dropped afterwards, so the suite's database is never touched."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, make_url, text

from db.engine import create_engine_sync, is_sqlite
from db.migrate import alembic_config, current, upgrade

REVISION = "0008"
SCHEMA = "migration_0008_check"
ENDED_AT = datetime(2026, 11, 23, 10, 0)


def _previous() -> str:
    """The revision 0008 comes after, as the migration itself says."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    before = script.get_revision(REVISION).down_revision
    assert isinstance(before, str)
    return before


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


def _session_end(engine: Engine, session_id: str, mutual_id: int | None = None) -> None:
    columns = "session_id, service_code, status, ended_at"
    values = ":session_id, '*384*22#', 'Incomplete', :ended_at"
    if mutual_id is not None:
        columns, values = f"{columns}, mutual_id", f"{values}, :mutual_id"
    with engine.begin() as connection:
        connection.execute(
            text(f"INSERT INTO ussd_session_ends ({columns}) VALUES ({values})"),
            {"session_id": session_id, "ended_at": ENDED_AT, "mutual_id": mutual_id},
        )


def test_0008_adds_the_mutual_and_takes_it_away_again(database: str) -> None:
    upgrade(database, _previous())
    engine = create_engine_sync(database)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO scheme_units (code, level, name, path)"
                " VALUES ('MS-TEST', 'mutual', 'Mutuelle test', 'MS-TEST')"
            )
        )
        mutual_id = connection.execute(
            text("SELECT id FROM scheme_units WHERE code = 'MS-TEST'")
        ).scalar_one()
    _session_end(engine, "ATUid_before")

    upgrade(database, REVISION)

    assert current(database) == REVISION
    table = inspect(engine)
    assert {"mutual_id"} <= {column["name"] for column in table.get_columns("ussd_session_ends")}
    indexes = {
        index["name"]: index["column_names"] for index in table.get_indexes("ussd_session_ends")
    }
    assert indexes["ix_ussd_session_ends_mutual_ended_at"] == ["mutual_id", "ended_at"]
    assert indexes["ix_ussd_session_ends_ended_at"] == ["ended_at"]  # still there
    [key] = table.get_foreign_keys("ussd_session_ends")
    assert (key["constrained_columns"], key["referred_table"]) == (["mutual_id"], "scheme_units")
    _session_end(engine, "ATUid_after", mutual_id)
    with engine.connect() as connection:
        kept = connection.execute(
            text("SELECT session_id, mutual_id FROM ussd_session_ends ORDER BY id")
        ).all()
    assert [tuple(row) for row in kept] == [("ATUid_before", None), ("ATUid_after", mutual_id)]

    command.downgrade(alembic_config(database), _previous())

    assert current(database) == _previous()
    table = inspect(engine)
    assert "mutual_id" not in {column["name"] for column in table.get_columns("ussd_session_ends")}
    assert "ix_ussd_session_ends_mutual_ended_at" not in {
        index["name"] for index in table.get_indexes("ussd_session_ends")
    }
    assert table.get_foreign_keys("ussd_session_ends") == []
    with engine.connect() as connection:
        ids = connection.execute(text("SELECT session_id FROM ussd_session_ends ORDER BY id"))
        assert ids.scalars().all() == ["ATUid_before", "ATUid_after"]
    engine.dispose()

    upgrade(database, REVISION)  # and forward again, as a redeploy would
    assert current(database) == REVISION
