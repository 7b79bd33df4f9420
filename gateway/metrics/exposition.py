"""The text Prometheus reads: the events of every serving process and the state of the
moment, in its text format.

One process: the events are this process's own (`events.EVENTS`). Several
(`alafia serve --workers N`): each process writes its counters to files in a directory
they share, and whichever process is scraped adds up the files of all of them, the
files of processes that have since died included, so a counter never goes back.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from gateway.metrics.events import EVENTS

# The classic text format, which every Prometheus reads: our names and labels need
# nothing newer (the client's own "latest" moved to 1.0.0 in recent releases).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Fixed(Collector):
    """Metrics already computed (the state read at scrape time, or this process's events)."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self.metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return self.metrics


def exposition(state: Iterable[Metric], shared_directory: Path | None) -> bytes:
    """Blocking (it reads the processes' files): run it off the event loop."""
    registry = CollectorRegistry(auto_describe=False)
    if shared_directory is not None:
        MultiProcessCollector(registry, path=str(shared_directory))
    else:
        registry.register(_Fixed(EVENTS.collect()))
    registry.register(_Fixed(state))
    return generate_latest(registry)
