"""MTN MoMo Collection adapter, against a local peer speaking MTN's wire protocol."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from uuid import UUID, uuid1, uuid4

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.payments import (
    DuplicateReference,
    FailureReason,
    MalformedCallback,
    MomoCollection,
    MomoSettings,
    PaymentNotFound,
    PaymentProvider,
    PaymentRequest,
    PaymentState,
    ProviderMisconfigured,
    ProviderRejected,
    ProviderUnavailable,
    parse_callback,
)
from tests.peers.momo import SANDBOX_OUTCOMES, MomoPeer
from tests.support.http_server import serve

PAYER = "+2290197123456"


class FakeClock:
    """Monotonic time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def peer() -> MomoPeer:
    return MomoPeer()


@pytest.fixture
def base_url(peer: MomoPeer) -> Iterator[str]:
    with serve(peer.app) as url:
        yield url
        peer.release()  # let hanging handlers end before the server stops


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def settings_for(peer: MomoPeer, base_url: str, **overrides: object) -> MomoSettings:
    values: dict[str, object] = {
        "base_url": base_url,
        "subscription_key": peer.subscription_key,
        "api_user": peer.api_user,
        "api_key": peer.api_key,
        "target_environment": peer.target_environment,
        "currency": peer.currency,
        "read_timeout": 5.0,
    }
    values.update(overrides)
    return MomoSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def momo(peer: MomoPeer, base_url: str, clock: FakeClock) -> AsyncIterator[MomoCollection]:
    async with MomoCollection(settings_for(peer, base_url), clock=clock) as provider:
        yield provider


def payment(phone: str = PAYER, **overrides: object) -> PaymentRequest:
    values: dict[str, object] = {
        "reference": uuid4(),
        "amount": 4725,
        "currency": "XOF",
        "payer_phone": phone,
        "operator": "mtn",
        "description": "Cotisation mutuelle 2026",
        "external_id": "HH-2026-0001",
        "callback_url": None,
    }
    values.update(overrides)
    return PaymentRequest(**values)  # type: ignore[arg-type]


def sandbox_phone(party_id: str) -> str:
    return "+" + party_id


# -- the happy path ---------------------------------------------------------------------------


async def test_request_to_pay_sends_the_documented_request(
    momo: MomoCollection, peer: MomoPeer
) -> None:
    callback = "https://gateway.example.org/payments/momo/callback/"
    request = payment(callback_url=callback + "x")

    ack = await momo.request_payment(request)

    assert ack.reference == request.reference
    [sent] = peer.requests_to("requesttopay")
    assert sent.method == "POST"
    assert sent.headers["x-reference-id"] == str(request.reference)
    assert sent.headers["x-target-environment"] == "mtnbenin"
    assert sent.headers["x-callback-url"] == callback + "x"
    assert sent.headers["ocp-apim-subscription-key"] == peer.subscription_key
    assert sent.headers["authorization"].startswith("Bearer ")
    assert sent.json() == {
        "amount": "4725",
        "currency": "XOF",
        "externalId": "HH-2026-0001",
        "payer": {"partyIdType": "MSISDN", "partyId": "2290197123456"},
        "payerMessage": "Cotisation mutuelle 2026",
        "payeeNote": "HH-2026-0001",
    }


async def test_token_is_asked_with_basic_auth_and_subscription_key(
    momo: MomoCollection, peer: MomoPeer
) -> None:
    await momo.request_payment(payment())

    [token_request] = peer.requests_to("token")
    credentials = base64.b64encode(f"{peer.api_user}:{peer.api_key}".encode()).decode()
    assert token_request.headers["authorization"] == f"Basic {credentials}"
    assert token_request.headers["ocp-apim-subscription-key"] == peer.subscription_key


async def test_no_callback_header_without_a_callback_url(
    momo: MomoCollection, peer: MomoPeer
) -> None:
    await momo.request_payment(payment(callback_url=None))

    [sent] = peer.requests_to("requesttopay")
    assert "x-callback-url" not in sent.headers


async def test_external_id_defaults_to_the_reference(momo: MomoCollection, peer: MomoPeer) -> None:
    request = payment(external_id=None)

    await momo.request_payment(request)

    body = peer.requests_to("requesttopay")[0].json()
    assert body["externalId"] == body["payeeNote"] == str(request.reference)


async def test_successful_payment_status(momo: MomoCollection, peer: MomoPeer) -> None:
    request = payment()
    await momo.request_payment(request)

    status = await momo.fetch_status(request.reference)

    assert status.reference == request.reference
    assert status.state is PaymentState.SUCCEEDED
    assert status.amount == 4725
    assert status.currency == "XOF"
    assert (
        status.provider_transaction_id
        == peer.payments[str(request.reference)]["financialTransactionId"]
    )
    assert status.reason is None
    assert status.raw["externalId"] == "HH-2026-0001"


async def test_pending_payment_then_settled(momo: MomoCollection, peer: MomoPeer) -> None:
    request = payment(sandbox_phone("46733123453"))
    await momo.request_payment(request)

    assert (await momo.fetch_status(request.reference)).state is PaymentState.PENDING

    peer.settle(request.reference, "SUCCESSFUL")
    assert (await momo.fetch_status(request.reference)).state is PaymentState.SUCCEEDED


def test_momo_is_a_payment_provider_for_mtn_only(peer: MomoPeer) -> None:
    provider: PaymentProvider = MomoCollection(settings_for(peer, "http://127.0.0.1:9"))
    assert provider.name == "momo"
    assert provider.serves == frozenset({"mtn"})


async def test_a_moov_payer_is_refused_before_any_call(
    momo: MomoCollection, peer: MomoPeer
) -> None:
    with pytest.raises(ValueError, match="moov"):
        await momo.request_payment(payment("+2290196000001", operator="moov"))
    assert peer.requests == []


async def test_a_currency_the_account_does_not_collect_is_rejected_before_any_call(
    momo: MomoCollection, peer: MomoPeer
) -> None:
    with pytest.raises(ProviderRejected) as raised:
        await momo.request_payment(payment(currency="EUR"))
    assert raised.value.reason is FailureReason.INVALID_CURRENCY
    assert peer.requests == []


# -- the access token -------------------------------------------------------------------------


async def test_token_is_reused_until_it_nears_expiry(
    momo: MomoCollection, peer: MomoPeer, clock: FakeClock
) -> None:
    first, second = payment(), payment()
    await momo.request_payment(first)
    await momo.request_payment(second)
    await momo.fetch_status(first.reference)
    clock.now += peer.token_ttl - 120  # still comfortably valid
    await momo.fetch_status(second.reference)

    assert len(peer.requests_to("token")) == 1
    tokens = {r.headers["authorization"] for r in peer.requests if r.route != "token"}
    assert len(tokens) == 1


async def test_a_burst_of_payments_shares_one_token(momo: MomoCollection, peer: MomoPeer) -> None:
    requests = [payment() for _ in range(8)]

    await asyncio.gather(*(momo.request_payment(r) for r in requests))

    assert len(peer.requests_to("token")) == 1
    assert set(peer.payments) == {str(r.reference) for r in requests}


async def test_token_is_renewed_shortly_before_it_expires(
    momo: MomoCollection, peer: MomoPeer, clock: FakeClock
) -> None:
    request = payment()
    await momo.request_payment(request)
    clock.now += peer.token_ttl - 30  # inside the renewal margin, before MTN's expiry

    await momo.fetch_status(request.reference)

    assert len(peer.requests_to("token")) == 2
    first, second = (r.headers["authorization"] for r in peer.requests if r.route != "token")
    assert first != second


async def test_a_revoked_token_is_replaced_once_and_the_call_goes_through(
    momo: MomoCollection, peer: MomoPeer
) -> None:
    first = payment()
    await momo.request_payment(first)
    peer.revoke_tokens()

    second = payment()
    await momo.request_payment(second)

    assert len(peer.requests_to("token")) == 2
    attempts = [r.headers["x-reference-id"] for r in peer.requests_to("requesttopay")]
    assert attempts == [str(first.reference), str(second.reference), str(second.reference)]
    assert set(peer.payments) == {str(first.reference), str(second.reference)}


async def test_wrong_api_key_is_a_configuration_problem(peer: MomoPeer, base_url: str) -> None:
    settings = settings_for(peer, base_url, api_key="not-the-key")
    async with MomoCollection(settings) as momo:
        with pytest.raises(ProviderMisconfigured, match="MOMO_API_KEY"):
            await momo.request_payment(payment())
    assert peer.requests_to("requesttopay") == []


async def test_wrong_subscription_key_on_status_is_never_a_payment_outcome(
    peer: MomoPeer, base_url: str
) -> None:
    settings = settings_for(peer, base_url, subscription_key="stale")
    async with MomoCollection(settings) as momo:
        with pytest.raises(ProviderMisconfigured):
            await momo.fetch_status(uuid4())


async def test_wrong_target_environment_is_a_configuration_problem(
    peer: MomoPeer, base_url: str
) -> None:
    settings = settings_for(peer, base_url, target_environment="mtnghana")
    async with MomoCollection(settings) as momo:
        with pytest.raises(ProviderMisconfigured):
            await momo.request_payment(payment())
        with pytest.raises(ProviderMisconfigured):
            await momo.fetch_status(uuid4())


async def test_token_endpoint_outage_is_retryable(momo: MomoCollection, peer: MomoPeer) -> None:
    peer.fail_next("token", 503)

    with pytest.raises(ProviderUnavailable) as raised:
        await momo.request_payment(payment())

    assert raised.value.status_code == 503
    assert peer.requests_to("requesttopay") == []


# -- duplicates, timeouts and 5xx ---------------------------------------------------------------


async def test_reusing_a_reference_is_refused_with_duplicate_reference(
    momo: MomoCollection, peer: MomoPeer
) -> None:
    request = payment()
    await momo.request_payment(request)

    with pytest.raises(DuplicateReference) as raised:
        await momo.request_payment(request)

    assert raised.value.reference == request.reference
    assert len(peer.payments) == 1


async def test_timeout_before_mtn_saw_the_request_resolves_to_not_found_then_safe_retry(
    peer: MomoPeer, base_url: str
) -> None:
    request = payment()
    peer.hang_next("requesttopay")
    async with MomoCollection(settings_for(peer, base_url, read_timeout=1.0)) as momo:
        with pytest.raises(ProviderUnavailable):
            await momo.request_payment(request)

        with pytest.raises(PaymentNotFound) as raised:
            await momo.fetch_status(request.reference)
        assert raised.value.reference == request.reference

        await momo.request_payment(request)  # the same reference, never a new one
        assert (await momo.fetch_status(request.reference)).state is PaymentState.SUCCEEDED
    assert list(peer.payments) == [str(request.reference)]


async def test_timeout_after_mtn_accepted_resolves_by_status_not_by_a_second_request(
    peer: MomoPeer, base_url: str
) -> None:
    request = payment()
    peer.hang_next("requesttopay", after=True)
    async with MomoCollection(settings_for(peer, base_url, read_timeout=1.0)) as momo:
        with pytest.raises(ProviderUnavailable):
            await momo.request_payment(request)

        status = await momo.fetch_status(request.reference)

        assert status.state is PaymentState.SUCCEEDED
        with pytest.raises(DuplicateReference):
            await momo.request_payment(request)
    assert list(peer.payments) == [str(request.reference)]


async def test_5xx_on_request_to_pay_is_retryable_and_keeps_the_status_code(
    momo: MomoCollection, peer: MomoPeer
) -> None:
    request = payment()
    peer.fail_next("requesttopay", 500, after=True)

    with pytest.raises(ProviderUnavailable) as raised:
        await momo.request_payment(request)

    assert raised.value.status_code == 500
    assert (await momo.fetch_status(request.reference)).state is PaymentState.SUCCEEDED


async def test_5xx_and_timeout_on_status_are_retryable(peer: MomoPeer, base_url: str) -> None:
    request = payment()
    async with MomoCollection(settings_for(peer, base_url, read_timeout=1.0)) as momo:
        await momo.request_payment(request)
        peer.fail_next("status", 502)
        with pytest.raises(ProviderUnavailable) as raised:
            await momo.fetch_status(request.reference)
        assert raised.value.status_code == 502

        peer.hang_next("status")
        with pytest.raises(ProviderUnavailable):
            await momo.fetch_status(request.reference)

        assert (await momo.fetch_status(request.reference)).state is PaymentState.SUCCEEDED


async def test_unreachable_provider_is_retryable(peer: MomoPeer) -> None:
    async with MomoCollection(settings_for(peer, "http://127.0.0.1:9")) as momo:
        with pytest.raises(ProviderUnavailable):
            await momo.request_payment(payment())


async def test_empty_payer_message_cannot_reach_mtn() -> None:
    # MTN has answered 500 to empty messages; the request is refused before it is built.
    with pytest.raises(ValueError, match="description"):
        payment(description="  ")


async def test_a_4xx_refusal_is_final_with_the_mtn_code(peer: MomoPeer, base_url: str) -> None:
    peer.currency = "EUR"  # the peer now refuses XOF as the sandbox does
    async with MomoCollection(settings_for(peer, base_url, currency="XOF")) as momo:
        with pytest.raises(ProviderRejected) as raised:
            await momo.request_payment(payment())
    assert raised.value.reason is FailureReason.INVALID_CURRENCY
    assert raised.value.provider_code == "INVALID_CURRENCY"
    assert raised.value.status_code == 400


# -- status mapping -----------------------------------------------------------------------------

REASONS = [
    ("APPROVAL_REJECTED", FailureReason.PAYER_DECLINED),
    ("EXPIRED", FailureReason.EXPIRED),
    ("NOT_ENOUGH_FUNDS", FailureReason.INSUFFICIENT_FUNDS),
    ("PAYER_NOT_FOUND", FailureReason.PAYER_NOT_FOUND),
    ("PAYER_LIMIT_REACHED", FailureReason.PAYER_LIMIT_REACHED),
    ("COULD_NOT_PERFORM_TRANSACTION", FailureReason.EXPIRED),
    ("INTERNAL_PROCESSING_ERROR", FailureReason.PROVIDER_ERROR),
    ("SERVICE_UNAVAILABLE", FailureReason.PROVIDER_ERROR),
    ("NOT_ALLOWED", FailureReason.NOT_ALLOWED),
    ("INVALID_CURRENCY", FailureReason.INVALID_CURRENCY),
    ("ONGOING", FailureReason.UNKNOWN),
    ("PAYER_DELAYED", FailureReason.EXPIRED),
    ("SOMETHING_NEW", FailureReason.UNKNOWN),
]


@pytest.mark.parametrize(("code", "reason"), REASONS)
async def test_every_documented_failure_reason_is_normalised_and_kept(
    momo: MomoCollection, peer: MomoPeer, code: str, reason: FailureReason
) -> None:
    peer.set_outcome("2290197000009", "FAILED", code)
    request = payment("+2290197000009")
    await momo.request_payment(request)

    status = await momo.fetch_status(request.reference)

    assert status.state is PaymentState.FAILED
    assert status.reason is reason
    assert status.provider_reason == code
    assert status.provider_transaction_id is None
    assert status.raw["reason"] == code


@pytest.mark.parametrize("party_id", sorted(SANDBOX_OUTCOMES))
async def test_sandbox_test_numbers(momo: MomoCollection, party_id: str) -> None:
    expected_status, expected_reason = SANDBOX_OUTCOMES[party_id]
    request = payment(sandbox_phone(party_id))
    await momo.request_payment(request)

    status = await momo.fetch_status(request.reference)

    assert (
        status.state
        is {"PENDING": PaymentState.PENDING, "FAILED": PaymentState.FAILED}[expected_status]
    )
    assert status.provider_reason == expected_reason


async def test_failure_without_a_reason_is_unknown(momo: MomoCollection, peer: MomoPeer) -> None:
    request = payment()
    await momo.request_payment(request)
    peer.settle(request.reference, "FAILED")

    status = await momo.fetch_status(request.reference)

    assert (status.state, status.reason, status.provider_reason) == (
        PaymentState.FAILED,
        FailureReason.UNKNOWN,
        None,
    )


async def test_an_undocumented_status_settles_nothing(momo: MomoCollection, peer: MomoPeer) -> None:
    request = payment()
    await momo.request_payment(request)
    peer.settle(request.reference, "TIMEOUT")

    status = await momo.fetch_status(request.reference)

    assert status.state is PaymentState.PENDING
    assert status.raw["status"] == "TIMEOUT"


async def test_status_of_an_unknown_reference_is_not_found(momo: MomoCollection) -> None:
    with pytest.raises(PaymentNotFound):
        await momo.fetch_status(uuid4())


# -- callbacks ------------------------------------------------------------------------------------


def test_callback_with_a_successful_payment() -> None:
    reference = uuid4()
    body = json.dumps(
        {
            "amount": "4725",
            "currency": "XOF",
            "financialTransactionId": "1209384756",
            "externalId": "HH-2026-0001",
            "payer": {"partyIdType": "MSISDN", "partyId": "2290197123456"},
            "payerMessage": "Cotisation mutuelle 2026",
            "payeeNote": "HH-2026-0001",
            "status": "SUCCESSFUL",
        }
    ).encode()

    notice = parse_callback(reference, body)

    assert notice.provider == "momo"
    assert notice.event == "callback"
    assert notice.reference == reference
    assert notice.state is PaymentState.SUCCEEDED
    assert (notice.amount, notice.currency) == (4725, "XOF")
    assert notice.provider_transaction_id == "1209384756"
    assert notice.reason is None


def test_callback_with_a_failure_reason_as_an_object() -> None:
    # MTN's published schema nests the reason; the reference shows it flat. Both are read.
    body = b'{"amount": "4725", "currency": "XOF", "status": "FAILED",'
    body += b' "reason": {"code": "NOT_ENOUGH_FUNDS", "message": "Insufficient balance"}}'

    notice = parse_callback(uuid4(), body)

    assert notice.state is PaymentState.FAILED
    assert notice.reason is FailureReason.INSUFFICIENT_FUNDS
    assert notice.provider_reason == "NOT_ENOUGH_FUNDS"


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[]", b'{"amount": "4725"}', b'{"status": ""}', b"\xff\xfe"]
)
def test_unreadable_callbacks_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedCallback):
        parse_callback(uuid4(), body)


def test_a_non_integral_amount_is_not_rounded() -> None:
    notice = parse_callback(
        uuid4(), b'{"amount": "4725.5", "currency": "XOF", "status": "PENDING"}'
    )
    assert notice.amount is None


@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_callback_as_mtn_delivers_it(
    momo: MomoCollection, peer: MomoPeer, method: str
) -> None:
    received: list[tuple[str, UUID, bytes]] = []

    async def callback(request: Request) -> Response:
        reference = UUID(request.path_params["reference"])
        received.append((request.method, reference, await request.body()))
        return Response(status_code=200)

    gateway = Starlette(
        routes=[Route("/payments/momo/callback/{reference}", callback, methods=["PUT", "POST"])]
    )
    reference = uuid4()
    with serve(gateway) as gateway_url:
        request = payment(
            sandbox_phone("46733123451"),
            reference=reference,
            callback_url=f"{gateway_url}/payments/momo/callback/{reference}",
        )
        await momo.request_payment(request)
        assert await peer.deliver_callback(request.reference, method) == 200

    [(seen_method, path_reference, body)] = received
    notice = parse_callback(path_reference, body)
    assert seen_method == method
    assert notice.reference == reference
    assert notice.state is PaymentState.FAILED
    assert notice.reason is FailureReason.PAYER_DECLINED
    # The callback is only a hint: the status we ask for ourselves agrees.
    assert (await momo.fetch_status(path_reference)).reason is FailureReason.PAYER_DECLINED


# -- requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"reference": uuid1()},
        {"amount": 0},
        {"amount": 4725.0},
        {"amount": True},
        {"currency": "xof"},
        {"payer_phone": "0197123456"},
        {"payer_phone": "+229 01 97 12 34 56"},
        {"operator": "orange"},
        {"description": ""},
        {"external_id": " "},
    ],
)
def test_payment_requests_are_checked_before_any_money_moves(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        payment(**overrides)  # type: ignore[arg-type]
