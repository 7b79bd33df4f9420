"""What the benchmark scripts share: ports, `alafia` commands, percentiles, arguments,
the event loop of the load generator, and a clean stop on a signal."""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    # Asking the kernel beats guessing; the tiny race until the server binds is acceptable
    # on a loopback address nobody else is load-testing.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def run_cli(args: list[str], env: dict[str, str], log: TextIO) -> None:
    """An `alafia ...` command, through the interpreter running us (the venv's)."""
    result = subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=120,
        check=False,
    )
    output = result.stdout.decode("utf-8", "replace")
    log.write(f"$ alafia {' '.join(args)}\n{output}")
    if result.returncode != 0:
        raise RuntimeError(f"alafia {' '.join(args)} failed ({result.returncode}):\n{output}")


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def bounded(low: float, high: float, kind: type = float) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        value = kind(raw)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    # uvloop when present (uvicorn[standard] brings it): a lighter load generator leaves
    # more of the shared CPU to the servers being measured.
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def terminate(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # same clean-up path as Ctrl-C


def run_bench(
    args: Any,
    prefix: str,
    run: Callable[[Any, Any, dict[str, Any]], dict[str, Any]],
    report: Callable[[dict[str, Any], TextIO], None],
    stop: Callable[[Any], None],
    errors: tuple[type[BaseException], ...] = (),
) -> int:
    """What every benchmark's main does around its `run`: a clean stop on Ctrl-C and
    SIGTERM, a work directory for logs, every process it started stopped (the last
    started first), the logs kept on --keep-logs, the figures or JSON on stdout."""
    import contextlib
    import json
    import shutil
    import signal
    import subprocess
    import tempfile

    # SIGINT too: a shell starts background jobs with it ignored, and Ctrl-C must clean up.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, terminate)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    procs: dict[str, Any] = {}
    try:
        document = run(args, workdir, procs)
        if args.json:
            print(json.dumps(document, indent=2, ensure_ascii=False, default=str))
        else:
            report(document, sys.stdout)
        return 0 if document["ok"] else 1
    except KeyboardInterrupt:
        progress("interrupted; stopping everything")
        return 130
    except (RuntimeError, subprocess.SubprocessError, OSError, *errors) as error:
        progress(f"failed: {type(error).__name__}: {error}")
        return 1
    finally:
        for proc in reversed(list(procs.values())):  # clients before the servers they call
            with contextlib.suppress(Exception):
                stop(proc)
        if args.keep_logs is not None:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for log in workdir.glob("*.log"):
                shutil.copy(log, args.keep_logs / log.name)
        shutil.rmtree(workdir, ignore_errors=True)
