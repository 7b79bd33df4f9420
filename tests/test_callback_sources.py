"""CALLBACK_ALLOW_NETWORKS: Africa's Talking's callbacks are accepted only from the listed
networks, checked on the peer address, whatever the tokens; with it set, a token still has
to be right wherever one is configured. Through a real uvicorn with proxy headers, the peer
is the client a trusted proxy names, never one a stranger names."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.callback_guard import WRONG_SOURCE, WRONG_TOKEN, CallbackGuard
from gateway.settings import Settings
from tests.conftest import TODAY, Clock
from tests.sms.test_reports import CALLBACKS as SMS_CALLBACKS
from tests.stats.test_session_ends import notice
from tests.support.http_server import free_port

USSD_TOKEN = "ussd-Hk3v9Qz0pLm2Xr7w"
AT_TOKEN = "at-Yb6Tn1Wq8Jd4Ks0e"
NETWORKS = (ipaddress.ip_network("196.201.214.0/24"), ipaddress.ip_network("2001:db8::/32"))
HOP = {
    "sessionId": "ATUid_sources_1",
    "serviceCode": "*384*22#",
    "phoneNumber": "+2290197000902",
    "networkCode": "61603",
    "text": "",
}
CALL = {
    "isActive": "1",
    "sessionId": "ATVId_sources_1",
    "direction": "Inbound",
    "callerNumber": "+2290197000903",
    "destinationNumber": "+22921000000",
}
# route -> (form, token it carries)
ROUTES: dict[str, tuple[dict[str, str], str]] = {
    "/ussd": (HOP, USSD_TOKEN),
    "/voice": (CALL, AT_TOKEN),
    "/ussd/events": (notice("ATUid_sources_end"), AT_TOKEN),
    **{route: (form, AT_TOKEN) for route, form in SMS_CALLBACKS},
}
INSIDE = ["196.201.214.7", "::ffff:196.201.214.8", "2001:db8::25"]
OUTSIDE = ["196.201.215.7", "127.0.0.1", "2001:db9::1", "testclient"]


async def _app(settings: Settings, at_token: str | None) -> Starlette:
    guarded = dataclasses.replace(
        settings,
        ussd_callback_token=USSD_TOKEN,
        callback_networks=NETWORKS,
        sms=dataclasses.replace(settings.sms, callback_token=at_token),
    )
    return create_app(guarded, Clock(TODAY))


@pytest.fixture(scope="module")
async def allow_listed(settings: Settings) -> AsyncIterator[Starlette]:
    """Both tokens and the allow-list."""
    app = await _app(settings, AT_TOKEN)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="module")
async def allow_list_only(settings: Settings) -> AsyncIterator[Starlette]:
    """The allow-list instead of AT_CALLBACK_TOKEN (the USSD token is always required)."""
    app = await _app(settings, None)
    async with app.router.lifespan_context(app):
        yield app


async def post(app: Starlette, source: str, route: str, token: str | None) -> httpx.Response:
    form, _ = ROUTES[route]
    transport = httpx.ASGITransport(app=app, client=(source, 41_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        query = "" if token is None else f"?token={token}"
        return await http.post(route + query, data=form)


def refused_for(response: httpx.Response, reason: str) -> bool:
    if response.request.url.path == "/ussd":  # a phone's screen, the reason in a header
        return (
            response.status_code == 403
            and response.text.startswith("END ")
            and response.headers["x-refused"] == reason
        )
    expected = 403 if reason == WRONG_SOURCE else 401
    if response.request.url.path == "/voice":  # a caller hears a sentence, the reason in a header
        return (
            response.status_code == expected
            and response.headers["content-type"].startswith("application/xml")
            and response.headers["x-refused"] == reason
        )
    return response.status_code == expected and response.json() == {"error": reason}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("source", INSIDE)
async def test_the_allow_list_admits_its_networks(
    allow_listed: Starlette, clean: None, route: str, source: str
) -> None:
    response = await post(allow_listed, source, route, ROUTES[route][1])

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("source", OUTSIDE)
async def test_the_allow_list_refuses_any_other_source_even_with_the_token(
    allow_listed: Starlette, clean: None, route: str, source: str
) -> None:
    response = await post(allow_listed, source, route, ROUTES[route][1])

    assert refused_for(response, WRONG_SOURCE), (response.status_code, response.text)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("token", [None, "", "wrong-token-of-the-right-length"])
async def test_a_listed_source_still_needs_the_right_token(
    allow_listed: Starlette, clean: None, route: str, token: str | None
) -> None:
    response = await post(allow_listed, INSIDE[0], route, token)

    assert refused_for(response, WRONG_TOKEN), (response.status_code, response.text)
    assert AT_TOKEN not in response.text and USSD_TOKEN not in response.text


def test_the_guard_keeps_its_token_out_of_its_repr() -> None:
    guard = CallbackGuard(AT_TOKEN, NETWORKS)

    assert AT_TOKEN not in repr(guard) and "196.201.214.0/24" in repr(guard)


@pytest.mark.parametrize("route", [r for r in ROUTES if r != "/ussd"])
async def test_the_allow_list_alone_guards_the_sms_and_session_end_callbacks(
    allow_list_only: Starlette, clean: None, route: str
) -> None:
    admitted = await post(allow_list_only, INSIDE[0], route, None)
    refused = await post(allow_list_only, OUTSIDE[0], route, None)

    assert admitted.status_code == 200, admitted.text
    assert refused_for(refused, WRONG_SOURCE)


async def through_uvicorn(app: Starlette, trusted: str, headers: dict[str, str]) -> httpx.Response:
    """An opt-out posted over real HTTP to uvicorn configured as `alafia serve` runs it
    (proxy headers on), trusting the proxies `trusted` names."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            proxy_headers=True,
            forwarded_allow_ips=trusted,
            lifespan="off",  # the app's own lifespan already runs (the module fixture)
            log_level="warning",
            log_config=None,  # as `alafia serve`: its lines go through the root's masking
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "uvicorn did not start"
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            return await http.post("/sms/optout", data=ROUTES["/sms/optout"][0], headers=headers)
    finally:
        server.should_exit = True
        await serving


@pytest.mark.parametrize(
    ("forwarded_for", "admitted"),
    [("196.201.214.7", True), ("203.0.113.5", False), (None, False)],
)
async def test_behind_a_trusted_proxy_the_source_is_the_client_it_names(
    allow_list_only: Starlette, clean: None, forwarded_for: str | None, admitted: bool
) -> None:
    """A proxy on this machine (127.0.0.1, uvicorn's default trust) names the client in
    X-Forwarded-For; without the header the source is the proxy itself, not listed."""
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    response = await through_uvicorn(allow_list_only, "127.0.0.1", headers)

    assert response.status_code == (200 if admitted else 403), response.text


async def test_a_peer_uvicorn_does_not_trust_cannot_name_an_allowed_source(
    allow_list_only: Starlette, clean: None
) -> None:
    response = await through_uvicorn(
        allow_list_only, "192.0.2.1", {"X-Forwarded-For": "196.201.214.7"}
    )

    assert response.status_code == 403 and response.json() == {"error": WRONG_SOURCE}
