"""The demo's MoMo sandbox, driven over real HTTP by the production MoMo adapter.

The sandbox and a small callback receiver each run on their own loopback port; the adapter
is `MomoCollection` exactly as production builds it, only its base URL differs.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID, uuid1, uuid4

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from adapters.payments import (
    DuplicateReference,
    FailureReason,
    MomoCollection,
    MomoSettings,
    PaymentNotFound,
    PaymentRequest,
    PaymentState,
    ProviderMisconfigured,
    parse_callback,
)
from gateway.payments.sandbox import DEFAULT_OUTCOMES, MomoSandbox, sandbox_app
from tests.support.http_server import free_port, serve

T = TypeVar("T")

PAYER = "+2290197123456"  # not a demo number: succeeds
DEADLINE = 10.0  # seconds; generous, only reached when something is broken
CALLBACK_PATH = "/payments/momo/callback/"
STATUS_KEYS = ["amount", "currency", "externalId", "payer", "payerMessage", "payeeNote", "status"]


# -- a receiver for the sandbox's callbacks ---------------------------------------------------


@dataclass(frozen=True)
class Callback:
    method: str
    reference: str  # from the path: MTN's body never carries it
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class CallbackRecorder:
    """Records what reaches the gateway's MoMo callback route. Served in its own thread,
    read from the test's: hence the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Callback] = []
        self.app = Starlette(
            routes=[
                Route(CALLBACK_PATH + "{reference}", self._receive, methods=["PUT", "POST"]),
            ]
        )

    def received(self) -> list[Callback]:
        with self._lock:
            return list(self._received)

    def for_reference(self, reference: UUID) -> list[Callback]:
        return [c for c in self.received() if c.reference == str(reference)]

    async def _receive(self, request: Request) -> Response:
        callback = Callback(
            method=request.method,
            reference=request.path_params["reference"],
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
        )
        with self._lock:
            self._received.append(callback)
        return Response(status_code=200)


@pytest.fixture
def recorder() -> CallbackRecorder:
    return CallbackRecorder()


@pytest.fixture
def recorder_url(recorder: CallbackRecorder) -> Iterator[str]:
    with serve(recorder.app) as url:
        yield url


# -- helpers ----------------------------------------------------------------------------------


@dataclass
class Sandbox:
    base_url: str
    state: MomoSandbox
    statuses: list[int]  # status codes of requesttopay answers the adapter received


@contextmanager
def running_sandbox(**options: Any) -> Iterator[Sandbox]:
    app = sandbox_app(**options)
    with serve(app) as base_url:
        yield Sandbox(base_url=base_url, state=app.state.sandbox, statuses=[])


@asynccontextmanager
async def momo_for(sandbox: Sandbox, **overrides: Any) -> AsyncIterator[MomoCollection]:
    """The production adapter, configured as the demo configures it for the sandbox."""

    async def record(response: httpx.Response) -> None:
        if response.request.url.path.endswith("/requesttopay"):
            sandbox.statuses.append(response.status_code)

    values: dict[str, Any] = {
        "base_url": sandbox.base_url,
        "subscription_key": "demo-subscription",
        "api_user": "demo-user",
        "api_key": "demo-key",
        "target_environment": "alafia-sandbox",
        "currency": "XOF",
        "read_timeout": 5.0,
    }
    values.update(overrides)
    async with (
        httpx.AsyncClient(event_hooks={"response": [record]}) as client,
        MomoCollection(MomoSettings(**values), client=client) as momo,
    ):
        yield momo


def payment(
    phone: str = PAYER, *, recorder_url: str | None = None, **overrides: Any
) -> PaymentRequest:
    reference = overrides.pop("reference", uuid4())
    values: dict[str, Any] = {
        "reference": reference,
        "amount": 4725,
        "currency": "XOF",
        "payer_phone": phone,
        "operator": "mtn",
        "description": "Cotisation mutuelle 2026",
        "external_id": "HH-2026-0001",
        "callback_url": None
        if recorder_url is None
        else f"{recorder_url}{CALLBACK_PATH}{reference}",
    }
    values.update(overrides)
    return PaymentRequest(**values)


async def eventually(probe: Callable[[], T], what: str) -> T:
    """Poll `probe` until it returns something truthy, or fail after DEADLINE seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not (result := probe()):
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
    return result


async def token(client: httpx.AsyncClient, base_url: str) -> str:
    response = await client.post(
        base_url + "/collection/token/",
        auth=("demo-user", "demo-key"),
        headers={"Ocp-Apim-Subscription-Key": "demo-subscription"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "access_token"
    assert body["expires_in"] == 3600
    return str(body["access_token"])


def api_headers(bearer: str, reference: str | None = None) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {bearer}",
        "X-Target-Environment": "alafia-sandbox",
        "Ocp-Apim-Subscription-Key": "demo-subscription",
    }
    if reference is not None:
        headers["X-Reference-Id"] = reference
    return headers


def good_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": "4725",
        "currency": "XOF",
        "externalId": "HH-2026-0001",
        "payer": {"partyIdType": "MSISDN", "partyId": "2290197123456"},
        "payerMessage": "Cotisation mutuelle 2026",
        "payeeNote": "HH-2026-0001",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


# -- the payment loop -------------------------------------------------------------------------


async def test_request_is_accepted_at_once_and_pending_until_the_payer_answers(
    recorder: CallbackRecorder, recorder_url: str
) -> None:
    with running_sandbox(callback_delay=60) as sandbox:
        async with momo_for(sandbox) as momo:
            request = payment(recorder_url=recorder_url)

            ack = await momo.request_payment(request)
            status = await momo.fetch_status(request.reference)

        assert ack.reference == request.reference
        assert sandbox.statuses == [202]
        assert status.state is PaymentState.PENDING
        assert status.amount == 4725
        assert status.currency == "XOF"
        assert status.provider_transaction_id is None
        assert status.reason is None
        assert list(status.raw) == STATUS_KEYS
        assert status.raw["payer"] == {"partyIdType": "MSISDN", "partyId": "2290197123456"}
        assert sandbox.state.callbacks_in_flight == 1

    # Shutting the sandbox down cancelled the callback that was still waiting for the payer.
    assert sandbox.state.callbacks_in_flight == 0
    assert recorder.received() == []


async def test_callback_arrives_then_status_confirms_success(
    recorder: CallbackRecorder, recorder_url: str
) -> None:
    with running_sandbox(callback_delay=0.2) as sandbox:
        async with momo_for(sandbox) as momo:
            request = payment(recorder_url=recorder_url)
            await momo.request_payment(request)

            [callback] = await eventually(
                lambda: recorder.for_reference(request.reference), "the callback"
            )
            status = await momo.fetch_status(request.reference)

    body = callback.json()
    assert callback.method == "PUT"
    assert body["status"] == "SUCCESSFUL"
    assert body["amount"] == "4725"
    assert body["currency"] == "XOF"
    assert body["externalId"] == "HH-2026-0001"
    # Like MTN: neither our reference nor a signature, only the status body.
    assert str(request.reference) not in callback.body.decode()
    assert not any("signature" in name for name in callback.headers)
    assert list(body) == [*STATUS_KEYS[:2], "financialTransactionId", *STATUS_KEYS[2:]]
    notice = parse_callback(request.reference, callback.body)
    assert notice.state is PaymentState.SUCCEEDED

    assert status.state is PaymentState.SUCCEEDED
    assert status.amount == 4725
    assert status.currency == "XOF"
    assert status.provider_transaction_id
    assert status.provider_transaction_id == body["financialTransactionId"]
    assert status.reason is None
    assert status.raw == body


async def test_status_turns_final_even_without_a_callback_url() -> None:
    with running_sandbox(callback_delay=0.1) as sandbox:
        async with momo_for(sandbox) as momo:
            request = payment()
            await momo.request_payment(request)

            def settled() -> bool:
                body = sandbox.state.status(str(request.reference))
                return body is not None and body["status"] != "PENDING"

            await eventually(settled, "the payer's answer")
            status = await momo.fetch_status(request.reference)

        assert status.state is PaymentState.SUCCEEDED
        assert sandbox.state.callbacks_in_flight == 0


@pytest.mark.parametrize(
    ("party_id", "code", "reason"),
    [
        ("2290197000009", "NOT_ENOUGH_FUNDS", FailureReason.INSUFFICIENT_FUNDS),
        ("2290197000008", "APPROVAL_REJECTED", FailureReason.PAYER_DECLINED),
        ("2290197000006", "EXPIRED", FailureReason.EXPIRED),
        ("2290197000005", "PAYER_NOT_FOUND", FailureReason.PAYER_NOT_FOUND),
        ("2290197000004", "INTERNAL_PROCESSING_ERROR", FailureReason.PROVIDER_ERROR),
    ],
)
async def test_demo_numbers_fail_with_their_reason(
    recorder: CallbackRecorder,
    recorder_url: str,
    party_id: str,
    code: str,
    reason: FailureReason,
) -> None:
    assert DEFAULT_OUTCOMES[party_id] == ("FAILED", code)
    with running_sandbox(callback_delay=0.05) as sandbox:
        async with momo_for(sandbox) as momo:
            request = payment("+" + party_id, recorder_url=recorder_url)
            await momo.request_payment(request)

            [callback] = await eventually(
                lambda: recorder.for_reference(request.reference), "the callback"
            )
            status = await momo.fetch_status(request.reference)

    assert callback.json()["status"] == "FAILED"
    assert callback.json()["reason"] == code
    assert parse_callback(request.reference, callback.body).reason is reason
    assert status.state is PaymentState.FAILED
    assert status.reason is reason
    assert status.provider_reason == code
    assert status.provider_transaction_id is None
    assert status.amount == 4725


async def test_the_silent_payer_stays_pending_and_is_never_called_back(
    recorder: CallbackRecorder, recorder_url: str
) -> None:
    assert DEFAULT_OUTCOMES["2290197000007"] == ("PENDING", None)
    with running_sandbox(callback_delay=0) as sandbox:
        async with momo_for(sandbox) as momo:
            silent = payment("+2290197000007", recorder_url=recorder_url)
            answered = payment(recorder_url=recorder_url)
            await momo.request_payment(silent)
            await momo.request_payment(answered)

            await eventually(lambda: recorder.for_reference(answered.reference), "the callback")
            await eventually(lambda: sandbox.state.callbacks_in_flight == 0, "no callback left")
            status = await momo.fetch_status(silent.reference)

    assert status.state is PaymentState.PENDING
    assert [c.reference for c in recorder.received()] == [str(answered.reference)]


async def test_outcomes_replace_the_demo_numbers(
    recorder: CallbackRecorder, recorder_url: str
) -> None:
    outcomes = {"2290197111111": ("FAILED", "PAYER_LIMIT_REACHED")}
    with running_sandbox(callback_delay=0, outcomes=outcomes) as sandbox:
        async with momo_for(sandbox) as momo:
            limited = payment("+2290197111111", recorder_url=recorder_url)
            former_demo_number = payment("+2290197000009", recorder_url=recorder_url)
            await momo.request_payment(limited)
            await momo.request_payment(former_demo_number)

            await eventually(lambda: len(recorder.received()) == 2, "both callbacks")
            limited_status = await momo.fetch_status(limited.reference)
            other_status = await momo.fetch_status(former_demo_number.reference)

    assert limited_status.state is PaymentState.FAILED
    assert limited_status.reason is FailureReason.PAYER_LIMIT_REACHED
    assert other_status.state is PaymentState.SUCCEEDED


async def test_mounted_in_the_gateway_it_calls_the_gateway_back(
    recorder: CallbackRecorder,
) -> None:
    # The demo's shape: the sandbox mounted inside the app whose callback route it calls.
    # Starlette does not run a mounted app's lifespan, so the parent closes the sandbox.
    sandbox_asgi = sandbox_app(callback_delay=0.1)
    state: MomoSandbox = sandbox_asgi.state.sandbox

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await state.aclose()

    gateway = Starlette(
        routes=[Mount("/sandbox/momo", app=sandbox_asgi), *recorder.app.routes],
        lifespan=lifespan,
    )
    with serve(gateway) as gateway_url:
        sandbox = Sandbox(base_url=gateway_url + "/sandbox/momo", state=state, statuses=[])
        async with momo_for(sandbox) as momo:
            request = payment(recorder_url=gateway_url)
            await momo.request_payment(request)

            [callback] = await eventually(
                lambda: recorder.for_reference(request.reference), "the callback"
            )
            status = await momo.fetch_status(request.reference)

    assert callback.json()["status"] == "SUCCESSFUL"
    assert status.state is PaymentState.SUCCEEDED
    assert state.callbacks_in_flight == 0


# -- references -------------------------------------------------------------------------------


async def test_a_reused_reference_is_refused_and_the_first_request_kept() -> None:
    with running_sandbox(callback_delay=60) as sandbox:
        async with momo_for(sandbox) as momo:
            first = payment()
            await momo.request_payment(first)

            with pytest.raises(DuplicateReference) as raised:
                await momo.request_payment(payment(reference=first.reference, amount=9999))
            status = await momo.fetch_status(first.reference)

    assert raised.value.reference == first.reference
    assert sandbox.statuses == [202, 409]
    assert status.amount == 4725


async def test_concurrent_requests_with_one_reference_are_accepted_once() -> None:
    with running_sandbox(callback_delay=60) as sandbox:
        async with momo_for(sandbox) as momo:
            request = payment()
            outcomes = await asyncio.gather(
                *(momo.request_payment(request) for _ in range(20)), return_exceptions=True
            )

    accepted = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, DuplicateReference)]
    assert len(accepted) == 1
    assert len(refused) == 19
    assert sorted(sandbox.statuses) == [202] + [409] * 19


async def test_an_unknown_reference_is_not_found() -> None:
    with running_sandbox() as sandbox:
        async with momo_for(sandbox) as momo:
            reference = uuid4()
            with pytest.raises(PaymentNotFound) as raised:
                await momo.fetch_status(reference)

    assert raised.value.reference == reference


async def test_unknown_reference_answers_mtn_error_body() -> None:
    with running_sandbox() as sandbox:
        async with httpx.AsyncClient() as client:
            bearer = await token(client, sandbox.base_url)
            for reference in (str(uuid4()), "not-a-uuid"):
                response = await client.get(
                    f"{sandbox.base_url}/collection/v1_0/requesttopay/{reference}",
                    headers=api_headers(bearer),
                )
                assert response.status_code == 404
                assert response.json()["code"] == "RESOURCE_NOT_FOUND"


# -- what the sandbox refuses -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (good_body(amount=4725), "INVALID_AMOUNT"),
        (good_body(amount="47.25"), "INVALID_AMOUNT"),
        (good_body(amount="0"), "INVALID_AMOUNT"),
        (good_body(amount=None), "INVALID_AMOUNT"),
        (good_body(currency="xof"), "INVALID_CURRENCY"),
        (good_body(payer={"partyIdType": "MSISDN", "partyId": "+2290197123456"}), "INVALID_PAYER"),
        (good_body(payer={"partyIdType": "EMAIL", "partyId": "2290197123456"}), "INVALID_PAYER"),
        (good_body(payer="2290197123456"), "INVALID_PAYER"),
        (good_body(externalId=None), "INVALID_EXTERNAL_ID"),
        (good_body(payerMessage=""), "INVALID_PAYER_MESSAGE"),
        (["not", "an", "object"], "INVALID_JSON"),
    ],
)
async def test_a_malformed_body_is_refused_with_code_and_message(body: Any, code: str) -> None:
    reference = str(uuid4())
    with running_sandbox() as sandbox:
        async with httpx.AsyncClient() as client:
            bearer = await token(client, sandbox.base_url)
            url = sandbox.base_url + "/collection/v1_0/requesttopay"

            refused = await client.post(url, json=body, headers=api_headers(bearer, reference))
            # A refused request did not use the reference up.
            accepted = await client.post(
                url, json=good_body(), headers=api_headers(bearer, reference)
            )

    assert refused.status_code == 400
    assert refused.json()["code"] == code
    assert refused.json()["message"]
    assert accepted.status_code == 202


async def test_a_body_that_is_not_json_is_refused() -> None:
    with running_sandbox() as sandbox:
        async with httpx.AsyncClient() as client:
            bearer = await token(client, sandbox.base_url)
            response = await client.post(
                sandbox.base_url + "/collection/v1_0/requesttopay",
                content=b"amount=4725",
                headers=api_headers(bearer, str(uuid4())),
            )

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_JSON"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"X-Reference-Id": str(uuid1())}, 400, "INVALID_REFERENCE_ID"),
        ({"X-Reference-Id": "42"}, 400, "INVALID_REFERENCE_ID"),
        ({"X-Reference-Id": None}, 400, "INVALID_REFERENCE_ID"),
        ({"X-Target-Environment": None}, 400, "NOT_ALLOWED_TARGET_ENVIRONMENT"),
        ({"X-Callback-Url": "ftp://example.org/x"}, 400, "INVALID_CALLBACK_URL_HOST"),
        ({"Authorization": "Bearer not-one-of-ours"}, 401, None),
        ({"Authorization": None}, 401, None),
        ({"Ocp-Apim-Subscription-Key": None}, 401, None),
    ],
)
async def test_request_headers_are_checked(
    headers: dict[str, str | None], status: int, code: str | None
) -> None:
    with running_sandbox() as sandbox:
        async with httpx.AsyncClient() as client:
            bearer = await token(client, sandbox.base_url)
            sent = api_headers(bearer, str(uuid4()))
            for name, value in headers.items():
                sent.pop(name, None)
                if value is not None:
                    sent[name] = value
            response = await client.post(
                sandbox.base_url + "/collection/v1_0/requesttopay", json=good_body(), headers=sent
            )

    assert response.status_code == status
    if code is not None:
        assert response.json()["code"] == code


@pytest.mark.parametrize(
    ("auth", "subscription_key"),
    [
        (("demo-user", ""), "demo-subscription"),
        (("", "demo-key"), "demo-subscription"),
        (None, "demo-subscription"),
        (("demo-user", "demo-key"), None),
    ],
)
async def test_token_needs_credentials_and_subscription_key(
    auth: tuple[str, str] | None, subscription_key: str | None
) -> None:
    headers = {} if subscription_key is None else {"Ocp-Apim-Subscription-Key": subscription_key}
    with running_sandbox() as sandbox:
        async with httpx.AsyncClient() as client:
            url = sandbox.base_url + "/collection/token/"
            if auth is None:
                response = await client.post(url, headers=headers)
            else:
                response = await client.post(url, auth=auth, headers=headers)

    assert response.status_code == 401


async def test_token_accepts_any_credentials() -> None:
    credentials = base64.b64encode(b"whoever:whatever").decode()
    with running_sandbox() as sandbox:
        async with httpx.AsyncClient() as client:
            response = await client.post(
                sandbox.base_url + "/collection/token/",
                headers={"Authorization": f"Basic {credentials}", "Ocp-Apim-Subscription-Key": "k"},
            )

    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "token_type", "expires_in"}


async def test_the_adapter_reports_refused_credentials_as_misconfiguration() -> None:
    with running_sandbox() as sandbox:
        async with momo_for(sandbox, api_key="") as momo:
            with pytest.raises(ProviderMisconfigured):
                await momo.request_payment(payment())


# -- callbacks that cannot be delivered -------------------------------------------------------


async def test_an_undeliverable_callback_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.payments.sandbox")
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with running_sandbox(callback_delay=0) as sandbox:
        async with momo_for(sandbox) as momo:
            request = payment(recorder_url=nowhere)
            await momo.request_payment(request)

            await eventually(
                lambda: [r for r in caplog.records if str(request.reference) in r.getMessage()],
                "the failed callback to be logged",
            )
            await eventually(lambda: sandbox.state.callbacks_in_flight == 0, "the task to end")
            status = await momo.fetch_status(request.reference)

    assert status.state is PaymentState.SUCCEEDED


async def refuse(request: Request) -> Response:
    return Response(status_code=500)


async def test_a_callback_refused_by_the_receiver_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.payments.sandbox")
    refusing = Starlette(routes=[Route(CALLBACK_PATH + "{reference}", refuse, methods=["PUT"])])
    with serve(refusing) as refusing_url, running_sandbox(callback_delay=0) as sandbox:
        async with momo_for(sandbox) as momo:
            request = payment(recorder_url=refusing_url)
            await momo.request_payment(request)

            [record] = await eventually(
                lambda: [r for r in caplog.records if str(request.reference) in r.getMessage()],
                "the refused callback to be logged",
            )

    assert "500" in record.getMessage()


async def test_callbacks_go_through_the_client_given() -> None:
    sent: list[httpx.Request] = []

    async def receive(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(receive))
    with running_sandbox(callback_delay=0, client=client) as sandbox:
        async with momo_for(sandbox) as momo:
            request = payment(recorder_url="http://gateway.invalid")
            await momo.request_payment(request)
            await eventually(lambda: list(sent), "the callback")

    [callback] = sent
    assert callback.method == "PUT"
    assert callback.url == f"http://gateway.invalid{CALLBACK_PATH}{request.reference}"
    assert json.loads(callback.content)["status"] == "SUCCESSFUL"
    assert not client.is_closed  # the caller's client is the caller's to close
    await client.aclose()


# -- construction -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "outcomes",
    [
        {"+2290197000001": ("FAILED", "NOT_ENOUGH_FUNDS")},
        {"2290197000001": ("DECLINED", "NOT_ENOUGH_FUNDS")},
        {"2290197000001": ("FAILED", None)},
        {"2290197000001": ("SUCCESSFUL", "NOT_ENOUGH_FUNDS")},
    ],
)
def test_nonsensical_outcomes_are_refused(outcomes: dict[str, tuple[str, str | None]]) -> None:
    with pytest.raises(ValueError):
        sandbox_app(outcomes=outcomes)


@pytest.mark.parametrize("delay", [-1.0, float("nan"), float("inf")])
def test_a_nonsensical_delay_is_refused(delay: float) -> None:
    with pytest.raises(ValueError):
        sandbox_app(callback_delay=delay)


def test_demo_numbers_are_valid_mtn_numbers() -> None:
    from menus.identifiers import normalise_phone, phone_operator

    for party_id in DEFAULT_OUTCOMES:
        assert normalise_phone("+" + party_id) == "+" + party_id
        assert phone_operator("+" + party_id) == "mtn"
