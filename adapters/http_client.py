"""What every HTTP adapter does with its client: hold one for its lifetime, close it if
it opened it, and work as an `async with` block."""

from __future__ import annotations

import functools
import ssl
from typing import Any, Self

import httpx


@functools.cache
def default_tls() -> ssl.SSLContext:
    """httpx's default verification (its CA bundle), made once per process and shared by
    every client: making one loads the whole bundle (~50 ms of CPU), which each adapter's
    client paid at every start."""
    return httpx.create_ssl_context()


class HttpAdapter:
    def __init__(self, client: httpx.AsyncClient | None = None, **client_options: Any) -> None:
        # One client per adapter, made once: connections are pooled across calls.
        self._owns_client = client is None  # a client handed in belongs to whoever made it
        self._client = client or httpx.AsyncClient(**{"verify": default_tls(), **client_options})

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
