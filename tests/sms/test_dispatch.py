"""From the outbox to Africa's Talking (a local server speaking its messaging API):
each message sent once, failures retried or closed with their reason, quiet hours
and STOP honoured, two workers never sending the same message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from adapters.sms import OutgoingSms, SendResult
from adapters.sms.africastalking import AfricasTalkingSender
from gateway.payments.capability import Payments
from gateway.sms.capability import Sms
from gateway.sms.dispatch import Dispatcher
from gateway.sms.outbox import Outbox
from gateway.sms.quiet import QuietHours
from menus.text import load_catalogues
from tests.conftest import TODAY
from tests.peers.at_sms import AtSmsPeer
from tests.support.clock import Now
from tests.support.gateway import part, shared
from tests.support.http_server import serve
from tests.support.paying import enrol

ZONE = ZoneInfo("Africa/Porto-Novo")
PHONE = "+2290197000801"


@pytest.fixture
def peer() -> Iterator[tuple[AtSmsPeer, str]]:
    at = AtSmsPeer()
    with serve(at.app) as base_url:
        yield at, base_url
        at.release()


@pytest.fixture
def now() -> Now:
    return Now(hour=10)


@pytest.fixture
def sessions(app: Starlette, client: httpx.AsyncClient) -> async_sessionmaker[AsyncSession]:
    """The gateway's own sessions, on a clean database."""
    return shared(app).sessions  # type: ignore[no-any-return]


@pytest.fixture
async def dispatcher(
    peer: tuple[AtSmsPeer, str], sessions: async_sessionmaker[AsyncSession], now: Now
) -> AsyncIterator[Dispatcher]:
    async with dispatcher_for(peer, sessions, now) as built:
        yield built


class dispatcher_for:
    """A worker's dispatcher talking to the peer, as the runtime builds it."""

    def __init__(
        self,
        peer: tuple[AtSmsPeer, str],
        sessions: async_sessionmaker[AsyncSession],
        now: Now,
        timeout: float = 5.0,
    ) -> None:
        at, base_url = peer
        self.sender = AfricasTalkingSender(
            at.username, at.api_key, "ALAFIA", base_url=base_url, timeout=(timeout, timeout)
        )
        self.dispatcher = Dispatcher(
            sessions,
            self.sender,
            now,
            rate=1000,
            concurrency=8,
            give_up_after=timedelta(days=3),
            quiet_hours=QuietHours.parse("21:00-07:00", "Africa/Porto-Novo"),
        )

    async def __aenter__(self) -> Dispatcher:
        return self.dispatcher

    async def __aexit__(self, *exc: object) -> None:
        await self.sender.aclose()


async def drain(dispatcher: Dispatcher) -> int:
    handled = 0
    while (n := await dispatcher.work()) > 0:
        handled += n
    return handled


async def queue(
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    phone: str = PHONE,
    purpose: str = "reply",
    template: str = "reply_help",
    params: dict[str, object] | None = None,
) -> int:
    message = Outbox.standard().message(
        phone=phone,
        language="fr",
        purpose=purpose,
        template=template,
        params=params or {},
        now=now(),
    )
    async with sessions() as session, session.begin():
        session.add(message)
        await session.flush()
        return message.id


def row(db: Session, message_id: int) -> dict[str, object]:
    db.expire_all()
    found = db.execute(
        text(
            "SELECT status, attempts, reason, provider_id, cost, segments, not_before"
            " FROM messages WHERE id = :id"
        ),
        {"id": message_id},
    )
    return dict(found.mappings().one())


async def test_the_confirmation_and_the_receipt_reach_the_phone_once(
    app: Starlette,
    client: httpx.AsyncClient,
    dispatcher: Dispatcher,
    peer: tuple[AtSmsPeer, str],
    now: Now,
    db: Session,
) -> None:
    at, _ = peer
    member_no = await enrol(client, PHONE)
    await part(app, Payments).ledger.record_cash(member_no, 4725, "Rose Dah")
    # The gateway's clock: the test's day, the real time of day.
    now.at = shared(app).now() + timedelta(seconds=1)
    assert await drain(dispatcher) == 2
    assert await drain(dispatcher) == 0
    # The two texts differ, so they leave in two calls at once, in either order.
    arrived = sorted(at.sent_to(PHONE), key=lambda m: m.text.startswith("Paiement"))
    assert len(arrived) == 2
    confirmation, receipt = arrived
    assert confirmation.text.startswith("Adhésion enregistrée") and member_no in confirmation.text
    paid = load_catalogues("gateway.sms", "templates")["fr"].money(4725)
    assert receipt.text.startswith(f"Paiement de {paid} enregistré, numéro ")
    assert all(m.sender_id == "ALAFIA" for m in arrived)
    db.expire_all()
    stored = db.execute(
        text("SELECT status, provider_id, segments FROM messages ORDER BY id")
    ).all()
    assert [tuple(r) for r in stored] == [("sent", m.message_id, 1) for m in arrived]


async def test_a_server_error_is_retried_later_and_the_message_goes_once(
    dispatcher: Dispatcher,
    peer: tuple[AtSmsPeer, str],
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    at, _ = peer
    message_id = await queue(sessions, now)
    at.fail_next("messaging", 500)
    assert await dispatcher.work() == 1
    first = row(db, message_id)
    assert (first["status"], first["attempts"]) == ("queued", 1)
    assert str(first["reason"]).startswith("http_error")
    assert await dispatcher.work() == 0  # not before its retry time
    now.at += timedelta(minutes=2)
    assert await drain(dispatcher) == 1
    assert row(db, message_id)["status"] == "sent"
    assert len(at.sent_to(PHONE)) == 1


async def test_a_slow_aggregator_times_out_and_the_message_waits(
    peer: tuple[AtSmsPeer, str],
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    at, _ = peer
    message_id = await queue(sessions, now)
    at.hang_next("messaging")
    async with dispatcher_for(peer, sessions, now, timeout=0.5) as dispatcher:
        assert await dispatcher.work() == 1
    at.release()
    found = row(db, message_id)
    assert (found["status"], found["reason"]) == ("queued", "timeout")


@pytest.mark.parametrize(
    ("code", "status"),
    [(403, "InvalidPhoneNumber"), (404, "UnsupportedNumberType"), (406, "UserInBlacklist")],
)
async def test_a_refusal_is_final_and_keeps_its_reason(
    code: int,
    status: str,
    dispatcher: Dispatcher,
    peer: tuple[AtSmsPeer, str],
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    at, _ = peer
    at.refuse(PHONE, code, status)
    message_id = await queue(sessions, now)
    assert await dispatcher.work() == 1
    now.at += timedelta(days=1)
    assert await dispatcher.work() == 0
    found = row(db, message_id)
    assert (found["status"], found["reason"], found["attempts"]) == ("refused", status, 1)


@pytest.mark.parametrize(
    ("code", "status"),
    [(401, "RiskHold"), (402, "InvalidSenderId"), (405, "InsufficientBalance")],
)
async def test_an_account_problem_keeps_the_message_until_it_is_fixed(
    code: int,
    status: str,
    dispatcher: Dispatcher,
    peer: tuple[AtSmsPeer, str],
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    # No credit is not the member's fault: the receipt waits for the top-up.
    at, _ = peer
    at.refuse(PHONE, code, status, times=1)
    message_id = await queue(sessions, now)
    assert await dispatcher.work() == 1
    found = row(db, message_id)
    assert (found["status"], found["reason"]) == ("queued", status)
    now.at += timedelta(minutes=2)
    assert await dispatcher.work() == 1
    assert row(db, message_id)["status"] == "sent"
    assert len(at.sent_to(PHONE)) == 1


async def test_a_message_that_cannot_leave_for_days_is_expired_not_retried_forever(
    dispatcher: Dispatcher,
    peer: tuple[AtSmsPeer, str],
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    at, _ = peer
    message_id = await queue(sessions, now)
    at.fail_next("messaging", 503, times=2)
    assert await dispatcher.work() == 1  # tried, and to be tried again
    now.at += timedelta(days=2, hours=23)
    assert await dispatcher.work() == 1  # still failing
    assert row(db, message_id)["attempts"] == 2
    now.at += timedelta(hours=1)
    assert await dispatcher.work() == 1  # three days old: never again
    found = row(db, message_id)
    assert (found["status"], found["reason"]) == ("expired", "too old to send")
    assert at.sent() == []


async def test_a_message_found_too_late_is_expired_not_sent(
    dispatcher: Dispatcher,
    peer: tuple[AtSmsPeer, str],
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    # The worker was down for days: what it finds says what is no longer true.
    at, _ = peer
    message_id = await queue(sessions, now)
    now.at += timedelta(days=3)
    assert await dispatcher.work() == 1
    found = row(db, message_id)
    assert (found["status"], found["reason"]) == ("expired", "too old to send")
    assert at.sent() == []


async def test_reminders_wait_out_quiet_hours_receipts_do_not(
    dispatcher: Dispatcher,
    peer: tuple[AtSmsPeer, str],
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    at, _ = peer
    now.at = datetime.combine(TODAY, time(20, 59), ZONE)
    # Queued before quiet hours, found by the worker after they began.
    reminder = await queue(sessions, now, purpose="reminder", template="reply_start")
    receipt = await queue(sessions, now, phone="+2290197000802")
    now.at = datetime.combine(TODAY, time(22, 30), ZONE)
    assert await dispatcher.work() == 2
    assert row(db, reminder)["status"] == "queued"
    assert row(db, receipt)["status"] == "sent"
    now.at = datetime.combine(TODAY + timedelta(days=1), time(6, 59), ZONE)
    assert await dispatcher.work() == 0
    now.at = datetime.combine(TODAY + timedelta(days=1), time(7, 0), ZONE)
    assert await dispatcher.work() == 1
    assert row(db, reminder)["status"] == "sent"
    assert len(at.sent()) == 2


async def test_a_number_that_said_stop_gets_its_receipt_but_not_its_reminder(
    dispatcher: Dispatcher,
    peer: tuple[AtSmsPeer, str],
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    at, _ = peer
    reminder = await queue(sessions, now, purpose="reminder", template="reply_start")
    receipt = await queue(sessions, now, purpose="receipt")
    db.execute(
        text("INSERT INTO sms_opt_outs (phone, source, opted_out_at) VALUES (:p, 'keyword', :t)"),
        {"p": PHONE, "t": now()},
    )
    db.commit()
    assert await drain(dispatcher) == 2
    assert (row(db, reminder)["status"], row(db, reminder)["reason"]) == ("cancelled", "opted_out")
    assert row(db, receipt)["status"] == "sent"
    assert len(at.sent_to(PHONE)) == 1


async def test_one_text_for_many_numbers_leaves_in_one_call(
    dispatcher: Dispatcher,
    peer: tuple[AtSmsPeer, str],
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
) -> None:
    at, _ = peer
    for i in range(5):
        await queue(sessions, now, phone=f"+22901970009{i:02d}")
    await queue(sessions, now, phone="+2290197000900")  # the same number twice
    assert await drain(dispatcher) == 6
    assert len(at.recorded_calls()) == 2
    assert len(at.sent()) == 6


async def test_two_workers_send_each_message_once(
    peer: tuple[AtSmsPeer, str],
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    at, _ = peer
    for i in range(150):
        # Different words each: one call per message, the worst case for contention.
        await queue(
            sessions,
            now,
            phone=f"+2290197{i:06d}",
            template="reply_bad_member_no",
            params={"member_no": str(i)},
        )
    async with (
        dispatcher_for(peer, sessions, now) as first,
        dispatcher_for(peer, sessions, now) as second,
    ):
        handled = await asyncio.gather(drain(first), drain(second))
    assert sum(handled) == 150
    numbers = [m.number for m in at.sent()]
    assert len(numbers) == len(set(numbers)) == 150
    db.expire_all()
    assert db.execute(text("SELECT COUNT(*) FROM messages WHERE status = 'sent'")).scalar() == 150


async def test_a_delivery_report_faster_than_the_bookkeeping_is_applied_once_recorded(
    app: Starlette,
    dispatcher: Dispatcher,
    peer: tuple[AtSmsPeer, str],
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    at, _ = peer
    message_id = await queue(sessions, now)
    reports = part(app, Sms).reports
    real_send = dispatcher.sender.send

    async def send_and_report(sms: OutgoingSms) -> Sequence[SendResult]:
        # The report lands between the aggregator's answer and our record of it.
        results = await real_send(sms)
        for result in results:
            assert await reports.delivery(result.provider_id, "Success", None) is False
        return results

    dispatcher.sender.send = send_and_report  # type: ignore[method-assign]
    assert await dispatcher.work() == 1
    found = row(db, message_id)
    assert found["status"] == "delivered" and found["provider_id"] == at.sent()[0].message_id
    assert db.execute(text("SELECT COUNT(*) FROM sms_early_reports")).scalar() == 0
