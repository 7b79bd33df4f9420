"""Several processes, one answer: the counters of every worker process of
`alafia serve --workers N` are added up by whichever process is scraped.

First the client's multiprocess mode as the gateway uses it (two real processes count
hops into one directory; a scrape of a gateway reading that directory adds them up),
then the real thing: `alafia serve --workers 2`, hops until both processes have
answered some, and every scrape, whichever process answers it, counts them all."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from gateway.metrics import processes
from gateway.metrics.exposition import exposition
from gateway.settings import Settings
from tests.metrics.scraping import BEARER, TOKEN, Scrape
from tests.metrics.test_metrics import with_token
from tests.support.http_server import free_port

COUNTING = """
import sys
from gateway.metrics import events
for _ in range(int(sys.argv[1])):
    events.hop_answered("enrol", "answered", 0.03)
events.locked_out(events.AGENT)
"""


def count_in_a_process(directory: Path, hops: int) -> None:
    environ = {**os.environ, processes.VARIABLE: str(directory)}
    subprocess.run([sys.executable, "-c", COUNTING, str(hops)], env=environ, check=True)


def test_two_processes_counting_are_added_up(tmp_path: Path) -> None:
    count_in_a_process(tmp_path, 3)
    count_in_a_process(tmp_path, 4)
    scrape = Scrape.parse(exposition([], tmp_path).decode())
    assert scrape.value("alafia_ussd_hops_total", journey="enrol", result="answered") == 7
    assert scrape.value("alafia_ussd_hop_seconds_count", journey="enrol") == 7
    assert scrape.value("alafia_ussd_hop_seconds_bucket", journey="enrol", le="0.05") == 7
    assert scrape.value("alafia_ussd_hop_seconds_bucket", journey="enrol", le="0.025") == 0
    assert scrape.value("alafia_lockouts_total", account="agent") == 2


async def test_a_gateway_reading_the_shared_directory_answers_with_the_sum(
    settings: Settings, clean: None, tmp_path: Path
) -> None:
    from gateway.app import create_app

    count_in_a_process(tmp_path, 5)
    count_in_a_process(tmp_path, 6)
    app = create_app(with_token(settings, shared_directory=tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            response = await http.get("/metrics", headers=BEARER)
    scrape = Scrape.parse(response.text)
    assert scrape.value("alafia_ussd_hops_total", journey="enrol", result="answered") == 11
    assert scrape.value("alafia_lockouts_total", account="agent") == 2
    assert scrape.value("alafia_state_read_ok") == 1  # and the state, read at scrape time


def test_the_shared_directory_is_fresh_for_each_server_and_removed_after() -> None:
    assert processes.VARIABLE not in os.environ
    with processes.shared_by_workers() as first:
        assert os.environ[processes.VARIABLE] == str(first) and first.is_dir()
        (first / "counter_1.db").write_bytes(b"")
    assert not first.exists() and processes.VARIABLE not in os.environ
    with processes.shared_by_workers() as second:
        assert list(second.iterdir()) == []


# -- alafia serve --workers 2 ----------------------------------------------------------

USSD_TOKEN = "ussd-token-for-the-metrics-tests"
MAX_HOPS = 400  # far more than two processes sharing a socket need to both take some


@pytest.fixture
def server(
    database_url: str, redis_url: str, clean: None, tmp_path: Path
) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """`alafia serve --workers 2` as an operator starts it; its temporary files (the
    counters' directory) in a directory of the test's own."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    port = free_port()
    environ = {
        **{k: v for k, v in os.environ.items() if k != processes.VARIABLE},
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ALAFIA_DATA_DIR": str(tmp_path / "data"),
        "METRICS_TOKEN": TOKEN,
        "USSD_CALLBACK_TOKEN": USSD_TOKEN,
        "FHIR_CANONICAL_BASE": "https://fhir.example.org",
        "AT_CALLBACK_TOKEN": "at-token-for-the-metrics-tests",
        "TMPDIR": str(temporary),
    }
    command = [sys.executable, "-m", "gateway", "serve", "--workers", "2", "--port", str(port)]
    process = subprocess.Popen(command, env=environ)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base, temporary, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180  # two processes start on a busy machine
    while time.monotonic() < deadline:
        assert process.poll() is None, "alafia serve stopped"
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("alafia serve did not start")


def _hops_by_process(directory: Path) -> dict[str, float]:
    """Each process's own count of hops, from its own file."""
    found: dict[str, float] = {}
    for path in directory.glob("counter_*.db"):
        alone = directory.parent / f"alone-{path.stem}"
        alone.mkdir(exist_ok=True)
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        pid = path.stem.rsplit("_", 1)[1]
        found[pid] = sum(
            sample.value
            for family in registry.collect()
            for sample in family.samples
            if sample.name == "alafia_ussd_hops_total"
        )
        shutil.rmtree(alone)
    return found


def _scrape(base: str) -> Scrape:
    # A connection each, so that the processes take turns as the kernel hands them out.
    response = httpx.get(f"{base}/metrics", headers={**BEARER, "Connection": "close"})
    assert response.status_code == 200, response.text
    return Scrape.parse(response.text)


def test_serve_with_two_workers_adds_up_both(
    server: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    base, temporary, process = server
    [directory] = list(temporary.glob("alafia-metrics-*"))
    hops = 0
    while hops < MAX_HOPS:
        response = httpx.post(
            f"{base}/ussd?token={USSD_TOKEN}",
            data={
                "sessionId": f"ATUid_metrics_{hops}",
                "phoneNumber": f"+22901970{hops % 1000:05d}",
                "serviceCode": "*384*22#",
                "text": "",
            },
            headers={"Connection": "close"},
        )
        assert response.status_code == 200 and response.text.startswith("CON ")
        hops += 1
        by_process = _hops_by_process(directory)
        if len(by_process) == 2 and all(by_process.values()):
            break
    assert len(by_process) == 2 and all(by_process.values()), by_process
    assert sum(by_process.values()) == hops
    for _ in range(8):  # whichever process answers, the same sum
        assert _scrape(base).total("alafia_ussd_hops_total") == hops
        assert _scrape(base).total("alafia_ussd_hop_seconds_count") == hops

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert not directory.exists()  # the next server starts from nothing
