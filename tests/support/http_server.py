"""Run a small ASGI app on a real loopback port for the duration of a test.

The outside services (aggregators, mobile-money providers, registers) are played by
local servers that speak their documented wire protocol; the production adapters talk
to them over real HTTP, exactly as they would in the field.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 in a background thread and yield its base URL."""
    port = port or free_port()
    # No log config of uvicorn's own, as `alafia serve`: its records go to the root
    # logger, where the suite's log scan (tests/support/log_privacy.py) sees them.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"test server on port {port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
