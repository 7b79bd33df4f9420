"""How many wrong passwords the login page takes, and from where, counted in Redis so
that every process of the gateway counts the same tries.

Two limits combine:

- per account AND address (5 failures per 15 minutes by default): past it the account is
  locked, but only for that address. Whoever knows a staff email can lock it for
  themselves and nobody else: the colleague at the office, on another address, logs in.
- per address, whatever the account (30 failures per 15 minutes): one machine cannot
  spray a common password over every staff email, nor go round the first limit by
  changing the email. Unknown emails count too, so the answer never tells which exist.

Only failures count, so a busy office behind one address, where everybody types the
right password, never meets either. Both are looked at before the (slow, scrypt)
password check, so a refused try also costs us no CPU.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from gateway.limits.rates import Limit, Limits, Verdict

NO_ADDRESS = "unknown"  # a request without a peer address (a test client, a socket)


@dataclass(frozen=True)
class Refusal:
    verdict: Verdict
    per_address: bool  # True: the address tried too many accounts; False: this account


class LoginLimits:
    def __init__(self, limits: Limits) -> None:
        self.per_ip = limits.login_per_ip
        self.per_account = limits.login_per_account

    @property
    def lock_minutes(self) -> int:
        return self.per_account.rate.window // 60

    async def refusal(self, email: str, ip: str | None) -> Refusal | None:
        """Why this try is refused without checking the password; None when it may go on."""
        address = ip or NO_ADDRESS
        spray = await self.per_ip.peek(address)
        if spray.refused:
            self.per_ip.refused()
            return Refusal(spray, per_address=True)
        account = self._of(email)
        locked = await account.peek(address)
        if locked.refused:
            account.refused()
            return Refusal(locked, per_address=False)
        return None

    async def failed(self, email: str, ip: str | None) -> Verdict | None:
        """Count a wrong password; the verdict when this failure locked the account for this
        address (the last try allowed), to be audited once."""
        address = ip or NO_ADDRESS
        await self.per_ip.hit(address)
        counted = await self._of(email).hit(address)
        just_locked = counted.allowed and counted.uses == self.per_account.rate.limit
        return counted if just_locked else None

    async def succeeded(self, email: str, ip: str | None) -> None:
        """A right password starts the count of this account at this address again."""
        await self._of(email).forget(ip or NO_ADDRESS)

    async def lift(self, email: str) -> None:
        """Lift this account's locks at every address (an admin unlocked it)."""
        await self._of(email).forget_all()

    def _of(self, email: str) -> Limit:
        # Hashed: the Redis key names the account without holding its email.
        return self.per_account.within(hashlib.sha256(email.encode()).hexdigest()[:24])
