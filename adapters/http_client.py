"""What every HTTP adapter does with its client: hold one for its lifetime, close it if
it opened it, and work as an `async with` block."""

from __future__ import annotations

from typing import Any, Self

import httpx


class HttpAdapter:
    def __init__(self, client: httpx.AsyncClient | None = None, **client_options: Any) -> None:
        # One client per adapter, made once: connections are pooled across calls.
        self._client = client if client is not None else httpx.AsyncClient(**client_options)
        self._owns_client = client is None  # a client handed in belongs to whoever made it

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
