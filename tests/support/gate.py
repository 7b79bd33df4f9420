"""A gate in front of a protocol peer: the first request that matches is held, before the
peer sees it or after the peer did its work (its answer held back), until the test lets it
go. `held` is set the moment it is held, so a test kills the caller while the call is in
flight, at a point it chose, without sleeping."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

HOLD_LIMIT = 60.0  # seconds; a forgotten release() must not hold the test server forever

Matches = Callable[[str, str, bytes], bool]  # method, path, body


class Gate:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.held = threading.Event()
        self._released = threading.Event()
        self._matches: Matches | None = None
        self._after = False
        self._lock = threading.Lock()

    def hold_next(self, matches: Matches, *, after: bool) -> None:
        """Hold the next request that `matches`; with `after`, once the peer has done it."""
        with self._lock:
            self._matches, self._after = matches, after
        self.held.clear()
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self._matches is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        with self._lock:
            matches = self._matches
            hold = matches is not None and matches(scope["method"], scope["path"], body)
            if hold:
                self._matches = None  # once
            after = self._after
        replay = _replay(body)
        if not hold:
            await self.app(scope, replay, send)
            return
        if after:

            async def swallow(message: dict[str, Any]) -> None:
                return None  # the peer's answer never leaves

            await self.app(scope, replay, swallow)
        self.held.set()
        await asyncio.to_thread(self._released.wait, HOLD_LIMIT)
        # The caller is gone by now; whatever is sent goes nowhere.
        await send({"type": "http.response.start", "status": 504, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _read_body(receive: Any) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Any:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # nothing more: as a client that keeps the line open
        return {"type": "http.disconnect"}

    return receive
