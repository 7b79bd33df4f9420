"""What every part of the premium ledger shares: the database and the scheme's clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class PaymentBook:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        timezone: str,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.sessions = sessions
        self.zone = ZoneInfo(timezone)
        self._now = now

    def now(self) -> datetime:
        return self._now() if self._now else datetime.now(self.zone)
