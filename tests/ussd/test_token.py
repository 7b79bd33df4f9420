"""With USSD_CALLBACK_TOKEN set, /ussd answers only requests that carry it: without it,
anyone who can reach the gateway could claim any phone number, an agent's included."""

from __future__ import annotations

from dataclasses import replace

import httpx
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import Clock

HOP = {
    "sessionId": "ATUid_token_1",
    "serviceCode": "*384*22#",
    "phoneNumber": "+2290197000901",
    "networkCode": "61603",
    "text": "",
}


async def test_the_ussd_callback_needs_its_token_when_one_is_set(
    settings: Settings, clock: Clock, clean: None
) -> None:
    app: Starlette = create_app(replace(settings, ussd_callback_token="s3cret-t0ken"), clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
            for url in ("/ussd", "/ussd?token=wrong"):
                refused = await http.post(url, data=HOP)
                assert refused.status_code == 403 and refused.text.startswith("END ")
            answered = await http.post("/ussd?token=s3cret-t0ken", data=HOP)
            assert answered.status_code == 200 and answered.text.startswith("CON ")
