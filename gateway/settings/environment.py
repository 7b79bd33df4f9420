"""The reader every section of the settings reads the environment through, and the one
error that reports everything it found wrong (see `Environment`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


class ConfigError(ValueError):
    """Everything wrong with the configuration: one problem per line of the message."""

    def __init__(self, *problems: str) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# The shortest secret a network-facing token may be (callbacks, metrics): long enough that
# guessing is hopeless; a shorter one is usually a placeholder left in a config file.
MIN_TOKEN_LENGTH = 16


class Environment:
    """The variables being read, and every problem found in them so far.

    A reader that finds a problem records it and answers the default, so that reading goes on
    and the next problems are found too; `Settings.from_env` raises them all at the end.
    """

    def __init__(self, variables: Mapping[str, str]) -> None:
        self.variables = variables
        self.problems: list[str] = []

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def raw(self, name: str, default: str = "") -> str:
        """The value as it is set, blank included (where blank means something)."""
        return self.variables.get(name, default)

    def text(self, name: str, default: str = "") -> str:
        """The value without surrounding spaces; `default` when unset or blank."""
        return self.variables.get(name, "").strip() or default

    def missing(self, names: Sequence[str]) -> list[str]:
        return [name for name in names if not self.text(name)]

    def mentions(self, names: Sequence[str]) -> bool:
        """Whether any of `names` is set: a service half set up is a mistake to report."""
        return len(self.missing(names)) < len(names)

    def whole_number(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problem(f"{name} must be a whole number, got {raw!r}")
            return default
        if not low <= value <= high:
            self.problem(f"{name} must be between {low} and {high}, got {value}")
            return default
        return value

    def seconds(self, name: str, default: float) -> float:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            self.problem(f"{name} must be a number of seconds above 0, got {raw!r}")
            return default
        return value

    def days(self, name: str, default: str) -> tuple[int, ...]:
        """A list of day counts like "30,7", largest first; blank for none."""
        raw = self.raw(name, default)
        try:
            days = sorted({int(part) for part in raw.split(",") if part.strip()}, reverse=True)
        except ValueError:
            self.problem(f"{name} must be whole numbers of days like 30,7, got {raw!r}")
            return ()
        if any(not 0 < day <= 366 for day in days):
            self.problem(f"{name} must be between 1 and 366 days, got {raw!r}")
            return ()
        return tuple(days)

    def choice(self, name: str, default: str, choices: Sequence[str]) -> str:
        value = self.text(name, default).lower()
        if value not in choices:
            self.problem(f"{name} must be one of {', '.join(choices)}, got {value!r}")
            return default
        return value

    def secrets(self, name: str) -> tuple[str, ...]:
        """Comma-separated secrets: several while one is rotated."""
        return tuple(s.strip() for s in self.raw(name).split(",") if s.strip())
