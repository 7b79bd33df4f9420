"""Premiums by mobile money, end to end: USSD menu, worker, MoMo (a local server that
speaks MTN's protocol), callbacks, coverage. Nothing lost, nothing credited twice."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from gateway.payments.capability import Payments
from gateway.settings import Settings
from tests.peers.momo import MomoPeer
from tests.support.gateway import part, shared
from tests.support.http_server import serve
from tests.support.paying import (
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
PAYER = "+2290197000901"  # MTN


@pytest.fixture
def peer() -> Iterator[tuple[MomoPeer, str]]:
    momo = MomoPeer()
    with serve(momo.app) as base_url:
        yield momo, base_url


def momo_environ(peer: tuple[MomoPeer, str]) -> dict[str, str]:
    """The settings that reach the MoMo peer, as an operator would set them."""
    momo, base_url = peer
    return {
        "MOMO_BASE_URL": base_url,
        "MOMO_SUBSCRIPTION_KEY": momo.subscription_key,
        "MOMO_API_USER": momo.api_user,
        "MOMO_API_KEY": momo.api_key,
        "MOMO_TARGET_ENVIRONMENT": momo.target_environment,
        "MOMO_CURRENCY": "XOF",
        "FEDAPAY_WEBHOOK_SECRET": "whsec_current,whsec_previous",
    }


@pytest.fixture
async def gateway(
    settings: Settings, clean: None, peer: tuple[MomoPeer, str]
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, Now]]:
    async with paying_gateway(settings, "momo", momo_environ(peer)) as gateway:
        yield gateway


# Shorter than the defaults (900 s, a day), so that a delay read from anywhere but the
# settings would show.
EXPIRE_AFTER, KEEP_POLLING_FOR = 600, 3600


@pytest.fixture
async def impatient_gateway(
    settings: Settings, clean: None, peer: tuple[MomoPeer, str]
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, Now]]:
    """The gateway configured with PAYMENT_EXPIRE_AFTER=600 and PAYMENT_KEEP_POLLING_FOR=3600."""
    environ = {
        **momo_environ(peer),
        "PAYMENT_EXPIRE_AFTER": str(EXPIRE_AFTER),
        "PAYMENT_KEEP_POLLING_FOR": str(KEEP_POLLING_FOR),
    }
    async with paying_gateway(settings, "momo", environ) as gateway:
        payments = shared(gateway[0]).settings.payments
        assert (payments.expire_after, payments.keep_polling_for) == (
            EXPIRE_AFTER,
            KEEP_POLLING_FOR,
        )
        yield gateway


async def callback(
    http: httpx.AsyncClient, momo: MomoPeer, reference: str, method: str = "PUT"
) -> int:
    """MTN's callback as it would arrive: the status body, our reference in the path only."""
    body = momo.payments[reference]
    response = await http.request(method, f"/payments/momo/callback/{reference}", json=body)
    return response.status_code


async def test_the_whole_loop_enrol_pay_callback_cover(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], peer: tuple[MomoPeer, str], db: Session
) -> None:
    app, http, _ = gateway
    momo, _ = peer
    momo.set_outcome(PAYER.removeprefix("+"), "PENDING")
    await enrol(http, PAYER)
    # main menu: 1 join, 2 pay, 3 my rights...; pay for my household, everything, this number
    reply = await pay_by_ussd(http, PAYER, ["2", "1", "1", "1"])
    assert "Payer 4725 F avec le 01 97 00 09 01?" in reply
    reply = await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    assert reply.startswith("END Confirmez le paiement de 4725 F")
    assert one_payment(db)["status"] == "pending"
    assert momo.requests_to("requesttopay") == []  # the USSD hop never waits for a provider

    assert await part(app, Payments).service.work() == 1
    [sent] = momo.requests_to("requesttopay")
    reference = sent.headers["x-reference-id"]
    assert reference == one_payment(db)["reference"]
    assert sent.json()["amount"] == "4725" and sent.json()["payer"]["partyId"] == "2290197000901"
    assert (
        sent.headers["x-callback-url"]
        == f"https://gateway.example.org/payments/momo/callback/{reference}"
    )

    momo.settle(UUID(reference), "SUCCESSFUL")
    assert await callback(http, momo, reference) == 200
    assert one_payment(db)["status"] == "pending"  # a callback alone credits nothing
    await part(app, Payments).service.work()
    payment = one_payment(db)
    assert payment["status"] == "succeeded" and payment["receipt_no"]
    assert period(db) == (4725, "waiting")
    assert (
        db.execute(text("SELECT COUNT(*) FROM messages WHERE purpose = 'receipt'")).scalar_one()
        == 1
    )

    rights = await pay_by_ussd(http, PAYER, ["3"])
    assert "Statut: délai avant les soins" in rights
    assert "Soins couverts à partir du 23/12/2026" in rights
    assert "Déjà payé: 4725 F" in rights and "Reste à payer" not in rights


async def test_ten_concurrent_copies_of_a_callback_credit_once(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], peer: tuple[MomoPeer, str], db: Session
) -> None:
    app, http, _ = gateway
    momo, _ = peer
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    await part(app, Payments).service.work()
    reference = one_payment(db)["reference"]
    codes = await asyncio.gather(*(callback(http, momo, reference, m) for m in ["PUT", "POST"] * 5))
    assert set(codes) == {200}
    await asyncio.gather(*(part(app, Payments).service.work() for _ in range(3)))
    for _ in range(10):
        assert await callback(http, momo, reference) == 200  # the tenth copy still gets a 200
    await part(app, Payments).service.work()
    assert period(db) == (4725, "waiting")
    assert (
        db.execute(text("SELECT COUNT(*) FROM messages WHERE purpose = 'receipt'")).scalar_one()
        == 1
    )
    assert db.execute(text("SELECT COUNT(*) FROM payment_notices")).scalar_one() == 20  # all kept


async def test_a_lost_callback_is_reconciled_by_the_worker(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], peer: tuple[MomoPeer, str], db: Session
) -> None:
    app, http, now = gateway
    momo, _ = peer
    momo.set_outcome(PAYER.removeprefix("+"), "PENDING")
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    await part(app, Payments).service.work()
    reference = one_payment(db)["reference"]
    momo.settle(UUID(reference), "SUCCESSFUL")  # ...and MTN never calls back
    assert await part(app, Payments).service.work() == 0  # not due yet
    now.at += timedelta(seconds=61)
    assert await part(app, Payments).service.work() == 1
    assert one_payment(db)["status"] == "succeeded"
    assert period(db)[0] == 4725


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("NOT_ENOUGH_FUNDS", "insufficient_funds"),
        ("APPROVAL_REJECTED", "payer_declined"),
        ("EXPIRED", "expired"),
    ],
)
async def test_a_refused_payment_fails_with_its_reason_and_credits_nothing(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[MomoPeer, str],
    db: Session,
    reason: str,
    expected: str,
) -> None:
    app, http, _ = gateway
    momo, _ = peer
    momo.set_outcome(PAYER.removeprefix("+"), "FAILED", reason)
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    await part(app, Payments).service.work()
    reference = one_payment(db)["reference"]
    assert await callback(http, momo, reference) == 200
    await part(app, Payments).service.work()
    payment = one_payment(db)
    assert (payment["status"], payment["reason"]) == ("failed", expected)
    assert period(db) == (0, "pending_payment")


async def test_a_confirmed_amount_that_differs_goes_to_review(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], peer: tuple[MomoPeer, str], db: Session
) -> None:
    app, http, _ = gateway
    momo, _ = peer
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    await part(app, Payments).service.work()
    reference = one_payment(db)["reference"]
    momo.payments[reference]["amount"] = "4000"
    await callback(http, momo, reference)
    await part(app, Payments).service.work()
    assert one_payment(db)["status"] == "needs_review"
    assert period(db) == (0, "pending_payment")


async def test_a_timeout_on_creation_is_resolved_by_asking_not_by_charging_twice(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], peer: tuple[MomoPeer, str], db: Session
) -> None:
    app, http, now = gateway
    momo, _ = peer
    momo.fail_next("requesttopay", 500, after=True)  # MTN took the request, then answered 500
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    await part(app, Payments).service.work()
    now.at += timedelta(seconds=11)
    await part(app, Payments).service.work()
    assert len(momo.requests_to("requesttopay")) == 1
    assert one_payment(db)["status"] == "succeeded"


async def test_a_request_that_never_arrived_is_sent_again_with_the_same_reference(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], peer: tuple[MomoPeer, str], db: Session
) -> None:
    app, http, now = gateway
    momo, _ = peer
    momo.fail_next("requesttopay", 503)  # refused before anything was recorded
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    await part(app, Payments).service.work()
    now.at += timedelta(seconds=11)
    await part(app, Payments).service.work()  # status: 404, never arrived
    await part(app, Payments).service.work()  # sent again
    sent = momo.requests_to("requesttopay")
    assert len(sent) == 2 and len({r.headers["x-reference-id"] for r in sent}) == 1
    now.at += timedelta(seconds=61)
    await part(app, Payments).service.work()
    assert one_payment(db)["status"] == "succeeded"


async def test_a_late_success_after_local_expiry_is_still_credited(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], peer: tuple[MomoPeer, str], db: Session
) -> None:
    app, http, now = gateway
    momo, _ = peer
    momo.set_outcome(PAYER.removeprefix("+"), "PENDING")
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    await part(app, Payments).service.work()
    now.at += timedelta(minutes=16)
    await part(app, Payments).service.work()
    assert one_payment(db)["status"] == "expired"
    reference = one_payment(db)["reference"]
    momo.settle(UUID(reference), "SUCCESSFUL")
    assert await callback(http, momo, reference) == 200
    await part(app, Payments).service.work()
    assert one_payment(db)["status"] == "succeeded"
    assert period(db) == (4725, "waiting")


async def test_a_payment_nobody_confirms_is_expired_locally_after_payment_expire_after(
    impatient_gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[MomoPeer, str],
    db: Session,
) -> None:
    app, http, now = impatient_gateway
    momo, _ = peer
    momo.set_outcome(PAYER.removeprefix("+"), "PENDING")  # the payer never answers the prompt
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    opened = now.at
    await part(app, Payments).service.work()
    now.at = opened + timedelta(seconds=EXPIRE_AFTER - 1)
    assert await part(app, Payments).service.work() == 1
    assert one_payment(db)["status"] == "pending"
    now.at += timedelta(seconds=30)  # the next look, after PAYMENT_EXPIRE_AFTER
    assert await part(app, Payments).service.work() == 1
    payment = one_payment(db)
    assert (payment["status"], payment["reason"]) == ("expired", "expired")
    assert period(db) == (0, "pending_payment")
    assert len(momo.requests_to("requesttopay")) == 1  # expired here, never prompted again
    assert count(db, "SELECT COUNT(*) FROM payments WHERE next_check_at IS NOT NULL") == 1


async def test_an_expired_payment_that_succeeds_within_keep_polling_for_is_credited(
    impatient_gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[MomoPeer, str],
    db: Session,
) -> None:
    app, http, now = impatient_gateway
    momo, _ = peer
    momo.set_outcome(PAYER.removeprefix("+"), "PENDING")
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    opened = now.at
    await part(app, Payments).service.work()
    now.at = opened + timedelta(seconds=EXPIRE_AFTER)
    await part(app, Payments).service.work()
    assert one_payment(db)["status"] == "expired"
    reference = one_payment(db)["reference"]
    # The payer confirms at last and MTN never calls back: the worker's own look finds it.
    momo.settle(UUID(reference), "SUCCESSFUL")
    now.at = opened + timedelta(seconds=EXPIRE_AFTER + KEEP_POLLING_FOR - 1)
    assert await part(app, Payments).service.work() == 1
    payment = one_payment(db)
    assert payment["status"] == "succeeded" and payment["receipt_no"]
    assert period(db) == (4725, "waiting")
    assert count(db, "SELECT COUNT(*) FROM messages WHERE purpose = 'receipt'") == 1


async def test_after_keep_polling_for_the_worker_stops_asking_and_leaves_it_to_a_person(
    impatient_gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[MomoPeer, str],
    db: Session,
) -> None:
    app, http, now = impatient_gateway
    momo, _ = peer
    momo.set_outcome(PAYER.removeprefix("+"), "PENDING")
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    opened = now.at
    await part(app, Payments).service.work()
    now.at = opened + timedelta(seconds=EXPIRE_AFTER)
    await part(app, Payments).service.work()
    assert one_payment(db)["status"] == "expired"
    reference = one_payment(db)["reference"]
    momo.settle(UUID(reference), "SUCCESSFUL")
    asked = len(momo.requests_to("status"))
    now.at = opened + timedelta(seconds=EXPIRE_AFTER + KEEP_POLLING_FOR)
    assert await part(app, Payments).service.work() == 1
    assert len(momo.requests_to("status")) == asked  # not asked any more
    assert one_payment(db)["status"] == "expired" and period(db) == (0, "pending_payment")
    now.at += timedelta(days=2)
    assert await part(app, Payments).service.work() == 0  # and never again
    [held] = await part(app, Payments).ledger.for_review()
    assert (held["reference"], held["status"], held["reason"]) == (reference, "expired", "expired")


@pytest.mark.parametrize(
    ("first_look", "prompted"), [(EXPIRE_AFTER - 1, True), (EXPIRE_AFTER, False)]
)
async def test_a_payment_never_sent_within_expire_after_is_never_sent(
    impatient_gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[MomoPeer, str],
    db: Session,
    first_look: int,
    prompted: bool,
) -> None:
    """A worker that was down: prompting the payer long after the call would only confuse."""
    app, http, now = impatient_gateway
    momo, _ = peer
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    now.at += timedelta(seconds=first_look)
    assert await part(app, Payments).service.work() == 1
    assert len(momo.requests_to("requesttopay")) == (1 if prompted else 0)
    payment = one_payment(db)
    if prompted:
        assert payment["status"] == "pending"
    else:
        assert (payment["status"], payment["reason"]) == ("failed", "not_submitted")
        now.at += timedelta(days=2)
        assert await part(app, Payments).service.work() == 0
    assert period(db) == (0, "pending_payment")


async def test_a_request_that_never_reached_momo_is_not_sent_after_expire_after(
    impatient_gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[MomoPeer, str],
    db: Session,
) -> None:
    app, http, now = impatient_gateway
    momo, _ = peer
    momo.fail_next("requesttopay", 503)  # refused before anything was recorded
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    opened = now.at
    await part(app, Payments).service.work()
    now.at = opened + timedelta(seconds=EXPIRE_AFTER)
    await part(app, Payments).service.work()  # status: 404, MoMo never had it
    await part(app, Payments).service.work()  # too late to send it now
    assert len(momo.requests_to("requesttopay")) == 1  # the refused one, never again
    payment = one_payment(db)
    assert (payment["status"], payment["reason"]) == ("failed", "not_submitted")
    assert period(db) == (0, "pending_payment")


async def test_instalments_and_a_relative_paying_from_another_number(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], peer: tuple[MomoPeer, str], db: Session
) -> None:
    app, http, now = gateway
    member_no = await enrol(http, PAYER)
    # a relative's phone, unknown here: French, pay, a household by member number...
    relative = Phone(http, "+2290196000902")
    await relative.dial("1")
    assert "Numéro de membre (9 chiffres):" in await relative.type("2")
    for answer, expected in [
        (member_no, "Reste à payer: 4725 F"),
        ("2", "Montant (minimum 500 F, au plus 4725 F):"),
        ("5000", "Non accepté: tapez de 500 F à 4725 F. Ex: 500"),
        ("2000", "Payer avec:"),
        ("2", "Numéro Mobile Money qui paie:"),
        ("12", "Tapez un numéro à 10 chiffres, ex: 01 97 00 01 02"),
        ("96000903", "Payer 2000 F avec le 01 96 00 09 03?"),
    ]:
        reply = await relative.type(answer)
        assert expected in reply, (answer, reply)
    reply = await relative.type("1")
    assert reply.startswith("END Confirmez le paiement de 2000 F")
    await part(app, Payments).service.work()
    now.at += timedelta(seconds=61)
    await part(app, Payments).service.work()
    assert period(db) == (2000, "pending_payment")
    rights = await pay_by_ussd(http, PAYER, ["3"])
    assert "Déjà payé: 2000 F" in rights and "Reste à payer: 2725 F" in rights


async def test_a_payer_whose_operator_no_provider_serves_is_told_so(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], db: Session
) -> None:
    _, http, _ = gateway
    await enrol(http, PAYER)
    reply = await pay_by_ussd(http, PAYER, ["2", "1", "1", "2", "0195000904", "1"])  # Moov
    assert reply.startswith("END Ce numéro ne peut pas payer ici.")
    assert db.execute(text("SELECT COUNT(*) FROM payments")).scalar_one() == 0


async def test_a_callback_for_a_reference_we_never_issued_is_kept_and_refused(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], db: Session
) -> None:
    _, http, _ = gateway
    reference = "3f2b8c1e-9d4a-4f6b-8a51-2c7d9e0f1a23"
    body = {
        "amount": "100",
        "currency": "XOF",
        "status": "SUCCESSFUL",
        "financialTransactionId": "1",
    }
    response = await http.put(f"/payments/momo/callback/{reference}", json=body)
    assert response.status_code == 404
    assert (await http.post("/payments/momo/callback/not-a-uuid", content=b"{}")).status_code == 400
    notices = db.execute(text("SELECT reference, outcome FROM payment_notices ORDER BY id")).all()
    assert [tuple(n) for n in notices] == [
        (reference, "unknown_reference"),
        (None, "malformed: reference"),
    ]


def _signed(body: bytes, secret: str, at: int) -> str:
    import hashlib
    import hmac

    signature = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},s={signature}"


async def test_forged_stale_and_replayed_fedapay_webhooks_change_nothing(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], db: Session
) -> None:
    import time

    _, http, _ = gateway
    body = json.dumps(
        {
            "name": "transaction.approved",
            "entity": {
                "id": 1001,
                "status": "approved",
                "amount": 4725,
                "merchant_reference": "3f2b8c1e-9d4a-4f6b-8a51-2c7d9e0f1a23",
                "custom_metadata": {"payment_ref": "3f2b8c1e-9d4a-4f6b-8a51-2c7d9e0f1a23"},
            },
        }
    ).encode()
    fresh = int(time.time())
    cases = [
        ({}, 401),
        ({"X-FEDAPAY-SIGNATURE": _signed(body, "not-our-secret", fresh)}, 401),
        ({"X-FEDAPAY-SIGNATURE": _signed(body, "whsec_current", fresh - 3600)}, 400),
        ({"X-FEDAPAY-SIGNATURE": "garbage"}, 400),
        ({"X-FEDAPAY-SIGNATURE": _signed(body, "whsec_previous", fresh)}, 404),  # rotated secret
    ]
    for headers, status in cases:
        response = await http.post("/payments/fedapay/webhook", content=body, headers=headers)
        assert response.status_code == status, (headers, response.text)
    assert db.execute(text("SELECT COUNT(*) FROM payment_notices")).scalar_one() == len(cases)
    assert db.execute(text("SELECT COUNT(*) FROM payments")).scalar_one() == 0


async def test_workers_running_side_by_side_send_each_payment_once(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], peer: tuple[MomoPeer, str], db: Session
) -> None:
    app, http, _ = gateway
    momo, _ = peer
    payers = [f"+22901970009{i:02d}" for i in range(10, 16)]
    for payer in payers:
        await enrol(http, payer, persons=1)
        await pay_by_ussd(http, payer, ["2", "1", "1", "1", "1"])
    handled = await asyncio.gather(*(part(app, Payments).service.work() for _ in range(4)))
    assert sum(handled) == len(payers)
    sent = [r.headers["x-reference-id"] for r in momo.requests_to("requesttopay")]
    assert len(sent) == len(set(sent)) == len(payers)


async def test_an_amount_above_the_mobile_money_limit_is_refused_with_a_clear_screen(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], db: Session
) -> None:
    app, http, _ = gateway
    service = part(app, Payments).service
    service.settings = dataclasses.replace(service.settings, max_amount=4000)
    await enrol(http, PAYER)
    reply = await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    assert reply.startswith("END Montant trop élevé pour un seul paiement Mobile Money.")
    assert db.execute(text("SELECT COUNT(*) FROM payments")).scalar_one() == 0
    reply = await pay_by_ussd(http, PAYER, ["2", "1", "2", "4000", "1", "1"])
    assert reply.startswith("END Confirmez le paiement de 4000 F")


async def test_status_calls_are_paced_under_the_provider_limit() -> None:
    from gateway.pace import Pace

    pace = Pace(per_second=1000)
    await pace.wait()
    first = pace._next
    await pace.wait()
    await pace.wait()
    # each call is booked one interval after the one before it, whatever the clock says
    # (to the float: three sums of 0.001 may land one ulp short of first + 0.002)
    assert pace._next - first >= 2 * pace.interval * (1 - 1e-9)


async def test_a_part_with_cents_is_refused_grouped_thousands_are_fine(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], db: Session
) -> None:
    _, http, _ = gateway
    await enrol(http, PAYER)
    reply = await pay_by_ussd(http, PAYER, ["2", "1", "2", "100.50"])
    assert "Non accepté" in reply  # XOF has no cents: never read as 10050
    reply = await pay_by_ussd(http, PAYER, ["2", "1", "2", "4.725"])
    assert "Payer avec:" in reply


async def test_a_worker_that_dies_mid_submission_never_makes_a_second_request(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], peer: tuple[MomoPeer, str], db: Session
) -> None:
    from gateway.payments.service import LEASE

    app, http, now = gateway
    momo, _ = peer
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    billing = part(app, Payments).ledger
    [claimed] = await billing.claim_due(5, LEASE)
    await billing.mark_submitting(claimed.reference)  # ...and the worker dies here
    # a callback meanwhile does not hand the payment to another worker
    assert await billing.receive(claimed.reference, "momo", "callback", "{}") is True
    assert await part(app, Payments).service.work() == 0
    now.at += LEASE + timedelta(seconds=1)
    for _ in range(3):
        await part(app, Payments).service.work()
        now.at += timedelta(seconds=61)
    assert len(momo.requests_to("requesttopay")) == 1  # asked first, then sent once
    assert one_payment(db)["status"] == "succeeded"


async def test_a_fedapay_webhook_without_a_configured_secret_is_a_503(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, http, _ = gateway
    monkeypatch.setattr(part(app, Payments).callbacks, "fedapay_webhook_secrets", ())
    response = await http.post("/payments/fedapay/webhook", content=b"{}")
    assert response.status_code == 503


async def test_what_needs_a_person_is_listed_for_review(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[MomoPeer, str],
    db: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gateway import cli

    app, http, _ = gateway
    momo, _ = peer
    await enrol(http, PAYER)
    await pay_by_ussd(http, PAYER, ["2", "1", "1", "1", "1"])
    await part(app, Payments).service.work()
    reference = one_payment(db)["reference"]
    momo.payments[reference]["amount"] = "4000"
    await callback(http, momo, reference)
    await part(app, Payments).service.work()
    stranger = "3f2b8c1e-9d4a-4f6b-8a51-2c7d9e0f1a23"
    await http.put(f"/payments/momo/callback/{stranger}", json={"status": "SUCCESSFUL"})
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert await asyncio.to_thread(cli.main, ["payments", "review"]) == 0
    listed = capsys.readouterr().out
    assert f"payment {reference}  needs_review  amount_mismatch" in listed
    assert "payer +229********01" in listed  # never the full number
    assert f"callback for unknown reference {stranger} from momo" in listed
