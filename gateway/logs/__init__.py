"""Logging set-up. Personal data stays out of logs: one handler on the root logger, so
that library records (httpx, uvicorn, SQLAlchemy, alembic) pass through it too, and its
formatter masks the whole finished line (see `masking`)."""

from __future__ import annotations

import logging

from gateway.logs.formatter import MaskingFormatter

# Libraries whose lower levels carry row values (names the mask cannot recognise) or
# nothing worth reading, whatever LOG_LEVEL says.
LIBRARY_LEVELS = {
    # Its DEBUG lines are every statement with its parameters: names, phones, NPIs.
    "aiosqlite": logging.INFO,
    # INFO is every statement, DEBUG every row (SQLAlchemy sets WARN itself only when
    # nobody set a level before it was imported).
    "sqlalchemy": logging.WARNING,
    # Its DEBUG lines are every answer's raw headers: a register's session cookies and
    # CSRF tokens (openIMIS sets both on its login answer).
    "httpcore": logging.INFO,
    # Alembic announces each of its plugins at INFO; the migrations it runs are enough.
    "alembic.runtime.plugins": logging.WARNING,
}


def quiet_libraries() -> None:
    for name, level in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(level)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(MaskingFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries()
