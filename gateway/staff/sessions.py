"""Staff login sessions, kept in Redis so that any gateway process serves them and a
logout ends them everywhere at once.

The browser holds a random token in a cookie; Redis holds only its SHA-256 (a copy of
Redis gives no usable cookie) with the staff id and the session's CSRF token. A session
ends after `idle` seconds without a request, and after `absolute` seconds in any case.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis

COOKIE = "alafia_staff"
IDLE_SECONDS = 2 * 3600
ABSOLUTE_SECONDS = 12 * 3600


@dataclass(frozen=True)
class StaffSession:
    staff_id: int
    csrf: str  # sent back with every form; compared in constant time
    started: float  # unix time


class StaffSessions:
    def __init__(
        self, redis: Redis, idle: int = IDLE_SECONDS, absolute: int = ABSOLUTE_SECONDS
    ) -> None:
        self.redis = redis
        self.idle = idle
        self.absolute = absolute

    async def open(self, staff_id: int) -> tuple[str, StaffSession]:
        """A new session after a successful login: the cookie's token and the session."""
        token = secrets.token_urlsafe(32)
        session = StaffSession(staff_id, secrets.token_urlsafe(32), time.time())
        value = json.dumps({"staff_id": staff_id, "csrf": session.csrf, "started": session.started})
        await self.redis.set(_key(token), value, ex=self.idle)
        return token, session

    async def get(self, token: str | None) -> StaffSession | None:
        """The session of a cookie, its idle time renewed; None when unknown or over."""
        if not token or len(token) > 100:
            return None
        key = _key(token)
        raw = await self.redis.get(key)
        if raw is None:
            return None
        fields = json.loads(raw)
        session = StaffSession(
            int(fields["staff_id"]), str(fields["csrf"]), float(fields["started"])
        )
        if time.time() - session.started > self.absolute:
            await self.redis.delete(key)
            return None
        await self.redis.expire(key, self.idle)
        return session

    async def close(self, token: str | None) -> None:
        if token:
            await self.redis.delete(_key(token))


def _key(token: str) -> str:
    return "staff-session:" + hashlib.sha256(token.encode("ascii", "replace")).hexdigest()
