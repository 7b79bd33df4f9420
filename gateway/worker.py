"""The background worker: everything that must not happen on a USSD hop.

It runs the jobs the capabilities declare (payments moved forward, the SMS outbox sent,
reminders, pushes to the central register, the dashboard's figures kept warm), round
after round. Several workers may run against PostgreSQL: each claims its rows with SKIP
LOCKED, so none is handled twice. A round of a job that passes its time limit is
cancelled, so one stalled provider cannot hold back the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from gateway.capability import Job

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, jobs: Sequence[Job], idle_seconds: float = 1.0) -> None:
        self.jobs = list(jobs)
        self.idle_seconds = idle_seconds

    async def run_once(self) -> int:
        handled = 0
        for job in self.jobs:
            try:
                async with asyncio.timeout(job.time_limit):
                    handled += await job.run()
            except TimeoutError:
                log.error(
                    "worker job %s passed its %s s limit; cancelled", job.name, job.time_limit
                )
            except Exception as error:
                # The database or a provider is down: say so, wait, try again.
                log.error("worker job %s failed: %s", job.name, type(error).__name__)
        return handled

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker started")
        while not stop.is_set():
            if await self.run_once() == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.idle_seconds)
        log.info("worker stopped")
