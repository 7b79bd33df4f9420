"""A real Redis Cluster and a real Sentinel for the tests of this folder, each started
once per test session from the machine's `redis-server` (tests/support/redis_topologies.py).

Where the machine has no `redis-server`/`redis-cli` these tests skip, saying so; in CI
(ALAFIA_REQUIRE_REDIS_TOPOLOGIES=1, set by .ci/run) a skip fails the run instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import Clock
from tests.support import redis_topologies


def _needs_binaries() -> None:
    if redis_topologies.binaries() is None:
        pytest.skip("no redis-server and redis-cli on this machine (apt-get install redis-server)")


@pytest.fixture(scope="session")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _needs_binaries()
    with redis_topologies.cluster(tmp_path_factory.mktemp("redis-cluster")) as url:
        yield url


@pytest.fixture(scope="session")
def sentinel_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _needs_binaries()
    with redis_topologies.sentinel(tmp_path_factory.mktemp("redis-sentinel")) as url:
        yield url


@dataclass
class Topology:
    """The gateway on one kind of Redis: its settings, app, HTTP client and day."""

    settings: Settings
    app: Starlette
    client: httpx.AsyncClient
    clock: Clock


async def _gateway(settings: Settings, url: str) -> AsyncIterator[Topology]:
    on_it = dataclasses.replace(settings, redis_url=url)
    clock = Clock()
    app = create_app(on_it, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield Topology(on_it, app, http, clock)


@pytest.fixture(scope="session")
async def cluster_gateway(settings: Settings, cluster_url: str) -> AsyncIterator[Topology]:
    async for topology in _gateway(settings, cluster_url):
        yield topology


@pytest.fixture(scope="session")
async def sentinel_gateway(settings: Settings, sentinel_url: str) -> AsyncIterator[Topology]:
    async for topology in _gateway(settings, sentinel_url):
        yield topology


@pytest.fixture
def on_cluster(cluster_gateway: Topology, cluster_url: str, clean: None) -> Topology:
    """The cluster gateway, with the database and the cluster emptied, its day reset."""
    redis_topologies.flush_cluster(cluster_url)
    cluster_gateway.clock.day = Clock().day
    return cluster_gateway


@pytest.fixture
def on_sentinel(sentinel_gateway: Topology, sentinel_url: str, clean: None) -> Topology:
    redis_topologies.flush_sentinel(sentinel_url)
    sentinel_gateway.clock.day = Clock().day
    return sentinel_gateway
