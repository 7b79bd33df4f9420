"""The background worker: everything that must not happen on a USSD hop.

It moves payments forward (submit to the provider, confirm, reconcile lost
callbacks), sends the SMS outbox, sweeps for reminders and pushes events to the central
register. Several workers may run
against PostgreSQL: each claims its rows with SKIP LOCKED, so none is handled twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[int]]  # does what is due, returns how much it handled


class Worker:
    def __init__(self, jobs: Sequence[Job], idle_seconds: float = 1.0) -> None:
        self.jobs = list(jobs)
        self.idle_seconds = idle_seconds

    async def run_once(self) -> int:
        handled = 0
        for job in self.jobs:
            try:
                handled += await job()
            except Exception as error:
                # The database or a provider is down: say so, wait, try again.
                log.error(
                    "worker job %s failed: %s",
                    getattr(job, "__qualname__", job),
                    type(error).__name__,
                )
        return handled

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker started")
        while not stop.is_set():
            if await self.run_once() == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.idle_seconds)
        log.info("worker stopped")
