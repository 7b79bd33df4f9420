"""The gateway with Redis or its database out of reach (an address nothing listens on),
for the tests of what a phone, a caller or /readyz then gets."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from tests.support.http_server import free_port


async def _client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http,
    ):
        yield http


@pytest.fixture
async def without_redis(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    dead = dataclasses.replace(
        settings, redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_timeout=0.5
    )
    async for http in _client_for(dead):
        yield http


@pytest.fixture
async def without_database(settings: Settings, clean: None) -> AsyncIterator[httpx.AsyncClient]:
    dead = dataclasses.replace(
        settings, database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    )
    async for http in _client_for(dead):
        yield http
