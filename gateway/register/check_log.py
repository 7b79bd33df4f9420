"""The log of eligibility checks, written in groups.

At a thousand checks a second, a transaction per check would cost more than the check
itself. Checks that arrive within a few milliseconds of each other share one INSERT
and one commit; each waits for its group's commit before it is answered, so a check
is never answered without being logged.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import writing

WINDOW = 0.004  # seconds a group stays open for the checks that follow the first
MOST = 500  # rows in one INSERT


class CheckLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, row: dict[str, Any]) -> None:
        """Log one check; returns once it is committed (raises if it could not be)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_soon())
        await asyncio.shield(done)  # a client that leaves does not unlog its check

    async def _write_soon(self) -> None:
        await asyncio.sleep(WINDOW)
        while self._waiting:
            group, self._waiting = self._waiting[:MOST], self._waiting[MOST:]
            try:
                async with writing(self.sessions) as session:
                    await session.execute(insert(models.EligibilityCheck), [r for r, _ in group])
            except Exception as error:
                for _, done in group:
                    if not done.done():
                        done.set_exception(error)
            else:
                for _, done in group:
                    if not done.done():
                        done.set_result(None)

    async def aclose(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
