"""One debt, one payment through FedaPay (a local server that speaks its transactions API
and signs its webhooks): the double "pay everything" prompts once, and a transaction
approved after its payment was cancelled and paid again is held for refund."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from gateway.payments.capability import Payments
from gateway.settings import Settings
from tests.payments.test_fedapay_flow import webhook
from tests.peers.fedapay import FedapayPeer
from tests.support.gateway import part
from tests.support.http_server import serve
from tests.support.paying import PAY_ALL, Now, count, enrol, pay_by_ussd, paying_gateway, period

PAYER = "+2290195000951"  # Moov: FedaPay serves it


@pytest.fixture
def peer() -> Iterator[tuple[FedapayPeer, str]]:
    fedapay = FedapayPeer()
    with serve(fedapay.app) as base_url:
        yield fedapay, base_url
        fedapay.release()


@pytest.fixture
async def gateway(
    settings: Settings, clean: None, peer: tuple[FedapayPeer, str]
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, Now]]:
    fedapay, base_url = peer
    environ = {
        "FEDAPAY_BASE_URL": base_url,
        "FEDAPAY_SECRET_KEY": fedapay.secret_key,
        "FEDAPAY_WEBHOOK_SECRET": fedapay.webhook_secret,
    }
    async with paying_gateway(settings, "fedapay", environ) as gateway:
        yield gateway


def by_reference(db: Session) -> dict[str, tuple[str, str | None, int, str | None]]:
    db.expire_all()
    rows = db.execute(
        text("SELECT reference, status, reason, refund_due, provider_transaction_id FROM payments")
    ).all()
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


async def test_pay_everything_twice_then_cancel_pay_again_and_a_late_approval(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[FedapayPeer, str],
    db: Session,
) -> None:
    app, http, _ = gateway
    fedapay, _ = peer
    fedapay.set_outcome(PAYER, "pending")
    await enrol(http, PAYER, persons=2)
    assert (await pay_by_ussd(http, PAYER, PAY_ALL)).startswith("END Confirmez le paiement")
    assert await part(app, Payments).service.work() == 1
    [first] = by_reference(db)

    again = await pay_by_ussd(http, PAYER, ["2", "1"])
    assert "Un paiement de 3150 F attend votre confirmation sur le 01 95 ** ** 51." in (again), (
        again
    )
    assert len(fedapay.requests_to("push")) == 1 and len(by_reference(db)) == 1

    assert (await pay_by_ussd(http, PAYER, ["2", "1", "2"])).startswith("END Paiement de")
    assert (await pay_by_ussd(http, PAYER, PAY_ALL)).startswith("END Confirmez le paiement")
    await part(app, Payments).service.work()
    [second] = [r for r in by_reference(db) if r != first]
    first_id, second_id = (int(by_reference(db)[r][3] or 0) for r in (first, second))

    fedapay.settle(second_id, "approved")
    assert await webhook(http, fedapay, second_id, "transaction.approved") == 200
    await part(app, Payments).service.work()
    assert period(db) == (3150, "waiting")

    fedapay.settle(first_id, "approved")  # the cancelled prompt was approved after all
    assert await webhook(http, fedapay, first_id, "transaction.approved") == 200
    await part(app, Payments).service.work()
    assert by_reference(db)[first][:3] == ("needs_review", "overpaid", 3150)
    assert period(db) == (3150, "waiting")  # not 6,300
    assert count(db, "SELECT COUNT(*) FROM messages WHERE purpose = 'receipt'") == 1
    [held] = [i for i in await part(app, Payments).ledger.for_review() if i.get("refund_due")]
    assert (held["reference"], held["credited_with"]) == (first, [second])
