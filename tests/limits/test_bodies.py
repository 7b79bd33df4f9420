"""Bodies are capped before any handler reads them (413 with a reason), with or without a
Content-Length, and what a stranger makes us store is cut to a bounded size."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.limits.bodies import BodyLimit
from gateway.limits.stored import STORED_BODY_BYTES
from gateway.settings import Settings
from tests.support.paying import paying_gateway

CAP = 64 * 1024


class Chunks:
    """A body streamed in 1 KiB chunks without a Content-Length; counts what was pulled."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += 1024
            yield b"x" * 1024


async def test_a_body_declared_too_large_is_refused_before_it_is_read(
    client: httpx.AsyncClient,
) -> None:
    body = b"sessionId=s1&phoneNumber=%2B2290197000001&text=" + b"1" * CAP
    response = await client.post(
        "/ussd", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413
    assert response.json() == {"error": f"request body too large: at most {CAP} bytes"}


async def test_a_streamed_body_without_length_is_cut_at_the_cap(
    client: httpx.AsyncClient,
) -> None:
    # 60 MB, as the attack did: the gateway stops pulling a little past 64 KiB.
    chunks = Chunks(60 * 1024 * 1024)
    response = await client.post("/ussd", content=chunks)
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert "at most 65536 bytes" in response.json()["error"]
    assert chunks.sent <= CAP + 2 * 1024


async def test_every_route_is_capped_an_sms_callback_too(client: httpx.AsyncClient) -> None:
    chunks = Chunks(1024 * 1024)
    response = await client.post(
        "/sms/inbound",
        content=chunks,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert chunks.sent <= CAP + 2 * 1024


async def test_a_body_under_the_cap_is_read_as_before(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/ussd",
        data={"sessionId": "s-small", "phoneNumber": "+2290197000001", "text": ""},
    )
    assert response.status_code == 200 and response.text.startswith("CON ")


async def _echo(request: Request) -> Response:
    return JSONResponse({"read": len(await request.body())})


@pytest.mark.parametrize("declared", [True, False])
async def test_the_import_route_has_its_own_larger_cap(declared: bool) -> None:
    # Placed as gateway.app places it: inside Starlette's error handler.
    app = Starlette(
        routes=[
            Route("/admin/import/households", _echo, methods=["POST"]),
            Route("/other", _echo, methods=["POST"]),
        ],
        middleware=[Middleware(BodyLimit, default=1024, larger=[("/admin/import", 8 * 1024)])],
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:

        def body(size: int) -> bytes | Chunks:
            return b"x" * size if declared else Chunks(size)

        assert (await http.post("/admin/import/households", content=body(6 * 1024))).json() == {
            "read": 6 * 1024
        }
        assert (
            await http.post("/admin/import/households", content=body(9 * 1024))
        ).status_code == 413
        assert (await http.post("/other", content=body(2 * 1024))).status_code == 413
        assert (await http.post("/other", content=body(1024))).json() == {"read": 1024}


async def test_a_callback_for_an_unknown_reference_is_stored_truncated(
    client: httpx.AsyncClient, db: Session
) -> None:
    body = b'{"status": "SUCCESSFUL", "padding": "' + b"A" * 60_000 + b'"}'
    reference = "3f2b8c1e-9d4a-4f6b-8a51-2c7d9e0f1a23"
    response = await client.put(f"/payments/momo/callback/{reference}", content=body)
    assert response.status_code == 404
    (stored,) = db.execute(text("SELECT body FROM payment_notices")).scalars().all()
    assert len(stored.encode()) < STORED_BODY_BYTES + 100
    assert stored.startswith('{"status": "SUCCESSFUL"')
    assert stored.endswith(f"[truncated: {len(body)} bytes received, first 8192 kept]")


async def test_a_webhook_with_a_bad_signature_is_stored_truncated(
    settings: Settings, clean: None, db: Session
) -> None:
    body = b'{"name": "transaction.approved", "pad": "' + b"B" * 50_000 + b'"}'
    at = int(time.time())
    forged = hmac.new(b"not-our-secret", f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    environ = {
        "FEDAPAY_BASE_URL": "http://127.0.0.1:9",  # never called: the signature is refused
        "FEDAPAY_SECRET_KEY": "sk_sandbox_x",
        "FEDAPAY_WEBHOOK_SECRET": "whsec_current",
    }
    async with paying_gateway(settings, "fedapay", environ) as (_, http, _):
        response = await http.post(
            "/payments/fedapay/webhook",
            content=body,
            headers={"X-FEDAPAY-SIGNATURE": f"t={at},s={forged}"},
        )
    assert response.status_code == 401
    (stored,) = db.execute(text("SELECT body FROM payment_notices")).scalars().all()
    assert len(stored.encode()) < STORED_BODY_BYTES + 100
    assert "[truncated: " in stored
