"""The log of eligibility checks, written in batches off the request path.

A check is answered once its log row is in a Redis list (one RPUSH, a fraction of a
millisecond); a background task of each process (serving or worker) moves the list into
`eligibility_checks` in multi-row INSERTs, a few times a second. Nothing is lost:

- on stop, the process drains the list before it closes its pools;
- a batch is claimed atomically (a Lua script moves it from the list into a claim list of
  its own, and notes when), inserted, then the claim is deleted. A process that dies
  between the two leaves its claim behind; any process puts a claim older than `STALE`
  back in the list. So a row is written at least once: after such a crash, a batch whose
  INSERT had committed just before is written a second time (duplicates are possible,
  losses are not);
- while Redis cannot be reached, a check is logged straight to the database instead, in
  groups that share one INSERT and one commit (the path every check took before), and the
  check waits for that commit: a check is never answered without being logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from datetime import date, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import writing

log = logging.getLogger(__name__)

# One hash tag: the list, the claims and their index live in one Redis Cluster slot, so
# the claim script may touch them together.
QUEUE = "eligibility:{checks}"
CLAIMS = "eligibility:{checks}:claims"  # claim id -> the time it was claimed (epoch s)
CLAIM = "eligibility:{checks}:claim:"  # + claim id: the rows being inserted

BATCH = 2000  # rows in one INSERT
PAUSE = 0.05  # seconds between drains while checks come: the rows of that time, at once
IDLE = 5.0  # seconds between looks at the list when this process pushed nothing
STALE = 300.0  # seconds after which a claim is taken for a dead process's
STOP_WAIT = 5.0  # seconds the stop waits for a drain under way
WINDOW = 0.004  # the direct path's group: seconds open for the checks after the first

# Moves up to ARGV[1] rows from the list into the claim list ARGV[2], noted at ARGV[3].
_CLAIM = """
local rows = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #rows == 0 then return rows end
redis.call('LTRIM', KEYS[1], #rows, -1)
for i = 1, #rows, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(rows, i, math.min(i + 999, #rows)))
end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return rows
"""

# Puts the rows of claim ARGV[1] (KEYS[2]) back in the list: its process is gone.
_RESCUE = """
local rows = redis.call('LRANGE', KEYS[2], 0, -1)
for i = 1, #rows, 1000 do
  redis.call('RPUSH', KEYS[1], unpack(rows, i, math.min(i + 999, #rows)))
end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[3], ARGV[1])
return #rows
"""


def encode(row: dict[str, Any]) -> str:
    return json.dumps(
        [
            row["facility_id"],
            row["member_no"],
            row["on"].isoformat(),
            row["channel"],
            row["outcome"],
            row["source"],
            row["checked_at"].isoformat(),
        ],
        separators=(",", ":"),
    )


def decode(raw: bytes | str) -> dict[str, Any]:
    facility_id, member_no, on, channel, outcome, source, checked_at = json.loads(raw)
    return {
        "facility_id": facility_id,
        "member_no": member_no,
        "on": date.fromisoformat(on),
        "channel": channel,
        "outcome": outcome,
        "source": source,
        "checked_at": datetime.fromisoformat(checked_at),
    }


class CheckLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], redis: Redis) -> None:
        self.sessions = sessions
        self.redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._rescue = redis.register_script(_RESCUE)
        self._pushed = False  # since the last drain
        self._drainer: asyncio.Task[None] | None = None
        self._draining = asyncio.Lock()  # one drain at a time in this process
        # The direct path, while Redis is away.
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, row: dict[str, Any]) -> None:
        """Log one check: returns once it is in the Redis list, or, without Redis,
        committed to the database (raises if neither could be done)."""
        try:
            await self.redis.rpush(QUEUE, encode(row))
        except (RedisError, OSError) as error:
            log.warning("check log: Redis unreachable (%s), logging to the database", error)
            await self._add_direct(row)
            return
        self._pushed = True

    # -- draining ---------------------------------------------------------------------

    def start(self) -> None:
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain_forever(), name="check-log")

    async def _drain_forever(self) -> None:
        last_look = last_rescue = 0.0
        while True:
            # A plain sleep, not a wait on an event: cheap when idle (no Redis call unless
            # this process pushed, or IDLE passed) and always cancellable at stop.
            await asyncio.sleep(PAUSE)
            if not self._pushed and time.monotonic() - last_look < IDLE:
                continue
            self._pushed = False
            last_look = time.monotonic()
            try:
                if last_look - last_rescue > STALE / 10:
                    last_rescue = last_look
                    await self.rescue()
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis or the database away: rows wait in Redis
                log.warning("check log: cannot drain now: %s: %s", type(error).__name__, error)
                await asyncio.sleep(1.0)

    async def flush(self) -> int:
        """Move every row in the list into the database; how many this call moved."""
        moved = 0
        async with self._draining:
            while True:
                count = await self._drain_batch()
                moved += count
                if count < BATCH:
                    return moved

    async def _drain_batch(self) -> int:
        claim = uuid.uuid4().hex
        rows = await self._claim(
            keys=[QUEUE, CLAIM + claim, CLAIMS], args=[BATCH, claim, time.time()]
        )
        if not rows:
            return 0
        try:
            await self._insert([decode(r) for r in rows])
        except IntegrityError:
            # A row the table refuses (its facility deleted since): written one by one,
            # so that it alone is dropped, and said, instead of blocking the list for ever.
            await self._insert_each([decode(r) for r in rows])
        # Committed: the claim goes. A crash right here leaves it to `rescue` (a duplicate).
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(CLAIM + claim)
            pipe.hdel(CLAIMS, claim)
            await pipe.execute()
        return len(rows)

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        async with writing(self.sessions) as session:
            await session.execute(insert(models.EligibilityCheck), rows)

    async def _insert_each(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            try:
                await self._insert([row])
            except IntegrityError as error:
                log.warning("check log: a row the table refuses is dropped: %s", error.orig)

    async def rescue(self, older_than: float = STALE) -> int:
        """Put back in the list the rows of claims a dead process left; how many rows."""
        claims = await self.redis.hgetall(CLAIMS)
        rescued = 0
        for raw_claim, raw_at in claims.items():
            claim = raw_claim.decode() if isinstance(raw_claim, bytes) else str(raw_claim)
            if time.time() - float(raw_at) < older_than:
                continue
            count = int(await self._rescue(keys=[QUEUE, CLAIM + claim, CLAIMS], args=[claim]))
            log.warning("check log: %d rows of an abandoned batch put back to be written", count)
            rescued += count
        return rescued

    async def aclose(self) -> None:
        """Stop draining, then write what is left: checks answered are logged before we go."""
        drainer, self._drainer = self._drainer, None
        if drainer is not None and drainer.get_loop() is asyncio.get_running_loop():
            # Bounded: a drain stuck on a dead database must not hold the stop for ever
            # (its rows are still claimed in Redis, and `rescue` puts them back).
            drainer.cancel()
            await asyncio.wait([drainer], timeout=STOP_WAIT)
        elif drainer is not None and not drainer.get_loop().is_closed():
            # Started on another event loop (a test harness may run the start-up in a
            # loop of its own): cancelled there; waiting on it from here could only time
            # out, which cost every stop STOP_WAIT seconds.
            drainer.get_loop().call_soon_threadsafe(drainer.cancel)
        try:
            await asyncio.wait_for(self.flush(), STOP_WAIT * 6)
        except Exception as error:  # the rows stay in Redis for the next process
            log.warning("check log: not drained at stop: %s: %s", type(error).__name__, error)
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer

    # -- the direct path, without Redis --------------------------------------------------

    async def _add_direct(self, row: dict[str, Any]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_soon())
        await asyncio.shield(done)  # a client that leaves does not unlog its check

    async def _write_soon(self) -> None:
        await asyncio.sleep(WINDOW)
        while self._waiting:
            group, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
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
