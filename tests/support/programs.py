"""The gateway's programs (`alafia worker`, `alafia serve`) run as real processes by a
test, killed with SIGKILL when it says so, and the settings they read from their
environment."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PATIENCE = 60.0  # seconds a test waits for an outcome before it says which one never came


def environment(settings: Settings, extra: Mapping[str, str]) -> dict[str, str]:
    """What an operator would export: the test's database and Redis, and `extra`."""
    keep = ("PATH", "HOME", "LANG", "ALAFIA_TEST_CLOCK_SHIFT_DAYS", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        {
            "DATABASE_URL": settings.database_url,
            "ALAFIA_DATA_DIR": str(settings.data_dir),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if settings.redis_url is not None:
        env["REDIS_URL"] = settings.redis_url
    env.update(extra)
    return env


class Program:
    """One `alafia ...` process; its output goes to a file the failure message quotes."""

    def __init__(self, argv: list[str], env: Mapping[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.run_alafia", *argv],
            cwd=ROOT,
            env=dict(env),
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or rolled back by the program."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._out.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            status = self.process.returncode
            raise AssertionError(f"{self.log.name} exited {status}:\n{self.output()}")


@contextlib.contextmanager
def running(argv: list[str], env: Mapping[str, str], log: Path) -> Iterator[Program]:
    program = Program(argv, env, log)
    try:
        yield program
    finally:
        program.stop()


def wait_for(what: str, condition: Callable[[], bool], *programs: Program) -> None:
    """Until `condition` holds; fails after PATIENCE seconds saying what never happened.
    The limit only ends a broken run: nothing is asserted about how long it took."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        for program in programs:
            program.check_alive()
        if time.monotonic() > deadline:
            logs = "\n".join(p.output() for p in programs)
            raise AssertionError(f"never happened: {what}\n{logs}")
        time.sleep(0.05)
