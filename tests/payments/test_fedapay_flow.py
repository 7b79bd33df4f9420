"""Premiums through FedaPay, end to end: USSD menu, worker, FedaPay (a local server that
speaks its transactions API and signs its webhooks), the signed webhook, coverage.

FedaPay is the default and only provider here, so a Moov payer (whom MoMo cannot serve)
can pay. A webhook only tells the worker to look now; what is credited is the status
FedaPay gives to our own authenticated request."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from gateway.payments.capability import Payments
from gateway.settings import Settings
from tests.peers.fedapay import FedapayPeer, signature_header
from tests.support.gateway import part
from tests.support.http_server import serve
from tests.support.paying import (
    PAY_ALL,
    Now,
    count,
    enrol,
    one_payment,
    pay_by_ussd,
    paying_gateway,
    period,
)
from tests.support.ussd_phone import Phone

ZONE = ZoneInfo("Africa/Porto-Novo")
PAYER = "+2290195000911"  # Moov
PREVIOUS_SECRET = "wh_sandbox_previous"  # still accepted while the secret is rotated
WEBHOOK = "/payments/fedapay/webhook"


@pytest.fixture
def peer() -> Iterator[tuple[FedapayPeer, str]]:
    fedapay = FedapayPeer()
    with serve(fedapay.app) as base_url:
        yield fedapay, base_url
        fedapay.release()


@pytest.fixture
async def gateway(
    settings: Settings,
    clean: None,
    peer: tuple[FedapayPeer, str],
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, Now]]:
    fedapay, base_url = peer
    environ = {  # FedaPay alone: nobody else serves Moov
        "FEDAPAY_BASE_URL": base_url,
        "FEDAPAY_SECRET_KEY": fedapay.secret_key,
        "FEDAPAY_WEBHOOK_SECRET": f"{fedapay.webhook_secret},{PREVIOUS_SECRET}",
    }
    async with paying_gateway(settings, "fedapay", environ) as gateway:
        yield gateway


def notices(db: Session) -> list[tuple[str | None, str, str, str]]:
    db.expire_all()
    rows = db.execute(
        text("SELECT reference, provider, source, outcome FROM payment_notices ORDER BY id")
    ).all()
    return [(row[0], row[1], row[2], row[3]) for row in rows]


async def webhook(
    http: httpx.AsyncClient,
    fedapay: FedapayPeer,
    transaction_id: int,
    name: str,
    *,
    secret: str | None = None,
    timestamp: int | None = None,
) -> int:
    """The event FedaPay would POST about this transaction, signed as FedaPay signs it
    (the peer's own body and header), delivered to the gateway in-process."""
    body = fedapay.webhook_body(transaction_id, name)
    header = signature_header(body, secret or fedapay.webhook_secret, timestamp)
    response = await http.post(
        WEBHOOK,
        content=body,
        headers={"Content-Type": "application/json", "X-FEDAPAY-SIGNATURE": header},
    )
    return response.status_code


async def paid_and_pushed(
    app: Starlette, http: httpx.AsyncClient, fedapay: FedapayPeer, db: Session
) -> tuple[str, int]:
    """Enrol the Moov payer, pay everything by USSD, let the worker push it to FedaPay;
    the payer has not answered the prompt yet. Our reference and FedaPay's id."""
    fedapay.set_outcome(PAYER, "pending")
    await enrol(http, PAYER)
    reply = await pay_by_ussd(http, PAYER, PAY_ALL)
    assert reply.startswith("END Confirmez le paiement de 4725 F"), reply
    assert await part(app, Payments).service.work() == 1
    payment = one_payment(db)
    [transaction_id] = fedapay.transactions
    assert payment["provider_transaction_id"] == str(transaction_id)
    assert fedapay.transactions[transaction_id]["status"] == "pending"
    return payment["reference"], transaction_id


async def test_a_moov_payer_enrols_pays_by_ussd_and_is_credited_after_the_webhook(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[FedapayPeer, str],
    db: Session,
) -> None:
    app, http, _ = gateway
    fedapay, _ = peer
    fedapay.set_outcome(PAYER, "pending")  # the payer has not answered the prompt yet
    member_no = await enrol(http, PAYER)

    phone = Phone(http, PAYER)
    menu = await phone.dial("")
    assert menu.startswith("CON ") and "2. Payer ma cotisation" in menu
    for answer, expected in [
        ("2", ["Payer pour:", "1. Mon ménage"]),
        ("1", [f"Ménage {member_no}", "Reste à payer: 4725 F", "1. Tout payer"]),
        ("1", ["Payer avec:", "1. Ce numéro"]),
        ("1", ["Payer 4725 F avec le 01 95 00 09 11?", "1. Confirmer"]),
    ]:
        reply = await phone.type(answer)
        assert reply.startswith("CON "), (answer, reply)
        assert all(e in reply for e in expected), (answer, reply)
    reply = await phone.type("1")
    assert reply.startswith("END Confirmez le paiement de 4725 F"), reply

    payment = one_payment(db)
    assert (payment["status"], payment["amount"], payment["currency"]) == ("pending", 4725, "XOF")
    assert (payment["provider"], payment["operator"]) == ("fedapay", "moov")
    assert fedapay.requests == []  # the USSD hop never waits for a provider

    assert await part(app, Payments).service.work() == 1
    [created] = fedapay.requests_to("create")
    sent = created.json()
    reference = payment["reference"]
    assert sent["amount"] == 4725
    assert sent["currency"] == {"iso": "XOF"}
    assert sent["customer"]["phone_number"] == {"number": PAYER, "country": "bj"}
    assert sent["merchant_reference"] == reference
    assert sent["custom_metadata"]["payment_ref"] == reference
    assert created.headers["authorization"] == f"Bearer {fedapay.secret_key}"
    [transaction_id] = fedapay.transactions
    assert [r.path for r in fedapay.requests_to("token")] == [
        f"/v1/transactions/{transaction_id}/token"
    ]
    [push] = fedapay.requests_to("push")
    assert push.path == "/v1/moov"  # Moov Money's mode
    assert push.json()["phone_number"] == {"number": PAYER, "country": "bj"}
    assert one_payment(db)["provider_transaction_id"] == str(transaction_id)
    assert await part(app, Payments).service.work() == 0  # nothing to ask before the poll is due

    fedapay.settle(transaction_id, "approved")  # the payer approves on their phone
    assert await webhook(http, fedapay, transaction_id, "transaction.approved") == 200
    assert one_payment(db)["status"] == "pending"  # a webhook alone credits nothing
    assert notices(db) == [(reference, "fedapay", "webhook", "to_confirm")]

    assert fedapay.requests_to("status") == []
    assert await part(app, Payments).service.work() == 1  # the webhook made it due at once
    assert [r.path for r in fedapay.requests_to("status")] == [f"/v1/transactions/{transaction_id}"]
    payment = one_payment(db)
    assert payment["status"] == "succeeded" and payment["receipt_no"]
    assert payment["reason"] is None
    assert period(db) == (4725, "waiting")
    assert (
        count(
            db,
            "SELECT COUNT(*) FROM messages WHERE purpose = 'receipt' AND status = 'queued'"
            f" AND payment_reference = '{reference}'",
        )
        == 1
    )
    assert count(db, "SELECT COUNT(*) FROM messages WHERE purpose = 'receipt'") == 1

    rights = await pay_by_ussd(http, PAYER, ["3"])
    assert "Statut: délai avant les soins" in rights
    assert "Déjà payé: 4725 F" in rights and "Reste à payer" not in rights


@pytest.mark.parametrize(
    ("status", "event", "reason"),
    [
        ("declined", "transaction.declined", "declined"),
        ("canceled", "transaction.canceled", "cancelled"),
    ],
)
async def test_a_declined_transaction_fails_with_its_reason_and_credits_nothing(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[FedapayPeer, str],
    db: Session,
    status: str,
    event: str,
    reason: str,
) -> None:
    app, http, _ = gateway
    fedapay, _ = peer
    reference, transaction_id = await paid_and_pushed(app, http, fedapay, db)
    fedapay.settle(transaction_id, status)
    assert await webhook(http, fedapay, transaction_id, event) == 200
    assert await part(app, Payments).service.work() == 1
    payment = one_payment(db)
    assert (payment["status"], payment["reason"], payment["receipt_no"]) == (
        "failed",
        reason,
        None,
    )
    assert period(db) == (0, "pending_payment")
    assert count(db, "SELECT COUNT(*) FROM messages WHERE purpose = 'receipt'") == 0
    # Final: a late copy of the webhook is acknowledged and changes nothing.
    assert await webhook(http, fedapay, transaction_id, event) == 200
    assert await part(app, Payments).service.work() == 0
    assert one_payment(db)["status"] == "failed"
    assert notices(db) == [(reference, "fedapay", "webhook", "to_confirm")] * 2


async def test_a_payer_who_declines_the_push_at_once(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[FedapayPeer, str],
    db: Session,
) -> None:
    app, http, _ = gateway
    fedapay, _ = peer
    fedapay.set_outcome(PAYER, "declined")
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, PAY_ALL)
    await part(app, Payments).service.work()
    [transaction_id] = fedapay.transactions
    assert fedapay.transactions[transaction_id]["status"] == "declined"
    assert await webhook(http, fedapay, transaction_id, "transaction.declined") == 200
    await part(app, Payments).service.work()
    payment = one_payment(db)
    assert (payment["status"], payment["reason"]) == ("failed", "declined")
    assert period(db) == (0, "pending_payment")


async def test_ten_concurrent_copies_of_the_approved_webhook_credit_once(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[FedapayPeer, str],
    db: Session,
) -> None:
    app, http, _ = gateway
    fedapay, _ = peer
    reference, transaction_id = await paid_and_pushed(app, http, fedapay, db)
    fedapay.settle(transaction_id, "approved")
    codes = await asyncio.gather(
        *(webhook(http, fedapay, transaction_id, "transaction.approved") for _ in range(10))
    )
    assert codes == [200] * 10
    await asyncio.gather(*(part(app, Payments).service.work() for _ in range(3)))
    await part(app, Payments).service.work()
    payment = one_payment(db)
    assert payment["status"] == "succeeded" and payment["receipt_no"]
    assert period(db) == (4725, "waiting")
    assert count(db, "SELECT COUNT(*) FROM messages WHERE purpose = 'receipt'") == 1
    # Every copy is kept, each one acknowledged.
    assert notices(db) == [(reference, "fedapay", "webhook", "to_confirm")] * 10

    # ...and copies arriving after the credit still get a 200 and change nothing.
    again = await asyncio.gather(
        *(webhook(http, fedapay, transaction_id, "transaction.approved") for _ in range(10))
    )
    assert again == [200] * 10
    assert await part(app, Payments).service.work() == 0
    assert one_payment(db)["receipt_no"] == payment["receipt_no"]
    assert period(db) == (4725, "waiting")
    assert count(db, "SELECT COUNT(*) FROM messages WHERE purpose = 'receipt'") == 1
    assert count(db, "SELECT COUNT(*) FROM payment_notices") == 20


async def test_a_webhook_signed_with_the_previous_secret_is_accepted_during_rotation(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[FedapayPeer, str],
    db: Session,
) -> None:
    app, http, _ = gateway
    fedapay, _ = peer
    reference, transaction_id = await paid_and_pushed(app, http, fedapay, db)
    fedapay.settle(transaction_id, "approved")
    status = await webhook(
        http, fedapay, transaction_id, "transaction.approved", secret=PREVIOUS_SECRET
    )
    assert status == 200
    assert notices(db) == [(reference, "fedapay", "webhook", "to_confirm")]
    assert await part(app, Payments).service.work() == 1
    assert one_payment(db)["status"] == "succeeded"
    assert period(db) == (4725, "waiting")


@pytest.mark.parametrize(
    ("secret", "age", "code", "outcome"),
    [
        ("wh_sandbox_someone_else", 0, 401, "refused: SignatureMismatch"),
        (None, 301, 400, "refused: TimestampOutOfTolerance"),  # the right secret, too old
        (None, -310, 400, "refused: TimestampOutOfTolerance"),  # ...or from the future
        (PREVIOUS_SECRET, 3600, 400, "refused: TimestampOutOfTolerance"),
    ],
)
async def test_a_forged_or_stale_webhook_is_refused_and_changes_nothing(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[FedapayPeer, str],
    db: Session,
    secret: str | None,
    age: int,
    code: int,
    outcome: str,
) -> None:
    app, http, _ = gateway
    fedapay, _ = peer
    _, transaction_id = await paid_and_pushed(app, http, fedapay, db)
    fedapay.settle(transaction_id, "approved")
    status = await webhook(
        http,
        fedapay,
        transaction_id,
        "transaction.approved",
        secret=secret,
        timestamp=int(time.time()) - age,
    )
    assert status == code
    # Kept for review, attached to no payment; the payment was not made due.
    assert notices(db) == [(None, "fedapay", "webhook", outcome)]
    kept = count(db, "SELECT COUNT(*) FROM payment_notices WHERE body LIKE '%approved%'")
    assert kept == 1
    assert await part(app, Payments).service.work() == 0
    assert fedapay.requests_to("status") == []
    payment = one_payment(db)
    assert (payment["status"], payment["receipt_no"]) == ("pending", None)
    assert period(db) == (0, "pending_payment")
    assert count(db, "SELECT COUNT(*) FROM messages WHERE purpose = 'receipt'") == 0


async def test_an_unsigned_or_tampered_webhook_is_refused(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[FedapayPeer, str],
    db: Session,
) -> None:
    app, http, _ = gateway
    fedapay, _ = peer
    _, transaction_id = await paid_and_pushed(app, http, fedapay, db)
    body = fedapay.webhook_body(transaction_id, "transaction.approved")
    header = signature_header(body, fedapay.webhook_secret)
    tampered = json.loads(body)
    tampered["entity"]["status"] = "approved"
    tampered["entity"]["amount"] = 1
    cases = [
        (body, {}, 401),
        (json.dumps(tampered).encode(), {"X-FEDAPAY-SIGNATURE": header}, 401),
        (body, {"X-FEDAPAY-SIGNATURE": "t=soon,s=nothing"}, 400),
    ]
    for content, headers, expected in cases:
        response = await http.post(WEBHOOK, content=content, headers=headers)
        assert response.status_code == expected, (headers, response.text)
    assert [n[0] for n in notices(db)] == [None] * len(cases)
    assert await part(app, Payments).service.work() == 0
    assert one_payment(db)["status"] == "pending"
    assert period(db) == (0, "pending_payment")


async def test_a_lost_webhook_is_made_good_by_the_workers_poll(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[FedapayPeer, str],
    db: Session,
) -> None:
    app, http, now = gateway
    fedapay, _ = peer
    _, transaction_id = await paid_and_pushed(app, http, fedapay, db)
    fedapay.settle(transaction_id, "approved")  # ...and the webhook never arrives
    now.at += timedelta(seconds=59)
    assert await part(app, Payments).service.work() == 0  # not due yet
    assert fedapay.requests_to("status") == []
    now.at += timedelta(seconds=2)  # past PAYMENT_POLL_AFTER (60 s)
    assert await part(app, Payments).service.work() == 1
    assert len(fedapay.requests_to("status")) == 1
    payment = one_payment(db)
    assert payment["status"] == "succeeded" and payment["receipt_no"]
    assert period(db) == (4725, "waiting")
    assert count(db, "SELECT COUNT(*) FROM messages WHERE purpose = 'receipt'") == 1
    assert notices(db) == []

    # The webhook turns up after all, late: acknowledged, nothing credited twice.
    assert await webhook(http, fedapay, transaction_id, "transaction.approved") == 200
    assert await part(app, Payments).service.work() == 0
    assert period(db) == (4725, "waiting")
    assert count(db, "SELECT COUNT(*) FROM messages WHERE purpose = 'receipt'") == 1


async def test_a_still_pending_transaction_is_asked_again_until_it_settles(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[FedapayPeer, str],
    db: Session,
) -> None:
    app, http, now = gateway
    fedapay, _ = peer
    _, transaction_id = await paid_and_pushed(app, http, fedapay, db)
    # A webhook that says nothing new (transaction.created) only makes the worker look.
    assert await webhook(http, fedapay, transaction_id, "transaction.created") == 200
    assert await part(app, Payments).service.work() == 1
    assert one_payment(db)["status"] == "pending"
    fedapay.settle(transaction_id, "approved")
    now.at += timedelta(seconds=61)
    assert await part(app, Payments).service.work() == 1
    assert one_payment(db)["status"] == "succeeded"
    assert period(db) == (4725, "waiting")


async def test_a_fedapay_transaction_carries_no_momo_callback_url(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[FedapayPeer, str],
    db: Session,
) -> None:
    app, http, _ = gateway
    fedapay, _ = peer
    await paid_and_pushed(app, http, fedapay, db)
    [created] = fedapay.requests_to("create")
    assert "/payments/momo/" not in (created.json().get("callback_url") or "")


@pytest.mark.parametrize(
    ("what", "amount", "currency"),
    [("amount", 4000, None), ("currency", 4725, {"iso": "EUR"})],
)
async def test_a_confirmed_amount_or_currency_that_differs_goes_to_review(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[FedapayPeer, str],
    db: Session,
    what: str,
    amount: int,
    currency: dict[str, str] | None,
) -> None:
    app, http, _ = gateway
    fedapay, _ = peer
    _, transaction_id = await paid_and_pushed(app, http, fedapay, db)
    fedapay.transactions[transaction_id]["amount"] = amount
    if currency is not None:
        fedapay.transactions[transaction_id]["currency"] = currency
    fedapay.settle(transaction_id, "approved")
    assert await webhook(http, fedapay, transaction_id, "transaction.approved") == 200
    await part(app, Payments).service.work()
    payment = one_payment(db)
    assert (payment["status"], payment["reason"]) == ("needs_review", "amount_mismatch"), what
    assert period(db) == (0, "pending_payment")
    assert count(db, "SELECT COUNT(*) FROM messages WHERE purpose = 'receipt'") == 0


@pytest.mark.parametrize(
    ("route", "status", "after", "pushes"),
    [
        pytest.param("create", 500, True, 1, id="create-answer-lost"),
        pytest.param("token", 503, False, 1, id="token-503"),
        pytest.param("push", 503, False, 2, id="push-503"),
    ],
)
async def test_a_push_lost_to_a_transient_error_still_reaches_the_payer(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[FedapayPeer, str],
    db: Session,
    route: str,
    status: int,
    after: bool,
    pushes: int,
) -> None:
    app, http, now = gateway
    fedapay, _ = peer
    fedapay.fail_next(route, status, after=after)  # the payer would approve at once
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, PAY_ALL)
    for _ in range(8):  # four minutes of the worker, well inside PAYMENT_EXPIRE_AFTER
        await part(app, Payments).service.work()
        now.at += timedelta(seconds=31)
    assert len(fedapay.transactions) == 1  # never a second transaction
    assert len(fedapay.requests_to("push")) == pushes  # the payer was prompted after all
    assert one_payment(db)["status"] == "succeeded"
