"""The phone simulator's section of the settings (`/simulator`, gateway/simulator).

A simulated phone writes real enrolments, so `alafia serve` offers the simulator only to
signed-in staff, and only for phone numbers in a training range that no real subscriber
has: `SIMULATOR_PHONE_PREFIX`, e.g. `+22901990` (numbers beginning so). Unset, the
simulator is off in production. `alafia demo` opens it to whoever reaches 127.0.0.1, for
any number: its data are demo data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.settings.environment import Environment

# A country code and some digits: long enough that the range is not a whole country.
PREFIX = re.compile(r"\+\d{6,14}")


@dataclass(frozen=True)
class SimulatorSettings:
    # Simulated numbers must begin with it in production; None: the simulator is off there.
    phone_prefix: str | None
    # No staff login and any number: only `alafia demo` (bound to a loopback address) sets it.
    open_without_login: bool = False

    @classmethod
    def _read(cls, env: Environment) -> SimulatorSettings:
        prefix = env.text("SIMULATOR_PHONE_PREFIX").replace(" ", "") or None
        if prefix is not None and not PREFIX.fullmatch(prefix):
            env.problem(
                "SIMULATOR_PHONE_PREFIX must be + then 6 to 14 digits, the beginning of a "
                f"training range of phone numbers like +22901990, got {prefix!r}"
            )
            prefix = None
        return cls(phone_prefix=prefix)

    def admits(self, phone: str) -> bool:
        """Whether a simulated phone may use this number: any in the demo, otherwise one in
        the training range."""
        if self.open_without_login:
            return True
        return self.phone_prefix is not None and phone.startswith(self.phone_prefix)
