"""Many rows into one table in one statement, for set-based writers (`alafia renew`).

On PostgreSQL: one `INSERT ... SELECT * FROM unnest(...)` with one array per column, a
true multi-row INSERT whose size on the wire and parse cost do not grow with the number
of placeholders (measured on 20,000 cover lines: 1.4 × faster than psycopg's pipelined
executemany, which is itself 4.5 × faster than SQLAlchemy's multi-row VALUES with
RETURNING). Elsewhere (SQLite): executemany of one prepared INSERT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert, text

from db.models import Base


def insert_rows(connection: Connection, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """Every row must name the same columns (those of the first)."""
    if not rows:
        return
    table = model.__table__
    assert isinstance(table, Table)
    columns = list(rows[0])
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), list(rows))
        return
    casts = ", ".join(
        f"CAST(:{name} AS {table.c[name].type.compile(dialect=connection.dialect)}[])"
        for name in columns
    )
    statement = text(
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({casts})"
    )
    connection.execute(statement, {name: [row[name] for row in rows] for name in columns})
