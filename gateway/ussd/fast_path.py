"""POST /ussd answered ahead of the router: every hop of every session comes here, and
Starlette's routing (a dozen route matches), its exception middleware, the body limit's
wrapped receive/send and a Response object cost a hop about as much CPU as its menus.

Only a hop whose declared body fits a hop (`africastalking.MAX_BODY`) is taken; anything
else (no Content-Length, a larger body, another method or path) goes down the usual
stack, so the body limit's 413 and the router's 405 stay theirs. The answer is the
route's own (`Ussd.respond`): same guard, same screens, same headers.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.ussd.africastalking import MAX_BODY
from gateway.ussd.capability import Ussd

PATH = "/ussd"


class UssdFastPath:
    def __init__(self, app: ASGIApp, ussd: Ussd) -> None:
        self.app = app
        self.ussd = ussd

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is None or declared > MAX_BODY:
            await self.app(scope, receive, send)
            return
        body = await _body(receive)
        status, text, headers = await self.ussd.respond(Request(scope), body)
        payload = text.encode()
        raw_headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(payload)).encode()),
            *((name.lower().encode(), value.encode()) for name, value in headers.items()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _body(receive: Receive) -> bytes:
    """The request body; past MAX_BODY the rest is drained but not kept (parse_hop
    refuses a body that long)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away: the hop is still answered, to nobody
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY + 1:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
