"""One debt, one payment: at most one mobile-money payment in flight per cover period,
whatever the phone does and however many processes answer it; a payment that still pays
a debt already paid (a late success after a cancel, cash taken meanwhile) is never
credited twice and waits in `alafia payments review` for its refund.

End to end through /ussd, the worker and a local server speaking MTN MoMo's protocol."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from gateway.payments.capability import Payments
from gateway.settings import Settings
from tests.payments.test_momo_flow import callback, momo_environ
from tests.peers.momo import MomoPeer
from tests.support.gateway import part
from tests.support.http_server import serve
from tests.support.paying import PAY_ALL, Now, count, enrol, pay_by_ussd, paying_gateway, period
from tests.support.ussd_phone import Phone

PAYER = "+2290197000931"  # MTN: the household's own phone
RELATIVE = "+2290196000932"  # MTN: pays for the household by its member number
STRANGER = "+2290196000933"
WAITING = "Un paiement de 3150 F attend votre confirmation sur le 01 97 ** ** 31."


@pytest.fixture
def peer() -> Iterator[tuple[MomoPeer, str]]:
    momo = MomoPeer()
    with serve(momo.app) as base_url:
        yield momo, base_url


@pytest.fixture
async def gateway(
    settings: Settings, clean: None, peer: tuple[MomoPeer, str]
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, Now]]:
    async with paying_gateway(settings, "momo", momo_environ(peer)) as gateway:
        yield gateway


def payments(db: Session) -> list[dict[str, Any]]:
    db.expire_all()
    rows = db.execute(
        text(
            "SELECT reference, status, reason, amount, refund_due, payer_phone, receipt_no"
            " FROM payments ORDER BY created_at, reference"
        )
    ).mappings()
    return [dict(row) for row in rows]


async def relative_reaches_confirm(http: httpx.AsyncClient, member_no: str) -> Phone:
    """A relative's unknown phone: French, pay, that household, everything, this number."""
    phone = Phone(http, RELATIVE)
    await phone.dial("1")
    for answer in ["2", member_no, "1", "1"]:
        reply = await phone.type(answer)
    assert "Payer 3150 F avec le 01 96 00 09 32?" in reply, reply
    return phone


async def work(app: Starlette) -> int:
    return await part(app, Payments).service.work()


async def test_paying_everything_twice_before_confirming_takes_it_once(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], peer: tuple[MomoPeer, str], db: Session
) -> None:
    """The finding: 3150 F due, "pay everything" twice before the first prompt was
    confirmed; both were taken and credited (6,300 paid)."""
    app, http, _ = gateway
    momo, _ = peer
    momo.set_outcome(PAYER.removeprefix("+"), "PENDING")  # the payer has not confirmed yet
    await enrol(http, PAYER, persons=2)
    first = await pay_by_ussd(http, PAYER, PAY_ALL)
    assert first.startswith("END Confirmez le paiement de 3150 F"), first
    assert await work(app) == 1  # the prompt is on the payer's phone

    again = await pay_by_ussd(http, PAYER, ["2", "1"])  # pay, my household
    assert again.startswith("CON " + WAITING), again
    assert "1. Attendre\n2. Annuler ce paiement" in again
    # Typed blindly as the first time: the third answer means "wait"; nothing is started.
    reply = await pay_by_ussd(http, PAYER, PAY_ALL)
    assert reply.startswith("END Confirmez le paiement de 3150 F sur le 01 97 ** ** 31")
    assert len(payments(db)) == 1
    assert await work(app) == 0  # nothing new to send
    assert len(momo.requests_to("requesttopay")) == 1

    [payment] = payments(db)
    momo.settle(UUID(payment["reference"]), "SUCCESSFUL")
    assert await callback(http, momo, payment["reference"]) == 200
    await work(app)
    assert period(db) == (3150, "waiting")
    assert count(db, "SELECT COUNT(*) FROM messages WHERE purpose = 'receipt'") == 1
    assert "Rien à payer" in await pay_by_ussd(http, PAYER, ["2", "1"])


async def test_the_screen_in_english_masks_the_payer(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], db: Session
) -> None:
    _, http, _ = gateway
    await enrol(http, PAYER, persons=2)
    await pay_by_ussd(http, PAYER, PAY_ALL)
    relative = Phone(http, RELATIVE)
    await relative.dial("2")  # English
    await relative.type("2")  # pay
    reply = await relative.type(member_no_of(db))
    assert reply.startswith(
        "CON A payment of 3150 F is awaiting your confirmation on 01 97 ** ** 31."
    ), reply
    assert PAYER not in reply and "000931" not in reply


def member_no_of(db: Session) -> str:
    db.expire_all()
    return str(db.execute(text("SELECT member_no FROM members ORDER BY id LIMIT 1")).scalar_one())


async def test_a_part_pending_leaves_the_rest_due_shown_never_the_pending_part(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], db: Session
) -> None:
    _, http, _ = gateway
    await enrol(http, PAYER, persons=2)
    reply = await pay_by_ussd(http, PAYER, ["2", "1", "2", "1000", "1", "1"])
    assert reply.startswith("END Confirmez le paiement de 1000 F"), reply
    again = await pay_by_ussd(http, PAYER, ["2", "1"])
    assert "Un paiement de 1000 F attend votre confirmation" in again
    assert "Reste à payer ensuite: 2150 F" in again
    assert "3150" not in again


async def test_two_confirmations_at_the_same_moment_start_one_payment(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], peer: tuple[MomoPeer, str], db: Session
) -> None:
    """The household's phone and a relative's confirm at once: the database lets one in."""
    app, http, _ = gateway
    momo, _ = peer
    member_no = await enrol(http, PAYER, persons=2)
    own = Phone(http, PAYER)
    await own.dial("")
    for answer in PAY_ALL[:-1]:
        await own.type(answer)
    relative = await relative_reaches_confirm(http, member_no)
    replies = sorted(await asyncio.gather(own.type("1"), relative.type("1")))
    assert replies[0].startswith("CON Un paiement de 3150 F attend"), replies
    assert replies[1].startswith("END Confirmez le paiement de 3150 F"), replies
    assert len(payments(db)) == 1
    await work(app)
    assert len(momo.requests_to("requesttopay")) == 1


async def test_the_database_itself_refuses_a_second_pending_payment_of_a_period(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], db: Session
) -> None:
    """Whatever process writes it, with or without the ledger's own check."""
    _, http, _ = gateway
    await enrol(http, PAYER, persons=2)
    await pay_by_ussd(http, PAYER, PAY_ALL)
    copy = (
        "INSERT INTO payments (reference, household_id, period_id, provider, amount, currency,"
        " status, channel, created_at, checks, unclear, refund_due)"
        " SELECT :reference, household_id, period_id, provider, amount, currency, 'pending',"
        " channel, created_at, 0, :no, 0 FROM payments WHERE reference <> :other"
    )
    with pytest.raises(IntegrityError):
        db.execute(text(copy), {"reference": str(UUID(int=1)), "other": "", "no": False})
    db.rollback()
    # a failed, expired or cash payment of the same period is no obstacle
    db.execute(text("UPDATE payments SET status = 'expired'"))
    db.execute(text(copy), {"reference": str(UUID(int=2)), "other": "", "no": False})
    db.commit()
    assert count(db, "SELECT COUNT(*) FROM payments WHERE status = 'pending'") == 1


async def test_a_payment_cancelled_before_it_was_sent_is_never_sent(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], peer: tuple[MomoPeer, str], db: Session
) -> None:
    app, http, _ = gateway
    momo, _ = peer
    await enrol(http, PAYER, persons=2)
    await pay_by_ussd(http, PAYER, PAY_ALL)
    billing = part(app, Payments).ledger
    from gateway.payments.service import LEASE

    [claimed] = await billing.claim_due(5, LEASE)  # a worker has it, about to send it
    reply = await pay_by_ussd(http, PAYER, ["2", "1", "2"])
    assert reply.startswith("END Paiement de 3150 F annulé."), reply
    await part(app, Payments).service._advance(claimed)  # the worker goes on
    assert momo.requests_to("requesttopay") == []
    [payment] = payments(db)
    assert (payment["status"], payment["reason"]) == ("failed", "cancelled")
    reply = await pay_by_ussd(http, PAYER, PAY_ALL)  # free to pay again
    assert reply.startswith("END Confirmez le paiement de 3150 F"), reply
    assert count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'payment_cancelled'") == 1


async def test_only_the_paying_phone_or_the_households_may_cancel(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], db: Session
) -> None:
    _, http, _ = gateway
    member_no = await enrol(http, PAYER, persons=2)
    relative = await relative_reaches_confirm(http, member_no)
    await relative.type("1")
    stranger = Phone(http, STRANGER)
    await stranger.dial("1")
    for answer in ["2", member_no]:
        reply = await stranger.type(answer)
    assert "01 96 ** ** 32" in reply, reply
    assert (await stranger.type("2")).startswith("END Seul le téléphone qui paie")
    assert payments(db)[0]["status"] == "pending"
    # the household's own phone may: it is its debt
    assert (await pay_by_ussd(http, PAYER, ["2", "1", "2"])).startswith("END Paiement de")
    assert payments(db)[0]["status"] == "failed"


async def test_a_late_success_after_a_cancel_is_held_for_refund_not_credited_twice(
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
    momo.set_outcome(PAYER.removeprefix("+"), "PENDING")
    await enrol(http, PAYER, persons=2)
    await pay_by_ussd(http, PAYER, PAY_ALL)
    await work(app)  # the first prompt is on the phone...
    reply = await pay_by_ussd(http, PAYER, ["2", "1", "2"])  # ...the payer cancels it
    assert "S'il a déjà été confirmé, il sera compté ou remboursé." in reply
    [first] = payments(db)
    assert first["status"] == "cancelled"
    reply = await pay_by_ussd(http, PAYER, PAY_ALL)  # and pays again
    assert reply.startswith("END Confirmez le paiement de 3150 F"), reply
    await work(app)
    [second] = [p for p in payments(db) if p["reference"] != first["reference"]]
    momo.settle(UUID(second["reference"]), "SUCCESSFUL")
    await callback(http, momo, second["reference"])
    await work(app)
    assert period(db) == (3150, "waiting")

    # The first prompt was confirmed after all: taken, so recorded, never credited twice.
    momo.settle(UUID(first["reference"]), "SUCCESSFUL")
    assert await callback(http, momo, first["reference"]) == 200
    await work(app)
    [late] = [p for p in payments(db) if p["reference"] == first["reference"]]
    assert (late["status"], late["reason"], late["refund_due"]) == (
        "needs_review",
        "overpaid",
        3150,
    )
    assert period(db) == (3150, "waiting")
    assert count(db, "SELECT COUNT(*) FROM messages WHERE purpose = 'receipt'") == 1
    assert count(db, "SELECT COUNT(*) FROM register_events WHERE kind = 'payment_recorded'") == 1
    assert await work(app) == 0  # nothing more to ask

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert await asyncio.to_thread(cli.main, ["payments", "review"]) == 0
    listed = capsys.readouterr().out
    household = db.execute(text("SELECT id FROM households")).scalar_one()
    assert (
        f"refund 3150 XOF of payment {first['reference']} to payer +229********31 via momo"
        in listed
    )
    assert f"household {household}, debt already paid by {second['reference']}" in listed
    refunded = ["payments", "refunded", first["reference"], "--note", "MoMo transfer 771"]
    assert await asyncio.to_thread(cli.main, refunded) == 0
    assert "refund of 3150 XOF recorded" in capsys.readouterr().out
    assert await asyncio.to_thread(cli.main, refunded) == 2  # once
    assert "refunded already" in capsys.readouterr().err
    assert await asyncio.to_thread(cli.main, ["payments", "review"]) == 0
    assert first["reference"] not in capsys.readouterr().out
    assert count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'refund_recorded'") == 1


@pytest.mark.parametrize(("cash", "credited", "refund"), [(3150, 0, 3150), (1000, 2150, 1000)])
async def test_cash_taken_while_mobile_money_was_pending_is_held_for_refund(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[MomoPeer, str],
    db: Session,
    cash: int,
    credited: int,
    refund: int,
) -> None:
    app, http, _ = gateway
    momo, _ = peer
    momo.set_outcome(PAYER.removeprefix("+"), "PENDING")
    member_no = await enrol(http, PAYER, persons=2)
    await pay_by_ussd(http, PAYER, PAY_ALL)
    await work(app)
    # An agent takes cash meanwhile: the money is in hand, so it is recorded.
    await part(app, Payments).ledger.record_cash(member_no, cash, "Yao Dah")
    [mobile] = [p for p in payments(db) if p["payer_phone"] == PAYER]
    momo.settle(UUID(mobile["reference"]), "SUCCESSFUL")
    await callback(http, momo, mobile["reference"])
    await work(app)
    [mobile] = [p for p in payments(db) if p["payer_phone"] == PAYER]
    assert mobile["refund_due"] == refund
    assert mobile["status"] == ("succeeded" if credited else "needs_review")
    assert period(db) == (3150, "waiting")  # never more than the premium
    [held] = [i for i in await part(app, Payments).ledger.for_review() if i.get("refund_due")]
    assert (held["reference"], held["refund_due"]) == (mobile["reference"], refund)
    # the central register is told what the period was credited, never the refund
    from gateway.register.records import _coverage
    from tests.support.gateway import shared

    runtime = shared(app)
    period_id = db.execute(text("SELECT id FROM coverage_periods")).scalar_one()
    async with runtime.sessions() as session:
        record = await _coverage(session, period_id, runtime.now())
    assert sorted(p.amount for p in record.payments) == sorted(x for x in (cash, credited) if x)
    if credited:
        receipt = db.execute(
            text("SELECT params FROM messages WHERE payment_reference = :r"),
            {"r": mobile["reference"]},
        ).scalar_one()
        assert f'"amount": {credited}' in str(receipt) or f"'amount': {credited}" in str(receipt)


async def test_two_processes_opening_a_payment_at_once_open_one(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], db: Session, database_url: str
) -> None:
    """Two gateways on their own engines (as two `alafia serve` processes would be)."""
    from db.engine import create_engine_async, session_factory
    from gateway.payments.ledger import Billing, PaymentPending

    _, http, now = gateway
    member_no = await enrol(http, PAYER, persons=2)
    engines = [create_engine_async(database_url) for _ in range(2)]
    try:
        ledgers = [Billing(session_factory(engine), "Africa/Porto-Novo", now) for engine in engines]
        outcomes = await asyncio.gather(
            *(
                ledger.open_payment(
                    member_no, 3150, payer, "momo", "XOF", "ussd", "mtn", request_key=payer
                )
                for ledger, payer in zip(ledgers, (PAYER, RELATIVE), strict=True)
            ),
            return_exceptions=True,
        )
    finally:
        for engine in engines:
            await engine.dispose()
    refused = [o for o in outcomes if isinstance(o, PaymentPending)]
    assert len(refused) == 1, outcomes
    assert refused[0].amount == 3150
    assert count(db, "SELECT COUNT(*) FROM payments WHERE status = 'pending'") == 1


async def test_a_cancelled_prompt_is_still_asked_about_until_the_provider_answers(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], peer: tuple[MomoPeer, str], db: Session
) -> None:
    """No callback: the worker's own looks go on after the cancel, then stop once MTN
    says the prompt failed."""
    from datetime import timedelta

    app, http, now = gateway
    momo, _ = peer
    momo.set_outcome(PAYER.removeprefix("+"), "PENDING")
    await enrol(http, PAYER, persons=2)
    await pay_by_ussd(http, PAYER, PAY_ALL)
    await work(app)
    await pay_by_ussd(http, PAYER, ["2", "1", "2"])
    for _ in range(3):
        now.at += timedelta(minutes=2)
        assert await work(app) == 1  # asked again, still pending at MTN
    assert payments(db)[0]["status"] == "cancelled"
    momo.settle(UUID(payments(db)[0]["reference"]), "FAILED", "APPROVAL_REJECTED")
    now.at += timedelta(minutes=10)
    assert await work(app) == 1
    [payment] = payments(db)
    assert (payment["status"], payment["reason"]) == ("failed", "cancelled")
    now.at += timedelta(days=1)
    assert await work(app) == 0  # final
    assert period(db) == (0, "pending_payment")


async def test_an_agent_sees_the_mobile_payment_awaiting_its_payer(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], db: Session
) -> None:
    from tests.support.agents import add_agent

    app, http, _ = gateway
    member_no = await enrol(http, PAYER, persons=2)
    mutual = db.execute(
        text("SELECT u.code FROM scheme_units u JOIN households h ON h.mutual_id = u.id")
    ).scalar_one()
    await add_agent(app, "+2290197000934", "Bio Sika", mutual, pin="4826")
    agent = Phone(http, "+2290197000934")
    await agent.dial("4826")
    await agent.type("3")
    assert "Mobile Money en attente" not in await agent.type(member_no)
    await pay_by_ussd(http, PAYER, PAY_ALL)
    await agent.dial("4826")
    await agent.type("3")
    reply = await agent.type(member_no)
    assert "Reste à payer: 3150 F\nMobile Money en attente: 3150 F." in reply, reply
