"""One request through the gateway's own ASGI application, in this process: the
simulator hands `/ussd` and `/voice` the very form Africa's Talking would post, with the
callback's secret added here, where the browser never sees it.

Not over HTTP: nothing leaves the process, no client library logs the URL with its token,
and every middleware and guard of the real callback runs as for the aggregator.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.types import ASGIApp, Message

log = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str
    refused: str | None  # the callback guard's reason (`X-Refused`), when it gave one


async def post_form(
    app: ASGIApp,
    path: str,
    form: Mapping[str, str],
    *,
    token: str | None,
    client: tuple[str, int],
    host: str,
) -> Answer:
    """POST `form` to `path` as a callback would; `token` goes in the query string as
    in the callback URL the aggregator is given."""
    body = urlencode(form).encode()
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode({"token": token}).encode() if token else b"",
        "root_path": "",
        "headers": [
            (b"host", host.encode("latin-1")),
            (b"content-type", FORM.encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": client,
        "server": ("simulator", 80),
        "state": {},
    }
    sent = False
    status, headers, chunks = 500, [], []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    try:
        await app(scope, receive, send)
    except Exception:
        # Starlette has answered 500 and raises again for the server to log: logged here,
        # where the server would have, and the 500 goes back to the page.
        log.exception("the callback %s failed for the simulator", path)
        if not chunks:
            status, headers, chunks = 500, [], [b"Internal Server Error"]
    named = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in headers}
    return Answer(
        status,
        b"".join(chunks),
        named.get("content-type", "text/plain"),
        named.get("x-refused"),
    )
