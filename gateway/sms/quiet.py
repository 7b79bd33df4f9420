"""Quiet hours: reminders and campaigns wait for the morning; receipts and replies,
which answer something the person just did, do not."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class QuietHours:
    start: time  # e.g. 21:00
    end: time  # e.g. 07:00, the next morning when before `start`
    zone: ZoneInfo

    @classmethod
    def parse(cls, spec: str, zone: str) -> QuietHours | None:
        """ "21:00-07:00"; an empty spec means no quiet hours."""
        spec = spec.strip()
        if not spec:
            return None
        found = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", spec)
        if found is None:
            raise ValueError(f"quiet hours must look like 21:00-07:00, not {spec!r}")
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        return cls(time(h1, m1), time(h2, m2), ZoneInfo(zone))

    def is_quiet(self, moment: datetime) -> bool:
        here = moment.astimezone(self.zone).time()
        if self.start <= self.end:
            return self.start <= here < self.end
        return here >= self.start or here < self.end  # across midnight

    def next_allowed(self, moment: datetime) -> datetime:
        """`moment` itself outside quiet hours, else when they end."""
        if not self.is_quiet(moment):
            return moment
        local = moment.astimezone(self.zone)
        morning = datetime.combine(local.date(), self.end, self.zone)
        if morning <= local:
            morning += timedelta(days=1)
        return morning
