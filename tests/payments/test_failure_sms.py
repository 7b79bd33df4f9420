"""A refused payment tells its payer that nothing was taken and how to try again: one SMS
per payment, through the outbox, however many callbacks, webhooks and polls confirm it.
Against the local MoMo and FedaPay peers and the built-in sandbox, each over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from gateway.payments.capability import Payments
from gateway.payments.sandbox import sandbox_app
from gateway.settings import Settings
from menus.gsm import segments
from menus.text import load_catalogues
from tests.payments.test_fedapay_flow import paid_and_pushed, webhook
from tests.payments.test_momo_flow import callback, momo_environ
from tests.peers.fedapay import FedapayPeer
from tests.peers.momo import MomoPeer
from tests.support.gateway import part
from tests.support.http_server import serve
from tests.support.paying import PAY_ALL, Now, enrol, one_payment, pay_by_ussd, paying_gateway

MTN_PAYER = "+2290197000901"
MOOV_PAYER = "+2290195000911"
SMS = load_catalogues("gateway.sms", "templates")
DUE = 4725  # a household of three grown-ups on the demo's family product


def failure_sms(db: Session) -> list[dict[str, Any]]:
    db.expire_all()
    rows = db.execute(
        text(
            "SELECT phone, template, text, dedupe_key, segments, status FROM messages"
            " WHERE purpose = 'payment_failed' ORDER BY id"
        )
    ).mappings()
    return [dict(row) for row in rows]


def assert_says_nothing_taken(message: dict[str, Any], amount: int = DUE) -> None:
    """French (the household's language): the amount as the SMS catalogue writes money,
    nothing taken, and the way back to the pay menu."""
    words = message["text"]
    assert f"paiement de {SMS['fr'].money(amount)}" in words, words
    assert "Rien n'a été prélevé." in words, words
    assert "composez *384*22# puis 2 Payer." in words, words
    assert message["segments"] == segments(words) == 1
    assert message["status"] == "queued"  # the dispatcher sends it, as every SMS


# -- MTN MoMo ---------------------------------------------------------------------------


@pytest.fixture
def momo_peer() -> Iterator[tuple[MomoPeer, str]]:
    momo = MomoPeer()
    with serve(momo.app) as base_url:
        yield momo, base_url


@pytest.fixture
async def momo_gateway(
    settings: Settings, clean: None, momo_peer: tuple[MomoPeer, str]
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, Now]]:
    async with paying_gateway(settings, "momo", momo_environ(momo_peer)) as gateway:
        yield gateway


@pytest.mark.parametrize(
    ("reason", "template", "words"),
    [
        ("NOT_ENOUGH_FUNDS", "payment_failed_funds", "solde Mobile Money insuffisant"),
        ("APPROVAL_REJECTED", "payment_failed_declined", "a été refusé"),
        ("EXPIRED", "payment_failed_expired", "pas été confirmé à temps"),
        ("PAYER_NOT_FOUND", "payment_failed", "n'a pas abouti."),
    ],
)
async def test_a_payment_momo_refuses_sends_one_sms_whatever_confirms_it_again(
    momo_gateway: tuple[Starlette, httpx.AsyncClient, Now],
    momo_peer: tuple[MomoPeer, str],
    db: Session,
    reason: str,
    template: str,
    words: str,
) -> None:
    app, http, now = momo_gateway
    momo, _ = momo_peer
    momo.set_outcome(MTN_PAYER.removeprefix("+"), "FAILED", reason)
    await enrol(http, MTN_PAYER)
    await pay_by_ussd(http, MTN_PAYER, PAY_ALL)
    await part(app, Payments).service.work()
    reference = one_payment(db)["reference"]
    assert failure_sms(db) == []  # submitted, not yet confirmed: nothing said
    # MTN's callback, by PUT and again by POST, each confirmed by the worker's GET.
    for method in ("PUT", "POST", "PUT"):
        assert await callback(http, momo, reference, method) == 200
        await part(app, Payments).service.work()
    now.at += timedelta(days=1)  # and any poll later on
    await part(app, Payments).service.work()
    assert one_payment(db)["status"] == "failed"
    [message] = failure_sms(db)
    assert (message["phone"], message["template"], message["dedupe_key"]) == (
        MTN_PAYER,
        template,
        f"payment_failed:{reference}",
    )
    assert words in message["text"]
    assert_says_nothing_taken(message)


async def test_a_success_or_a_pending_payment_sends_no_failure_sms(
    momo_gateway: tuple[Starlette, httpx.AsyncClient, Now],
    momo_peer: tuple[MomoPeer, str],
    db: Session,
) -> None:
    app, http, _ = momo_gateway
    momo, _ = momo_peer
    momo.set_outcome(MTN_PAYER.removeprefix("+"), "PENDING")
    await enrol(http, MTN_PAYER)
    await pay_by_ussd(http, MTN_PAYER, PAY_ALL)
    await part(app, Payments).service.work()
    reference = one_payment(db)["reference"]
    assert await callback(http, momo, reference) == 200
    await part(app, Payments).service.work()
    assert failure_sms(db) == []
    momo.settle(UUID(reference), "SUCCESSFUL")
    assert await callback(http, momo, reference) == 200
    await part(app, Payments).service.work()
    assert one_payment(db)["status"] == "succeeded"
    assert failure_sms(db) == []


async def test_a_payment_expired_here_then_refused_by_momo_still_tells_the_payer_once(
    momo_gateway: tuple[Starlette, httpx.AsyncClient, Now],
    momo_peer: tuple[MomoPeer, str],
    db: Session,
) -> None:
    app, http, now = momo_gateway
    momo, _ = momo_peer
    momo.set_outcome(MTN_PAYER.removeprefix("+"), "PENDING")  # the payer says nothing
    await enrol(http, MTN_PAYER)
    await pay_by_ussd(http, MTN_PAYER, PAY_ALL)
    await part(app, Payments).service.work()
    now.at += timedelta(seconds=shared_expiry(app) + 1)
    await part(app, Payments).service.work()
    payment = one_payment(db)
    assert payment["status"] == "expired"
    assert failure_sms(db) == []  # we stopped waiting; MoMo may still take the money
    momo.settle(UUID(payment["reference"]), "FAILED", "NOT_ENOUGH_FUNDS")
    for _ in range(3):  # the callback, then the worker's later polls
        assert await callback(http, momo, payment["reference"]) == 200
        await part(app, Payments).service.work()
        now.at += timedelta(hours=1)
        await part(app, Payments).service.work()
    [message] = failure_sms(db)
    assert message["template"] == "payment_failed_funds"
    assert_says_nothing_taken(message)


async def test_a_payment_that_never_reached_momo_tells_the_payer_nothing_was_taken(
    momo_gateway: tuple[Starlette, httpx.AsyncClient, Now],
    momo_peer: tuple[MomoPeer, str],
    db: Session,
) -> None:
    app, http, now = momo_gateway
    momo, _ = momo_peer
    momo.fail_next("requesttopay", 503)  # refused before MoMo recorded anything
    await enrol(http, MTN_PAYER)
    await pay_by_ussd(http, MTN_PAYER, PAY_ALL)
    opened = now.at
    await part(app, Payments).service.work()
    now.at = opened + timedelta(seconds=shared_expiry(app))
    await part(app, Payments).service.work()  # MoMo: never heard of it
    await part(app, Payments).service.work()  # too late to prompt now: given up
    assert (one_payment(db)["status"], one_payment(db)["reason"]) == ("failed", "not_submitted")
    [message] = failure_sms(db)
    assert message["template"] == "payment_failed"
    assert_says_nothing_taken(message)


def shared_expiry(app: Starlette) -> int:
    return part(app, Payments).service.settings.expire_after


# -- FedaPay ----------------------------------------------------------------------------


@pytest.fixture
def fedapay_peer() -> Iterator[tuple[FedapayPeer, str]]:
    fedapay = FedapayPeer()
    with serve(fedapay.app) as base_url:
        yield fedapay, base_url
        fedapay.release()


@pytest.fixture
async def fedapay_gateway(
    settings: Settings, clean: None, fedapay_peer: tuple[FedapayPeer, str]
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, Now]]:
    fedapay, base_url = fedapay_peer
    environ = {
        "FEDAPAY_BASE_URL": base_url,
        "FEDAPAY_SECRET_KEY": fedapay.secret_key,
        "FEDAPAY_WEBHOOK_SECRET": fedapay.webhook_secret,
    }
    async with paying_gateway(settings, "fedapay", environ) as gateway:
        yield gateway


async def test_a_declined_fedapay_transaction_sends_one_sms_under_repeated_webhooks(
    fedapay_gateway: tuple[Starlette, httpx.AsyncClient, Now],
    fedapay_peer: tuple[FedapayPeer, str],
    db: Session,
) -> None:
    app, http, now = fedapay_gateway
    fedapay, _ = fedapay_peer
    reference, transaction_id = await paid_and_pushed(app, http, fedapay, db)
    fedapay.settle(transaction_id, "declined")
    for _ in range(3):
        assert await webhook(http, fedapay, transaction_id, "transaction.declined") == 200
        await part(app, Payments).service.work()
    now.at += timedelta(days=1)
    await part(app, Payments).service.work()
    [message] = failure_sms(db)
    assert (message["phone"], message["template"], message["dedupe_key"]) == (
        MOOV_PAYER,
        "payment_failed_declined",
        f"payment_failed:{reference}",
    )
    assert_says_nothing_taken(message)


# -- the built-in sandbox (`alafia demo`), served on a port as MoMo ----------------------


@pytest.fixture
def sandbox() -> Iterator[str]:
    with serve(sandbox_app(callback_delay=0)) as base_url:
        yield base_url


@pytest.fixture
async def sandbox_gateway(
    settings: Settings, clean: None, sandbox: str
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, Now]]:
    environ = {
        "MOMO_BASE_URL": sandbox,
        "MOMO_SUBSCRIPTION_KEY": "sandbox",
        "MOMO_API_USER": "sandbox",
        "MOMO_API_KEY": "sandbox",
        "MOMO_TARGET_ENVIRONMENT": "alafia-sandbox",
        "MOMO_CURRENCY": "XOF",
    }
    async with paying_gateway(settings, "momo", environ) as gateway:
        yield gateway


@pytest.mark.parametrize(
    ("payer", "template"),
    [
        ("+2290197000009", "payment_failed_funds"),
        ("+2290197000008", "payment_failed_declined"),
        ("+2290197000006", "payment_failed_expired"),
    ],
)
async def test_the_sandbox_demo_payers_who_fail_get_their_sms(
    sandbox_gateway: tuple[Starlette, httpx.AsyncClient, Now],
    db: Session,
    payer: str,
    template: str,
) -> None:
    app, http, now = sandbox_gateway
    await enrol(http, payer)
    await pay_by_ussd(http, payer, PAY_ALL)
    await part(app, Payments).service.work()  # submitted; the sandbox decides at once
    for _ in range(3):  # polled until final, and polled again: one SMS
        now.at += timedelta(hours=1)
        await part(app, Payments).service.work()
    assert one_payment(db)["status"] == "failed"
    [message] = failure_sms(db)
    assert (message["phone"], message["template"]) == (payer, template)
    assert_says_nothing_taken(message)
