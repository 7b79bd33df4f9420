"""Every request body capped before any handler reads it.

A pure ASGI middleware, so it sees the body as the server streams it: a declared
`Content-Length` above the cap is refused before a byte is read, and a chunked body (no
length) is counted as it arrives and refused at the first byte past the cap. Either way
the handler never holds more than the cap in memory, and the client gets a 413 saying
what the cap is. A route that takes bigger files (the household CSV import) has its own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    """Raised inside the handler's `receive` when a streamed body passes the cap."""


# The refusal in a route's own format: the cap -> (content type, body).
Refusal = Callable[[int], tuple[bytes, bytes]]


def _json_refusal(cap: int) -> tuple[bytes, bytes]:
    body = json.dumps({"error": f"request body too large: at most {cap} bytes"})
    return b"application/json", body.encode()


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        default: int,
        larger: Sequence[tuple[str, int]] = (),
        formats: Sequence[tuple[str, Refusal]] = (),
    ) -> None:
        self.app = app
        self.default = default
        self.larger = tuple(larger)  # (path prefix, cap) for the routes that take files
        # (path prefix, refusal) for routes whose clients expect another format (FHIR).
        self.formats = tuple(formats)

    def refusal_for(self, path: str) -> Refusal:
        for prefix, refusal in self.formats:
            if path.startswith(prefix):
                return refusal
        return _json_refusal

    def cap_for(self, path: str) -> int:
        for prefix, cap in self.larger:
            if path.startswith(prefix):
                return cap
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            log.warning("body refused: declares %d bytes, cap %d", declared, cap)
            await _too_large(send, cap, self.refusal_for(scope["path"]))
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            log.warning("body refused: more than %d bytes streamed", cap)
            if not started:
                await _too_large(send, cap, self.refusal_for(scope["path"]))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, cap: int, refusal: Refusal) -> None:
    content_type, body = refusal(cap)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
