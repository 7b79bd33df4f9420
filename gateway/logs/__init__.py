"""Logging set-up. Personal data stays out of logs: one handler on the root logger, so
that library records (httpx, uvicorn, SQLAlchemy, alembic) pass through it too, and its
formatter masks the whole finished line (see `masking`)."""

from __future__ import annotations

import logging

from gateway.logs.formatter import MaskingFormatter


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(MaskingFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic announces each of its plugins at INFO; the migrations it runs are enough.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
