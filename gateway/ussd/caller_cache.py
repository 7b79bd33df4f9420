"""A returning caller's first hop answered from Redis instead of the database.

What a session knows of the phone that dials (`gateway.ussd.callers`: the households it
heads, their language, the renewal date) is kept under the phone's hash tag, beside its
sessions, for CALLER_TTL. Every write that changes it forgets it when its transaction
commits (`gateway.caller_changes`), in every process at once since the entry is shared.

The race a plain delete leaves open, a reader that read the database before a write
committed storing its answer after the write forgot the entry, is closed by a per-phone
token: the writer raises it as it forgets, the reader reads it with the entry (one MGET)
and stores its answer only if the token has not moved since (one script). The time limit
only bounds what no writer told: a row changed by hand, a Redis that was unreachable when
a write tried to forget.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

log = logging.getLogger(__name__)

CALLER_TTL = 600  # seconds; a session lasts three minutes, a desk phone dials all day
# Outlives any read-then-store by far; a token that expired reads as "", which a reader
# that read a number no longer matches.
TOKEN_TTL = 24 * 3600
# Every phone's entry (a change that is not one phone's: the renewal notice of a product).
ALL_CALLERS = "*"
BATCH = 500  # phones per pipeline when a bulk write forgets thousands

# Stores the answer only if no writer raised the token since the reader read it.
_KEEP = """
local token = redis.call('GET', KEYS[2]) or ''
if token == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""


def entry_key(phone: str) -> str:
    return f"phone:{{{phone}}}:caller"


def token_key(phone: str) -> str:
    return f"phone:{{{phone}}}:caller-token"


@dataclass(frozen=True)
class Cached:
    """One MGET's worth: the entry if kept, the token to store a new one under, and
    whatever else of the phone's the caller asked for in the same read."""

    known: dict[str, Any] | None
    version: int
    token: str
    extra: list[bytes | str | None]
    # The heads of the phone's households in full (last name, first names, member
    # number, still the head): the duplicate check before an enrolment's summary.
    heads: list[list[Any]] | None = None


class CallerCache:
    def __init__(self, redis: Redis, ttl: int = CALLER_TTL) -> None:
        self.redis = redis
        self.ttl = ttl
        self._keep = redis.register_script(_KEEP)

    async def read(self, phone: str, *extra_keys: str) -> Cached:
        """The entry, its token and `extra_keys` (of the same phone: one hash slot)."""
        raw, token, *extra = await self.redis.mget(entry_key(phone), token_key(phone), *extra_keys)
        text = _text(token)
        if raw is None:
            return Cached(None, 0, text, extra)
        kept = orjson.loads(raw)
        return Cached(kept["known"], int(kept["version"]), text, extra, kept.get("heads"))

    async def keep(
        self,
        phone: str,
        token: str,
        known: dict[str, Any],
        version: int,
        heads: list[list[Any]] | None = None,
    ) -> bool:
        """Store what the database said, unless a write forgot the phone meanwhile."""
        value = orjson.dumps({"known": known, "version": version, "heads": heads})
        stored = await self._keep(
            keys=[entry_key(phone), token_key(phone)], args=[token, value, self.ttl]
        )
        return bool(stored)

    async def forget(self, phones: Iterable[str]) -> None:
        """After a committed write: the next first hop of these phones reads the database."""
        wanted = set(phones)
        if ALL_CALLERS in wanted:
            wanted.discard(ALL_CALLERS)
            await self._forget_all()
        ordered = sorted(wanted)
        for start in range(0, len(ordered), BATCH):
            pipe = self.redis.pipeline(transaction=False)
            for phone in ordered[start : start + BATCH]:
                pipe.incr(token_key(phone))
                pipe.expire(token_key(phone), TOKEN_TTL)
                pipe.delete(entry_key(phone))
            await pipe.execute()

    async def _forget_all(self) -> None:
        """Rare (a scheme load that moves a product's renewal notice): every entry, by
        scan (a cluster client scans every primary and splits the DEL by slot)."""
        keys = [key async for key in self.redis.scan_iter(match="phone:*:caller", count=1000)]
        for start in range(0, len(keys), BATCH):
            await self.redis.delete(*keys[start : start + BATCH])
        log.info("callers' cache emptied: %d entries", len(keys))


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value
