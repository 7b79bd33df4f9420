"""The metrics section of the settings: who may read `/metrics`, and where the worker
processes of one `alafia serve` share their counters.

`METRICS_TOKEN` is the bearer token a Prometheus scrape carries. Without it `/metrics`
is not served by `alafia serve` (its figures say how busy the scheme is and which
accounts are locked out); only `alafia demo` bound to a loopback address serves it open.

`PROMETHEUS_MULTIPROC_DIR` is not for operators: `alafia serve --workers N` creates a
fresh directory, names it there for its worker processes (the Prometheus client reads
it too, when it is imported) and removes it when it stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gateway.settings.environment import MIN_TOKEN_LENGTH, Environment


@dataclass(frozen=True)
class MetricsSettings:
    token: str | None = field(repr=False)
    # Where the processes of one `alafia serve` write their counters; None: one process.
    shared_directory: Path | None
    # `/metrics` without a token: only `alafia demo` on a loopback address sets it.
    open_without_token: bool = False

    @classmethod
    def _read(cls, env: Environment) -> MetricsSettings:
        token = env.text("METRICS_TOKEN") or None
        if token is not None and len(token) < MIN_TOKEN_LENGTH:
            env.problem(f"METRICS_TOKEN must be at least {MIN_TOKEN_LENGTH} characters long")
        directory = env.text("PROMETHEUS_MULTIPROC_DIR")
        return cls(token=token, shared_directory=Path(directory) if directory else None)
