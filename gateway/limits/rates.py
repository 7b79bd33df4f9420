"""Rate limits shared by every process of an installation, counted in Redis.

Each limit is a fixed window that opens at the first use: `limit` uses per `window`
seconds, then refusals until the window ends. Fixed rather than sliding because it costs
one small hash per subject whatever the flood (a sliding log keeps one entry per hit: an
attacker would grow it), and because its worst case, twice the limit across the end of
one window and the start of the next, does not matter with limits set ten times above
what real use needs and a hundred times below what a scan needs. The window opens at the
first use, not on a clock boundary, so that a lock (five failed logins) lasts its full
window from the first failure, never a few seconds.

One round trip per check: a Lua script reads, counts and sets the expiry atomically, so
two processes (or two workers) can never both take the last use. The time comes from
the gateway's clock (`Shared.now`), so tests move the window instead of waiting; Redis
expires the key a window later only to forget it.

Without Redis a limit lets the use through (and logs it): facilities' checks go on
while Redis restarts; the USSD sessions and staff logins need Redis anyway.

Subjects (a phone number, an address, an email, a facility key) are hashed into the key:
Redis holds no personal data for this. A refusal is logged with the limit's name only,
and passed to `on_refusal` (a counter for metrics).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.settings.limits import LimitSettings, Rate

log = logging.getLogger(__name__)

# KEYS[1]: the subject's window. ARGV: now (s), window (s), limit, cost (0: only look).
# Returns {allowed (0/1), uses in this window, milliseconds until it ends}.
_WINDOW = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local held = redis.call('HMGET', KEYS[1], 'start', 'uses')
local start = tonumber(held[1])
local uses = tonumber(held[2]) or 0
if start == nil or now >= start + window then
  start = now
  uses = 0
end
local left_ms = math.ceil((start + window - now) * 1000)
if cost == 0 then
  return {uses < limit and 1 or 0, uses, left_ms}
end
if uses + cost > limit then
  return {0, uses, left_ms}
end
uses = uses + cost
redis.call('HSET', KEYS[1], 'start', string.format('%.3f', start), 'uses', uses)
redis.call('PEXPIRE', KEYS[1], left_ms + 1000)
return {1, uses, left_ms}
"""


class Throttled(Exception):
    """A use refused by a limit; the caller answers with a proper refusal (a screen, a
    429, an SMS) saying when to come back."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(f"rate limited for {verdict.retry_after} s")
        self.verdict = verdict


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    uses: int  # counted in the current window, this one included when allowed
    retry_after: int  # whole seconds until the window ends

    @property
    def refused(self) -> bool:
        return not self.allowed

    @property
    def retry_minutes(self) -> int:
        """What a refusal tells people to wait: whole minutes, never 0."""
        return max(1, -(-self.retry_after // 60))


class RateLimiter:
    """The shared counter every named limit goes through."""

    def __init__(
        self,
        redis: Redis,
        now: Callable[[], datetime],
        on_refusal: Callable[[str], None] | None = None,
    ) -> None:
        self.redis = redis
        self.now = now
        self.on_refusal = on_refusal  # settable later: metrics count refusals by name
        self._script = redis.register_script(_WINDOW)

    def limit(self, name: str, rate: Rate) -> Limit:
        return Limit(self, name, rate)

    async def check(self, name: str, rate: Rate, subject: str, cost: int) -> Verdict:
        now = self.now().timestamp()
        try:
            allowed, uses, left_ms = await self._script(
                keys=[_key(name, subject)], args=[repr(now), rate.window, rate.limit, cost]
            )
        except RedisError as error:
            # Open, not closed: a facility must still learn whether a patient is covered
            # while Redis restarts (USSD sessions and staff logins need Redis anyway).
            log.warning("rate limit %s not checked: %s", name, type(error).__name__)
            return Verdict(True, 0, rate.window)
        verdict = Verdict(bool(allowed), int(uses), max(1, math.ceil(int(left_ms) / 1000)))
        if verdict.refused and cost > 0:
            self.refused(name, rate)
        return verdict

    def refused(self, name: str, rate: Rate) -> None:
        """Log and count one refusal (done by `check` for a use; by the caller when a
        look, `peek`, is what refuses)."""
        kind = name.split(":", 1)[0]  # without the account of `Limit.within`
        log.warning("rate limit %s: refused (%d per %d s)", kind, rate.limit, rate.window)
        if self.on_refusal is not None:
            self.on_refusal(kind)

    async def forget(self, name: str, subject: str) -> None:
        await self.redis.delete(_key(name, subject))

    async def forget_all(self, name: str) -> None:
        """Every subject's window of the limit `name` (rare: an admin lifting a lock)."""
        keys = [key async for key in self.redis.scan_iter(match=f"limit:{name}:*", count=500)]
        if keys:
            await self.redis.delete(*keys)


@dataclass(frozen=True)
class Limit:
    """One named limit: `hit` counts a use (refused past the limit), `peek` only looks."""

    limiter: RateLimiter
    name: str
    rate: Rate

    async def hit(self, subject: str) -> Verdict:
        return await self.limiter.check(self.name, self.rate, subject, 1)

    async def peek(self, subject: str) -> Verdict:
        return await self.limiter.check(self.name, self.rate, subject, 0)

    def refused(self) -> None:
        """Log and count a refusal decided on a `peek`."""
        self.limiter.refused(self.name, self.rate)

    async def forget(self, subject: str) -> None:
        await self.limiter.forget(self.name, subject)

    def within(self, group: str) -> Limit:
        """The same limit counted apart for `group` (an account), which can be forgotten
        whole (`forget_all`)."""
        return Limit(self.limiter, f"{self.name}:{group}", self.rate)

    async def forget_all(self) -> None:
        await self.limiter.forget_all(self.name)


def _key(name: str, subject: str) -> str:
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"limit:{name}:{digest}"


class Limits:
    """Every rate limit of the gateway, by what it protects."""

    def __init__(self, limiter: RateLimiter, settings: LimitSettings) -> None:
        self.limiter = limiter
        # Per phone, USSD and SMS alike: a member's status or a facility's check.
        self.member_checks = limiter.limit("member-check", settings.member_checks)
        self.eligibility = limiter.limit("eligibility", settings.eligibility)  # per API key
        self.login_per_ip = limiter.limit("login-ip", settings.login_failures_per_ip)
        # Per account AND address: a stranger's failures lock out only the stranger.
        self.login_per_account = limiter.limit("login-account", settings.login_failures_per_account)
        self.payment_prompts = limiter.limit("payment-prompt", settings.payment_prompts)
