"""The directory in which the worker processes of one `alafia serve --workers N` keep
their counters (the Prometheus client's multiprocess mode), made fresh when the server
starts and removed when it stops: counters from an earlier run must not be added in.

The client decides how to keep values when it is first imported in a process, from
PROMETHEUS_MULTIPROC_DIR: the worker processes are new processes that inherit it, and
their settings read it too (`MetricsSettings.shared_directory`), so their scrapes read
the same files their counters write."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def shared_by_workers() -> Iterator[Path]:
    """For the duration of the block, worker processes started from this one share a
    fresh directory for their counters."""
    directory = Path(tempfile.mkdtemp(prefix="alafia-metrics-"))
    before = os.environ.get(VARIABLE)
    os.environ[VARIABLE] = str(directory)
    try:
        yield directory
    finally:
        if before is None:
            os.environ.pop(VARIABLE, None)
        else:
            os.environ[VARIABLE] = before
        shutil.rmtree(directory, ignore_errors=True)
