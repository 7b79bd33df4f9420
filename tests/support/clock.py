"""The gateway's clock in tests that move time instead of waiting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from tests.conftest import TODAY

ZONE = ZoneInfo("Africa/Porto-Novo")


class Now:
    def __init__(self, hour: int = 9) -> None:
        self.hour = hour
        self.at = dt.datetime.combine(TODAY, dt.time(hour, 0), ZONE)

    def __call__(self) -> dt.datetime:
        return self.at

    def day(self, day: dt.date, hour: int | None = None) -> dt.datetime:
        self.at = dt.datetime.combine(day, dt.time(self.hour if hour is None else hour, 0), ZONE)
        return self.at

    def after(self, clock: Callable[[], dt.datetime], **delta: float) -> Now:
        """Moved to what another clock reads now, plus `delta`: the gateway's own clock
        keeps the real time of day, so a job meant to run after what it wrote must start
        from that clock, not from a fixed hour the real time may be past."""
        self.at = clock() + dt.timedelta(**delta)
        return self

    def later(self, **delta: float) -> dt.datetime:
        self.at += dt.timedelta(**delta)
        return self.at
