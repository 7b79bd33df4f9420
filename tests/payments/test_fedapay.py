"""FedaPay adapter and webhook verification, against a local peer speaking FedaPay's protocol."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from uuid import UUID, uuid4

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.payments import (
    FailureReason,
    FedapayCollection,
    FedapaySettings,
    MalformedCallback,
    MalformedResponse,
    PaymentNotFound,
    PaymentProvider,
    PaymentRequest,
    PaymentState,
    ProviderMisconfigured,
    ProviderRejected,
    ProviderUnavailable,
    verify_webhook,
)
from adapters.payments.fedapay_webhook import (
    MalformedSignatureHeader,
    MissingSignature,
    SignatureMismatch,
    TimestampOutOfTolerance,
)
from tests.peers.fedapay import FedapayPeer, signature_header
from tests.support.http_server import serve

MTN_PAYER = "+2290197123456"
MOOV_PAYER = "+2290196123456"


@pytest.fixture
def peer() -> FedapayPeer:
    return FedapayPeer()


@pytest.fixture
def base_url(peer: FedapayPeer) -> Iterator[str]:
    with serve(peer.app) as url:
        yield url
        peer.release()


def settings_for(peer: FedapayPeer, base_url: str, **overrides: object) -> FedapaySettings:
    values: dict[str, object] = {
        "base_url": base_url,
        "secret_key": peer.secret_key,
        "webhook_secrets": (peer.webhook_secret,),
        "read_timeout": 5.0,
    }
    values.update(overrides)
    return FedapaySettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def fedapay(peer: FedapayPeer, base_url: str) -> AsyncIterator[FedapayCollection]:
    async with FedapayCollection(settings_for(peer, base_url)) as provider:
        yield provider


def payment(phone: str = MTN_PAYER, **overrides: object) -> PaymentRequest:
    values: dict[str, object] = {
        "reference": uuid4(),
        "amount": 4725,
        "currency": "XOF",
        "payer_phone": phone,
        "operator": "mtn",
        "description": "Cotisation HH-2026-0001",
        "external_id": "HH-2026-0001",
    }
    values.update(overrides)
    return PaymentRequest(**values)  # type: ignore[arg-type]


# -- the happy path ---------------------------------------------------------------------------


async def test_collection_is_created_tokenised_and_pushed(
    fedapay: FedapayCollection, peer: FedapayPeer
) -> None:
    request = payment(callback_url="https://gateway.example.org/after-checkout")

    ack = await fedapay.request_payment(request)

    [create] = peer.requests_to("create")
    [token] = peer.requests_to("token")
    [push] = peer.requests_to("push")
    for sent in (create, token, push):
        assert sent.headers["authorization"] == f"Bearer {peer.secret_key}"
    assert create.json() == {
        "description": "Cotisation HH-2026-0001",
        "amount": 4725,
        "currency": {"iso": "XOF"},
        "customer": {"phone_number": {"number": MTN_PAYER, "country": "bj"}},
        "merchant_reference": str(request.reference),
        "custom_metadata": {"payment_ref": str(request.reference), "external_id": "HH-2026-0001"},
        "callback_url": "https://gateway.example.org/after-checkout",
    }
    transaction_id = int(ack.provider_transaction_id or "0")
    assert token.path == f"/v1/transactions/{transaction_id}/token"
    assert push.path == "/v1/mtn_open"
    assert push.json()["phone_number"] == {"number": MTN_PAYER, "country": "bj"}
    assert peer.transactions[transaction_id]["mode"] == "mtn_open"
    assert ack.reference == request.reference


async def test_approved_collection_status(fedapay: FedapayCollection) -> None:
    request = payment()
    ack = await fedapay.request_payment(request)

    status = await fedapay.fetch_status(request.reference, ack.provider_transaction_id)

    assert status.reference == request.reference
    assert status.state is PaymentState.SUCCEEDED
    assert (status.amount, status.currency) == (4725, "XOF")
    assert status.provider_transaction_id == ack.provider_transaction_id
    assert status.reason is None
    assert status.provider_reason == "approved"


async def test_currency_ids_are_resolved_once(
    fedapay: FedapayCollection, peer: FedapayPeer
) -> None:
    first, second = payment(), payment()
    first_ack = await fedapay.request_payment(first)
    second_ack = await fedapay.request_payment(second)

    await fedapay.fetch_status(first.reference, first_ack.provider_transaction_id)
    await fedapay.fetch_status(second.reference, second_ack.provider_transaction_id)

    assert len(peer.requests_to("currency")) == 1


@pytest.mark.parametrize(
    ("operator", "phone", "mode"),
    [
        ("mtn", MTN_PAYER, "mtn_open"),
        ("moov", MOOV_PAYER, "moov"),
        ("celtiis", "+2290140123456", "sbin"),
    ],
)
async def test_the_push_mode_follows_the_operator(
    fedapay: FedapayCollection, peer: FedapayPeer, operator: str, phone: str, mode: str
) -> None:
    await fedapay.request_payment(payment(phone, operator=operator))

    [push] = peer.requests_to("push")
    assert push.path == f"/v1/{mode}"


def test_fedapay_is_a_payment_provider_for_every_benin_operator(peer: FedapayPeer) -> None:
    provider: PaymentProvider = FedapayCollection(settings_for(peer, "http://127.0.0.1:9"))
    assert provider.name == "fedapay"
    assert provider.serves == frozenset({"mtn", "moov", "celtiis"})


async def test_burkina_numbers_carry_their_country(
    fedapay: FedapayCollection, peer: FedapayPeer
) -> None:
    await fedapay.request_payment(payment("+22670123456", operator="moov"))
    assert peer.requests_to("push")[0].json()["phone_number"]["country"] == "bf"


async def test_a_currency_the_account_does_not_collect_is_rejected_before_any_call(
    fedapay: FedapayCollection, peer: FedapayPeer
) -> None:
    with pytest.raises(ProviderRejected) as raised:
        await fedapay.request_payment(payment(currency="EUR"))
    assert raised.value.reason is FailureReason.INVALID_CURRENCY
    assert peer.requests == []


# -- status mapping -----------------------------------------------------------------------------

STATUSES = [
    ("pending", PaymentState.PENDING, None),
    ("approved", PaymentState.SUCCEEDED, None),
    ("transferred", PaymentState.SUCCEEDED, None),
    ("refunded", PaymentState.SUCCEEDED, None),
    ("approved_partially_refunded", PaymentState.SUCCEEDED, None),
    ("transferred_partially_refunded", PaymentState.SUCCEEDED, None),
    ("declined", PaymentState.FAILED, FailureReason.DECLINED),
    ("canceled", PaymentState.FAILED, FailureReason.CANCELLED),
    ("something_new", PaymentState.PENDING, None),
]


@pytest.mark.parametrize(("fedapay_status", "state", "reason"), STATUSES)
async def test_every_documented_status_is_normalised_and_kept(
    fedapay: FedapayCollection,
    peer: FedapayPeer,
    fedapay_status: str,
    state: PaymentState,
    reason: FailureReason | None,
) -> None:
    request = payment()
    ack = await fedapay.request_payment(request)
    peer.settle(int(ack.provider_transaction_id or "0"), fedapay_status)

    status = await fedapay.fetch_status(request.reference, ack.provider_transaction_id)

    assert (status.state, status.reason, status.provider_reason) == (state, reason, fedapay_status)
    assert status.raw["status"] == fedapay_status


async def test_a_payer_who_declines(fedapay: FedapayCollection, peer: FedapayPeer) -> None:
    peer.set_outcome(MOOV_PAYER, "declined")
    request = payment(MOOV_PAYER, operator="moov")
    ack = await fedapay.request_payment(request)

    status = await fedapay.fetch_status(request.reference, ack.provider_transaction_id)

    assert status.state is PaymentState.FAILED
    assert status.reason is FailureReason.DECLINED


# -- finding a transaction by our reference ---------------------------------------------------


async def test_status_by_reference_alone_when_the_id_was_never_learnt(
    fedapay: FedapayCollection, peer: FedapayPeer
) -> None:
    request = payment()
    ack = await fedapay.request_payment(request)
    await fedapay.request_payment(payment())  # another payment the search must not confuse

    status = await fedapay.fetch_status(request.reference)

    assert status.provider_transaction_id == ack.provider_transaction_id
    assert status.state is PaymentState.SUCCEEDED
    [search] = peer.requests_to("search")
    assert search.path == "/v1/transactions/search"


async def test_a_repeated_create_resolves_to_the_transaction_that_moved_money(
    fedapay: FedapayCollection, peer: FedapayPeer
) -> None:
    request = payment()
    first = await fedapay.request_payment(request)
    second = await fedapay.request_payment(request)
    peer.settle(int(first.provider_transaction_id or "0"), "declined")

    status = await fedapay.fetch_status(request.reference)

    assert status.provider_transaction_id == second.provider_transaction_id
    assert status.state is PaymentState.SUCCEEDED


async def test_unknown_reference_is_not_found(fedapay: FedapayCollection) -> None:
    with pytest.raises(PaymentNotFound):
        await fedapay.fetch_status(uuid4())


async def test_unknown_transaction_id_is_not_found(fedapay: FedapayCollection) -> None:
    with pytest.raises(PaymentNotFound):
        await fedapay.fetch_status(uuid4(), "999999")


async def test_an_id_of_another_payment_is_refused(fedapay: FedapayCollection) -> None:
    ack = await fedapay.request_payment(payment())

    with pytest.raises(MalformedResponse, match="belongs to payment"):
        await fedapay.fetch_status(uuid4(), ack.provider_transaction_id)


# -- failures on the wire -----------------------------------------------------------------------


async def test_timeout_on_create_is_retryable_without_an_id(
    peer: FedapayPeer, base_url: str
) -> None:
    request = payment()
    peer.hang_next("create", after=True)
    async with FedapayCollection(settings_for(peer, base_url, read_timeout=1.0)) as fedapay:
        with pytest.raises(ProviderUnavailable) as raised:
            await fedapay.request_payment(request)
        assert raised.value.provider_transaction_id is None

        # The create did land: asking by reference finds it instead of creating another.
        status = await fedapay.fetch_status(request.reference)
    assert status.state is PaymentState.PENDING
    assert len(peer.transactions) == 1


async def test_failure_after_create_carries_the_transaction_id(
    fedapay: FedapayCollection, peer: FedapayPeer
) -> None:
    request = payment()
    peer.fail_next("push", 502)

    with pytest.raises(ProviderUnavailable) as raised:
        await fedapay.request_payment(request)

    assert raised.value.status_code == 502
    [transaction_id] = peer.transactions
    assert raised.value.provider_transaction_id == str(transaction_id)
    status = await fedapay.fetch_status(request.reference, raised.value.provider_transaction_id)
    assert status.state is PaymentState.PENDING


async def test_timeout_on_token_carries_the_transaction_id(
    peer: FedapayPeer, base_url: str
) -> None:
    peer.hang_next("token")
    async with FedapayCollection(settings_for(peer, base_url, read_timeout=1.0)) as fedapay:
        with pytest.raises(ProviderUnavailable) as raised:
            await fedapay.request_payment(payment())
    [transaction_id] = peer.transactions
    assert raised.value.provider_transaction_id == str(transaction_id)


async def test_5xx_and_timeout_on_status_are_retryable(peer: FedapayPeer, base_url: str) -> None:
    request = payment()
    async with FedapayCollection(settings_for(peer, base_url, read_timeout=1.0)) as fedapay:
        ack = await fedapay.request_payment(request)
        peer.fail_next("status", 503)
        with pytest.raises(ProviderUnavailable):
            await fedapay.fetch_status(request.reference, ack.provider_transaction_id)
        peer.hang_next("status")
        with pytest.raises(ProviderUnavailable):
            await fedapay.fetch_status(request.reference, ack.provider_transaction_id)
        peer.fail_next("search", 500)
        with pytest.raises(ProviderUnavailable):
            await fedapay.fetch_status(request.reference)

        status = await fedapay.fetch_status(request.reference, ack.provider_transaction_id)
    assert status.state is PaymentState.SUCCEEDED


async def test_5xx_on_create_is_retryable(fedapay: FedapayCollection, peer: FedapayPeer) -> None:
    peer.fail_next("create", 500)
    with pytest.raises(ProviderUnavailable) as raised:
        await fedapay.request_payment(payment())
    assert raised.value.status_code == 500
    assert peer.transactions == {}


async def test_wrong_secret_key_is_a_configuration_problem(
    peer: FedapayPeer, base_url: str
) -> None:
    async with FedapayCollection(settings_for(peer, base_url, secret_key="sk_live_x")) as fedapay:
        with pytest.raises(ProviderMisconfigured, match="FEDAPAY_SECRET_KEY"):
            await fedapay.request_payment(payment())
        with pytest.raises(ProviderMisconfigured):
            await fedapay.fetch_status(uuid4())
        with pytest.raises(ProviderMisconfigured):
            await fedapay.fetch_status(uuid4(), "104291")


async def test_a_refused_push_is_final_and_names_the_transaction(
    fedapay: FedapayCollection, peer: FedapayPeer
) -> None:
    peer.fail_next("push", 400)

    with pytest.raises(ProviderRejected) as raised:
        await fedapay.request_payment(payment())

    assert raised.value.reason is FailureReason.INVALID_REQUEST
    assert raised.value.status_code == 400
    assert raised.value.provider_transaction_id == str(next(iter(peer.transactions)))


async def test_unreachable_provider_is_retryable(peer: FedapayPeer) -> None:
    async with FedapayCollection(settings_for(peer, "http://127.0.0.1:9")) as fedapay:
        with pytest.raises(ProviderUnavailable):
            await fedapay.request_payment(payment())


# -- webhooks -----------------------------------------------------------------------------------

SECRET = "wh_sandbox_current"
NOW = 1_763_890_000


def event(name: str = "transaction.approved", **entity: object) -> bytes:
    reference = "3f2b8c1e-9d4a-4f6b-8a51-2c7d9e0f1a23"
    body = {
        "name": name,
        "entity": {
            "klass": "v1/transaction",
            "id": 104291,
            "reference": "trx_Xk3_1700000000000",
            "amount": 4725,
            "description": "Cotisation HH-2026-0001",
            "status": "approved",
            "mode": "mtn_open",
            "currency_id": 1,
            "approved_at": "2026-11-23T09:31:04.000Z",
            "custom_metadata": {"payment_ref": reference},
            "amount_debited": 4725,
            "fees": 0,
            "last_error_code": None,
            **entity,
        },
    }
    return json.dumps(body).encode()


def signed(body: bytes, secret: str = SECRET, at: int = NOW) -> str:
    # Written from the reference's recipe, independently of the adapter's code.
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},s={digest}"


def test_a_valid_webhook_is_read() -> None:
    body = event()

    notice = verify_webhook(body, signed(body), [SECRET], now=NOW + 5)

    assert notice is not None
    assert notice.provider == "fedapay"
    assert notice.event == "transaction.approved"
    assert notice.reference == UUID("3f2b8c1e-9d4a-4f6b-8a51-2c7d9e0f1a23")
    assert notice.state is PaymentState.SUCCEEDED
    assert notice.amount == 4725
    assert notice.currency is None  # only FedaPay's currency id; fetch_status resolves it
    assert notice.provider_transaction_id == "104291"
    assert notice.raw["entity"]["mode"] == "mtn_open"


@pytest.mark.parametrize(
    ("name", "status", "state", "reason"),
    [
        ("transaction.created", "pending", PaymentState.PENDING, None),
        ("transaction.approved", "approved", PaymentState.SUCCEEDED, None),
        ("transaction.declined", "declined", PaymentState.FAILED, FailureReason.DECLINED),
        ("transaction.canceled", "canceled", PaymentState.FAILED, FailureReason.CANCELLED),
        ("transaction.transferred", "transferred", PaymentState.SUCCEEDED, None),
        ("transaction.updated", "pending", PaymentState.PENDING, None),
    ],
)
def test_transaction_events(
    name: str, status: str, state: PaymentState, reason: FailureReason | None
) -> None:
    body = event(name, status=status)

    notice = verify_webhook(body, signed(body), [SECRET], now=NOW)

    assert notice is not None
    assert (notice.event, notice.state, notice.reason, notice.provider_reason) == (
        name,
        state,
        reason,
        status,
    )


def test_the_merchant_reference_names_the_payment_too() -> None:
    reference = uuid4()
    body = event(custom_metadata={}, merchant_reference=str(reference))
    notice = verify_webhook(body, signed(body), [SECRET], now=NOW)
    assert notice is not None and notice.reference == reference


def test_a_transaction_we_did_not_create_has_no_reference() -> None:
    body = event(custom_metadata=None)
    notice = verify_webhook(body, signed(body), [SECRET], now=NOW)
    assert notice is not None and notice.reference is None


def test_events_about_other_things_are_acknowledged_and_ignored() -> None:
    body = json.dumps({"name": "payout.sent", "entity": {"klass": "v1/payout", "id": 7}}).encode()
    assert verify_webhook(body, signed(body), [SECRET], now=NOW) is None


def test_a_webhook_signed_with_another_secret_is_refused() -> None:
    body = event()
    with pytest.raises(SignatureMismatch):
        verify_webhook(body, signed(body, secret="wh_sandbox_someone_else"), [SECRET], now=NOW)


def test_both_secrets_are_accepted_during_rotation() -> None:
    body = event()
    secrets = ["wh_sandbox_new", SECRET]
    assert verify_webhook(body, signed(body, SECRET), secrets, now=NOW) is not None
    assert verify_webhook(body, signed(body, "wh_sandbox_new"), secrets, now=NOW) is not None


def test_any_of_several_signatures_in_the_header_may_match() -> None:
    body = event()
    other = signed(body, "wh_sandbox_other").split(",")[1]
    assert verify_webhook(body, f"{signed(body)},{other}", [SECRET], now=NOW) is not None
    assert verify_webhook(body, f"t={NOW},{other},{signed(body).split(',')[1]}", [SECRET], now=NOW)


def test_a_tampered_body_is_refused() -> None:
    body = event()
    tampered = body.replace(b"4725", b"9725")
    with pytest.raises(SignatureMismatch):
        verify_webhook(tampered, signed(body), [SECRET], now=NOW)


def test_a_body_reencoded_after_signing_is_refused() -> None:
    body = event()
    reencoded = json.dumps(json.loads(body), separators=(",", ":")).encode()
    with pytest.raises(SignatureMismatch):
        verify_webhook(reencoded, signed(body), [SECRET], now=NOW)


def test_a_changed_timestamp_is_refused() -> None:
    body = event()
    header = signed(body).replace(f"t={NOW}", f"t={NOW + 1}")
    with pytest.raises(SignatureMismatch):
        verify_webhook(body, header, [SECRET], now=NOW)


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
def test_signatures_outside_the_tolerance_are_refused(offset: int) -> None:
    body = event()
    with pytest.raises(TimestampOutOfTolerance):
        verify_webhook(body, signed(body, at=NOW + offset), [SECRET], now=NOW)


@pytest.mark.parametrize("offset", [-300, 300])
def test_signatures_at_the_edge_of_the_tolerance_are_accepted(offset: int) -> None:
    body = event()
    assert verify_webhook(body, signed(body, at=NOW + offset), [SECRET], now=NOW) is not None


def test_a_signature_from_the_real_clock_is_accepted_by_default() -> None:
    body = event()
    assert verify_webhook(body, signed(body, at=int(time.time())), [SECRET]) is not None


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_missing_signature_is_refused(header: str | None) -> None:
    with pytest.raises(MissingSignature):
        verify_webhook(event(), header, [SECRET], now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        f"t={NOW}",
        "s=" + "a" * 64,
        f"t=soon,s={'a' * 64}",
        f"t=-{NOW},s={'a' * 64}",
        f"t={NOW},t={NOW},s={'a' * 64}",
        f"t={NOW},s=not-hex",
        f"t={NOW},s={'a' * 63}",
        f"t={NOW},s={'é' * 64}",
        f"t=١٢٣,s={'a' * 64}",  # digits, but not ASCII ones
        f"t={NOW};s={'a' * 64}",
    ],
)
def test_a_malformed_signature_header_is_refused(header: str) -> None:
    with pytest.raises(MalformedSignatureHeader):
        verify_webhook(event(), header, [SECRET], now=NOW)


def test_without_a_configured_secret_nothing_is_accepted() -> None:
    body = event()
    with pytest.raises(ValueError, match="secret"):
        verify_webhook(body, signed(body), [], now=NOW)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"entity": {}}',
        b'{"name": "transaction.approved"}',
        b'{"name": "transaction.approved", "entity": {"id": 1}}',
    ],
)
def test_a_signed_but_unreadable_body_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedCallback):
        verify_webhook(body, signed(body), [SECRET], now=NOW)


async def test_a_webhook_as_fedapay_delivers_it(
    fedapay: FedapayCollection, peer: FedapayPeer
) -> None:
    received: list[tuple[bytes, str | None]] = []

    async def webhook(request: Request) -> Response:
        received.append((await request.body(), request.headers.get("X-FEDAPAY-SIGNATURE")))
        return Response(status_code=200)

    request = payment()
    ack = await fedapay.request_payment(request)
    gateway = Starlette(routes=[Route("/payments/fedapay/webhook", webhook, methods=["POST"])])
    with serve(gateway) as gateway_url:
        url = f"{gateway_url}/payments/fedapay/webhook"
        transaction_id = int(ack.provider_transaction_id or "0")
        assert await peer.deliver_webhook(url, transaction_id, "transaction.approved") == 200

    [(body, header)] = received
    notice = verify_webhook(body, header, [peer.webhook_secret])
    assert notice is not None
    assert notice.reference == request.reference
    assert notice.state is PaymentState.SUCCEEDED
    confirmed = await fedapay.fetch_status(request.reference, notice.provider_transaction_id)
    assert (confirmed.state, confirmed.amount, confirmed.currency) == (
        PaymentState.SUCCEEDED,
        4725,
        "XOF",
    )


def test_the_peer_signs_as_the_reference_says() -> None:
    body = event()
    assert signature_header(body, SECRET, NOW) == signed(body)
