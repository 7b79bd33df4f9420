"""A light Africa's Talking messaging API for bench/sms_dispatch.py: it accepts every
valid number and counts what it accepted, so that the benchmark can prove nothing was
sent twice.

    POST /version1/messaging   header apiKey; form username, to (comma-joined), message,
                               from, bulkSMSMode  (what the official SDK sends)
    -> 201 {"SMSMessageData": {"Message": "Sent to 2/2 Total Cost: XOF 50.0000",
            "Recipients": [{"statusCode": 101, "number": "+229...", "status": "Success",
                            "cost": "XOF 25.0000", "messageId": "ATXid_..."}, ...]}}
    GET  /stats    {"calls", "accepted", "distinct", "duplicates", "extra_copies", ...}
    POST /reset    the same figures, then forgets everything (between two measurements)

The wire format is tests/peers/at_sms.py's (itself AT's), but this is a bare ASGI app,
with no framework, no form parser and no lock (one event loop, no await while counting):
the server must cost the shared CPUs as little as it can, and it runs in its own process
(uvicorn, one worker, uvloop/httptools when installed, no access log). A wrong username
or apiKey gets AT's 401 with a text body; a number AT would refuse gets statusCode 403
InvalidPhoneNumber (then the benchmark sees a message that did not leave).

`duplicates` counts (number, text) pairs accepted more than once; `extra_copies` the
surplus copies. Every messageId is unique within the server's life.

    AT_SMS_USERNAME=bench AT_SMS_API_KEY=key python bench/at_sms_server.py --port 8003
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PRICE = "XOF 25.0000"  # one GSM-7 segment; the benchmark's texts are all one segment
# What AT itself refuses as InvalidPhoneNumber: not "+", country code, 8 to 15 digits.
_VALID_NUMBER = re.compile(r"\+[1-9]\d{7,14}", re.ASCII)
_JSON = [(b"content-type", b"application/json")]  # exactly: the SDK parses only this
_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]


class AtSmsServer:
    def __init__(self, username: str, api_key: str) -> None:
        self.username = username
        self.api_key = api_key.encode()
        self.run_id = uuid.uuid4().hex[:8]  # messageIds stay unique across a reset
        self.sequence = itertools.count(1)
        self._forget()

    def _forget(self) -> None:
        self.seen: Counter[tuple[str, str]] = Counter()
        self.calls = 0
        self.accepted = 0
        self.refused = 0
        self.unauthorised = 0
        self.bad_requests = 0

    def stats(self) -> dict[str, Any]:
        extra = sum(n - 1 for n in self.seen.values() if n > 1)
        return {
            "calls": self.calls,
            "accepted": self.accepted,
            "distinct": len(self.seen),
            "duplicates": sum(1 for n in self.seen.values() if n > 1),
            "extra_copies": extra,
            "refused": self.refused,
            "unauthorised": self.unauthorised,
            "bad_requests": self.bad_requests,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/version1/messaging" and method == "POST":
            status, headers, body = self.messaging(scope, await _body(receive))
        elif path == "/stats" and method == "GET":
            status, headers, body = 200, _JSON, json.dumps(self.stats()).encode()
        elif path == "/reset" and method == "POST":
            await _body(receive)
            figures = self.stats()
            self._forget()
            status, headers, body = 200, _JSON, json.dumps(figures).encode()
        else:
            status, headers, body = 404, _TEXT, b"Not Found"
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def messaging(self, scope: Scope, raw: bytes) -> tuple[int, list[Any], bytes]:
        self.calls += 1
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        api_key = next((v for k, v in scope["headers"] if k == b"apikey"), None)
        if api_key != self.api_key or form.get("username") != self.username:
            self.unauthorised += 1
            return 401, _TEXT, b"The supplied authentication is invalid"
        text, to = form.get("message"), form.get("to")
        if not text or not to:
            self.bad_requests += 1
            field = "message" if not text else "to"
            return 400, _TEXT, f"Request is missing required form field '{field}'".encode()
        recipients = []
        for number in (n.strip() for n in to.split(",")):
            if _VALID_NUMBER.fullmatch(number):
                self.seen[(number, text)] += 1
                self.accepted += 1
                recipients.append(
                    {
                        "statusCode": 101,
                        "number": number,
                        "status": "Success",
                        "cost": PRICE,
                        "messageId": f"ATXid_{self.run_id}_{next(self.sequence)}",
                    }
                )
            else:
                self.refused += 1
                recipients.append(
                    {
                        "statusCode": 403,
                        "number": number,
                        "status": "InvalidPhoneNumber",
                        "cost": "0",
                        "messageId": "None",
                    }
                )
        sent = sum(1 for r in recipients if r["statusCode"] == 101)
        body = {
            "SMSMessageData": {
                "Message": f"Sent to {sent}/{len(recipients)} Total Cost: XOF {25 * sent:.4f}",
                "Recipients": recipients,
            }
        }
        return 201, _JSON, json.dumps(body, separators=(",", ":")).encode()


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def create_app() -> AtSmsServer:
    return AtSmsServer(
        os.environ.get("AT_SMS_USERNAME", "bench"), os.environ.get("AT_SMS_API_KEY", "key")
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8003)
    args = parser.parse_args()
    uvicorn.run(
        create_app,
        factory=True,
        host=args.host,
        port=args.port,
        workers=1,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
