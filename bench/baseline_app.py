"""The floor the gateway is measured against: the least a USSD endpoint can do.

One POST endpoint that parses the Africa's Talking form and makes ONE pipelined Redis
round trip (read the session, store it again with a TTL), then answers `CON ...`.
Anything the gateway does beyond this (menus, the session's compare-and-set, the
database) is what the benchmark ratios price.

Run it on its own with `python bench/baseline_app.py --port 8001`; REDIS_URL says
which Redis (unix:// or redis://).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

from redis.asyncio import BlockingConnectionPool, Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

SESSION_TTL = 180  # seconds, the gateway's default USSD_SESSION_TTL
MAX_BODY = 8192
# A prefix of its own so a shared Redis never mixes these keys with the gateway's.
KEY_PREFIX = "bench:baseline:"


async def ussd(request: Request) -> Response:
    body = await request.body()
    fields = dict(parse_qsl(body[:MAX_BODY].decode("utf-8", "replace"), keep_blank_values=True))
    session_id = fields.get("sessionId", "")
    text = fields.get("text", "")
    # Read in the form like the gateway does, though the floor has no use for them.
    _ = fields.get("serviceCode", ""), fields.get("phoneNumber", ""), fields.get("networkCode", "")
    redis: Redis = request.app.state.redis
    key = KEY_PREFIX + session_id
    # GET + SET in one pipeline: one round trip, the least a session store costs.
    async with redis.pipeline(transaction=False) as pipe:
        pipe.get(key)
        pipe.set(key, text, ex=SESSION_TTL)
        previous, _ok = await pipe.execute()
    hops = 1 if previous is None else len(text.split("*")) + 1
    return PlainTextResponse(f"CON Baseline, hop {hops}\n1. Continue")


def create_app() -> Starlette:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    max_connections = int(os.environ.get("REDIS_MAX_CONNECTIONS", "64"))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Created once: per-request pools or connections would be the thing measured.
        # Blocking, so a burst waits for a connection instead of failing.
        pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=2.0)
        app.state.redis = Redis(connection_pool=pool)
        try:
            yield
        finally:
            await app.state.redis.aclose()
            await pool.disconnect()

    return Starlette(routes=[Route("/ussd", ussd, methods=["POST"])], lifespan=lifespan)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    # Same server settings as `alafia serve` (one process, uvloop/httptools when
    # installed, or --workers of them), minus the access log: the floor does nothing it
    # does not have to.
    # An import string: uvicorn's worker processes import the app themselves.
    uvicorn.run(
        "baseline_app:create_app",
        factory=True,
        app_dir=os.path.dirname(os.path.abspath(__file__)),
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
