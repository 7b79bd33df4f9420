"""One bearer token per adapter, renewed before it expires or when the register refuses it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.register.transport import send


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # Unix time, as the register announced it


class TokenCache:
    """Holds the current token and fetches a new one when needed.

    Renewal happens a margin before the announced expiry, because the register's clock and
    ours differ and a request takes time to arrive. A 401 still means renewal: the register
    may have restarted or revoked the token early.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[AccessToken]],
        *,
        margin_seconds: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self._margin = margin_seconds
        self._clock = clock
        self._token: AccessToken | None = None
        # One login at a time: a burst of pushes after expiry must not log in a hundred times.
        self._lock = asyncio.Lock()

    async def current(self) -> str:
        token = self._token
        if token is None or self._stale(token):
            async with self._lock:
                token = self._token
                if token is None or self._stale(token):
                    token = self._token = await self._fetch()
        return token.value

    def refused(self, value: str) -> None:
        """The register answered 401 to ``value``: drop it, unless a newer one replaced it."""
        if self._token is not None and self._token.value == value:
            self._token = None

    def _stale(self, token: AccessToken) -> bool:
        return self._clock() >= token.expires_at - self._margin


async def send_authorized(
    client: httpx.AsyncClient, tokens: TokenCache, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """Send with the current bearer token; on a 401, renew the token and try once more.

    A second 401 is returned as is: the caller's status check reports it as a credentials
    problem.
    """
    token = await tokens.current()
    response = await send(client, method, url, headers=_bearer(token), **kwargs)
    if response.status_code == 401:
        tokens.refused(token)
        token = await tokens.current()
        response = await send(client, method, url, headers=_bearer(token), **kwargs)
    return response


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
