"""Keep calls to a provider under its rate limit (MTN's status endpoint takes about
150 requests per second), so that catching up after an outage does not get us refused."""

from __future__ import annotations

import asyncio
import time


class Pace:
    """At most `per_second` calls started per second, spaced evenly, for one process."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._next > now:
                await asyncio.sleep(self._next - now)
                now = self._next
            self._next = now + self.interval
