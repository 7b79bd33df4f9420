"""Logging set-up. Personal data stays out of logs: one handler on the root logger, so
that library records (httpx, uvicorn, SQLAlchemy, alembic) pass through it too, and its
formatter masks the whole finished line (see `masking`)."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

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


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is when a record comes, not the one it was made
    with: a stream swapped and closed since (a test runner's capture, a CLI command run
    inside another program) would otherwise turn every later record into a logging error.
    `setStream` still pins a stream of one's choosing."""

    _pinned: TextIO | None = None

    @property
    def stream(self) -> TextIO:
        return self._pinned if self._pinned is not None else sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        # StreamHandler's own __init__ sets the stderr of that moment: not pinned.
        self._pinned = None if value is sys.stderr else value


def configure(level: str = "INFO") -> None:
    handler = StderrHandler()
    handler.setFormatter(MaskingFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries()
