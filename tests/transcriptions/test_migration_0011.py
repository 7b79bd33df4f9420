"""Migration 0011 (transcriptions of names said on the voice line), up and down, on
SQLite and on PostgreSQL: the table comes with its indexes and foreign keys on a
database that already holds households, takes a pending name and its audio, and goes
again without touching the members.

PostgreSQL runs when TEST_DATABASE_URL names one, in a schema of its own that is
dropped afterwards, so the suite's database is never touched."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, make_url, text
from sqlalchemy.exc import IntegrityError

from db.engine import create_engine_sync, is_sqlite
from db.migrate import alembic_config, current, upgrade

REVISION = "0011"
PREVIOUS = "0010"
SCHEMA = "migration_0011_check"
AT = datetime(2026, 11, 23, 9, 0)


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


def _a_member(engine: Engine) -> tuple[int, int]:
    """A household of one whose head's names wait: (household id, member id)."""
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
                "INSERT INTO members (member_no, household_id, last_name, first_names, sex,"
                " birth_date, birth_year, birth_year_only, relationship_to_head)"
                " VALUES ('100000011', :household, '', '', 'F', :born, 1990, :yes, 'head')"
            ),
            {"household": household, "born": date(1990, 1, 1), "yes": True},
        )
        member = connection.execute(text("SELECT id FROM members")).scalar_one()
        return int(household), int(member)


def _transcription(engine: Engine, household: int, member: int, audio: bytes | None) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO transcriptions (household_id, member_id, fields, recording_url,"
                " status, fetch_attempts, next_fetch_at, audio, audio_type, audio_size,"
                " created_at) VALUES (:household, :member, 'name',"
                " 'https://media.voice.test/rec/1.mp3', 'ready', 1, :at, :audio, 'audio/mpeg',"
                " :size, :at)"
            ),
            {
                "household": household,
                "member": member,
                "at": AT,
                "audio": audio,
                "size": len(audio or b""),
            },
        )


def test_0011_adds_transcriptions_and_takes_them_away(database: str) -> None:
    upgrade(database, PREVIOUS)
    engine = create_engine_sync(database)
    household, member = _a_member(engine)

    upgrade(database, REVISION)
    engine.dispose()  # SQLite's PRAGMAs read a pooled connection's stale schema

    assert current(database) == REVISION
    indexes = {index["name"] for index in inspect(engine).get_indexes("transcriptions")}
    assert indexes == {
        "ix_transcriptions_status_next_fetch_at",
        "ix_transcriptions_household_id_status",
        "ix_transcriptions_member_id",
    }
    sound = b"ID3\x04" + bytes(range(256))
    _transcription(engine, household, member, sound)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT audio, status FROM transcriptions")).one()
    assert (bytes(stored[0]), stored[1]) == (sound, "ready")
    with pytest.raises(IntegrityError):  # a transcription belongs to a member that exists
        _transcription(engine, household, member + 1000, None)

    command.downgrade(alembic_config(database), PREVIOUS)
    engine.dispose()
    assert current(database) == PREVIOUS
    assert "transcriptions" not in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM members")).scalar_one() == 1
    upgrade(database, REVISION)  # and up again, as an operator going back and forth
    assert current(database) == REVISION
    engine.dispose()
