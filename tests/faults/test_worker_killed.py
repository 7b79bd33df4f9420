"""A worker killed with SIGKILL while a call to the outside is in flight, then a new worker
started: nothing lost, nothing done twice.

Each test holds one call at the peer (before or after the peer did the work), kills the
worker the moment it is held, ends the dead worker's lease as its running out would, and
starts a new worker; then it reads the outcome from the database and the peer's records.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db.values import MessagePurpose
from gateway.app import create_app
from gateway.enrolment.service import EnrolmentService
from gateway.infrastructure import scheme_clock
from gateway.settings import DEFAULT_TIMEZONE, Settings
from gateway.sms.outbox import Outbox
from tests.faults.conftest import Gated, gated
from tests.peers.at_sms import AtSmsPeer
from tests.peers.momo import MomoPeer
from tests.peers.openimis import OFFICER, VILLAGE, OpenImisPeer
from tests.support.households import enrol_household
from tests.support.paying import PAY_ALL, enrol, pay_by_ussd
from tests.support.programs import PATIENCE, Program, environment, running, wait_for

PAYER = "+2290197000951"  # MTN


def _rows(db: Session, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    db.expire_all()
    return [tuple(row) for row in db.execute(text(sql)).all()]


def _kill_when_held(worker: Program, peer: Gated) -> None:
    """The worker dies while its call is held at the peer."""
    while not peer.gate.held.wait(0.05):
        worker.check_alive()
    worker.kill()


def _lease_runs_out(db: Session, table: str) -> None:
    """What the dead worker's lease would do once its time is up (minutes): let go."""
    db.execute(text(f"UPDATE {table} SET claimed_until = NULL"))
    db.commit()


# -- (a) a payment submission to MoMo ---------------------------------------------------


@pytest.fixture
def momo() -> Iterator[Gated]:
    with gated(MomoPeer()) as peer:
        yield peer


def momo_environ(momo: Gated) -> dict[str, str]:
    peer: MomoPeer = momo.peer
    return {
        "PAYMENT_PROVIDER": "momo",
        "PUBLIC_BASE_URL": "https://gateway.example.org",
        "MOMO_BASE_URL": momo.url,
        "MOMO_SUBSCRIPTION_KEY": peer.subscription_key,
        "MOMO_API_USER": peer.api_user,
        "MOMO_API_KEY": peer.api_key,
        "MOMO_TARGET_ENVIRONMENT": peer.target_environment,
        "MOMO_CURRENCY": "XOF",
        "PAYMENT_POLL_AFTER": "1",
    }


@pytest.fixture
async def phones(settings: Settings, clean: None, momo: Gated) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway's USSD side, on the real clock as the worker processes are."""
    paying = Settings.from_env({**momo_environ(momo)}).payments
    app: Starlette = create_app(dataclasses.replace(settings, payments=paying))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield http


@pytest.mark.parametrize("after", [True], ids=["after-momo-took-it"])
async def test_a_payment_is_asked_once_and_credited_once(
    after: bool,
    phones: httpx.AsyncClient,
    momo: Gated,
    settings: Settings,
    db: Session,
    tmp_path: Path,
) -> None:
    peer: MomoPeer = momo.peer
    await enrol(phones, PAYER)
    reply = await pay_by_ussd(phones, PAYER, PAY_ALL)
    assert reply.startswith("END Confirmez le paiement"), reply
    [(reference, amount)] = _rows(db, "SELECT reference, amount FROM payments")

    env = environment(settings, momo_environ(momo))
    momo.gate.hold_next(lambda method, path, _: path.endswith("/requesttopay"), after=after)
    first = Program(["worker", "--idle", "0.1"], env, tmp_path / "worker-1.log")
    _kill_when_held(first, momo)
    # The submission was written down before the call: the next worker asks, not re-sends.
    assert _rows(db, "SELECT status, submitted_at IS NOT NULL FROM payments") == [("pending", True)]
    _lease_runs_out(db, "payments")

    with running(["worker", "--idle", "0.1"], env, tmp_path / "worker-2.log") as second:
        wait_for(
            "the payment credited",
            lambda: _rows(db, "SELECT status FROM payments") == [("succeeded",)],
            second,
        )
    asked = [r.headers["x-reference-id"] for r in peer.requests_to("requesttopay")]
    # What MoMo took: one request, under our reference. When the first never reached it,
    # the new worker asked about the reference (404), then sent it again, the same one.
    assert asked == [reference]
    assert list(peer.payments) == [reference]
    assert _rows(db, "SELECT amount_paid FROM coverage_periods") == [(amount,)]
    assert _rows(db, "SELECT COUNT(*) FROM payments") == [(1,)]
    assert PATIENCE  # the waits above end a broken run; no duration is asserted


# -- (b) an SMS batch to Africa's Talking -----------------------------------------------

# Two texts (one per language): two calls to AT in one round, the second held.
FR_PHONES = [f"+22901660001{i:02d}" for i in range(3)]
EN_PHONES = [f"+22901660002{i:02d}" for i in range(3)]


@pytest.fixture
def at_sms() -> Iterator[Gated]:
    with gated(AtSmsPeer()) as peer:
        yield peer


def at_environ(at_sms: Gated) -> dict[str, str]:
    peer: AtSmsPeer = at_sms.peer
    return {
        "SMS_BACKEND": "africastalking",
        "AT_SMS_URL": at_sms.url,
        "AT_USERNAME": peer.username,
        "AT_API_KEY": peer.api_key,
        "AT_CALLBACK_TOKEN": "faults-callback-token",
        "SMS_CONCURRENCY": "4",
    }


def _queue(db: Session, phones: list[str], language: str) -> None:
    outbox = Outbox.standard()
    for phone in phones:
        db.add(
            outbox.message(
                phone=phone,
                language=language,
                purpose=MessagePurpose.REPLY,
                template="reply_help",
                params={},
                now=scheme_clock(DEFAULT_TIMEZONE)(),
            )
        )
    db.commit()


async def test_an_sms_batch_sends_each_message_once(
    at_sms: Gated, settings: Settings, clean: None, db: Session, tmp_path: Path
) -> None:
    peer: AtSmsPeer = at_sms.peer
    _queue(db, FR_PHONES, "fr")
    _queue(db, EN_PHONES, "en")
    held = EN_PHONES[0].removeprefix("+").encode()
    at_sms.gate.hold_next(lambda method, path, body: held in body, after=False)
    env = environment(settings, at_environ(at_sms))

    first = Program(["worker", "--idle", "0.1"], env, tmp_path / "worker-1.log")
    while not at_sms.gate.held.wait(0.05):
        first.check_alive()
    # The call AT answered is written down while the other is still out: a kill now must
    # not send those messages again.
    wait_for(
        "the messages AT took recorded as sent while another call of the batch is out",
        lambda: (
            _rows(db, "SELECT phone FROM messages WHERE status = 'sent' ORDER BY phone")
            == [(p,) for p in FR_PHONES]
        ),
        first,
    )
    first.kill()
    # ...and the held call was still out when the worker died: nothing written of it.
    held_rows = "SELECT status, attempts FROM messages WHERE phone LIKE '+229016600020%'"
    assert _rows(db, held_rows) == [("queued", 0)] * 3
    _lease_runs_out(db, "messages")

    with running(["worker", "--idle", "0.1"], env, tmp_path / "worker-2.log") as second:
        wait_for(
            "every message sent",
            lambda: _rows(db, "SELECT COUNT(*) FROM messages WHERE status = 'sent'") == [(6,)],
            second,
        )
    sent = sorted(m.number for m in peer.sent())
    assert sent == sorted(FR_PHONES + EN_PHONES)  # each once: none lost, none twice


# -- (c) a push to the central register (openIMIS) ------------------------------------


@pytest.fixture
def openimis() -> Iterator[Gated]:
    with gated(OpenImisPeer(products=("FAMILLE",))) as peer:
        yield peer


def openimis_environ(openimis: Gated) -> dict[str, str]:
    peer: OpenImisPeer = openimis.peer
    return {
        "REGISTER_ADAPTER": "openimis",
        "OPENIMIS_BASE_URL": openimis.url,
        "OPENIMIS_USERNAME": peer.username,
        "OPENIMIS_PASSWORD": peer.password,
        "OPENIMIS_OFFICER_UUID": OFFICER,
        "OPENIMIS_LOCATIONS": json.dumps({"*": VILLAGE}),
    }


def _identifiers(resources: list[dict[str, Any]]) -> list[str]:
    """The member numbers (openIMIS's ``Code`` identifiers) of these insurees."""
    return sorted(
        i["value"]
        for r in resources
        for i in r["identifier"]
        if i["type"]["coding"][0]["code"] == "Code"
    )


async def test_a_household_reaches_the_register_once(
    openimis: Gated,
    enrolment: EnrolmentService,
    settings: Settings,
    clean: None,
    db: Session,
    tmp_path: Path,
) -> None:
    peer: OpenImisPeer = openimis.peer
    await enrol_household(enrolment, persons=3, day=scheme_clock(DEFAULT_TIMEZONE)().date())
    numbers = sorted(n for (n,) in _rows(db, "SELECT member_no FROM members"))
    # The head's Patient is in (openIMIS made its family with it); reading the family back
    # is answered, but the answer never comes back.
    openimis.gate.hold_next(
        lambda method, path, _: method == "GET" and "/Patient/" in path, after=True
    )
    env = environment(settings, openimis_environ(openimis))
    _kill_when_held(Program(["worker", "--idle", "0.1"], env, tmp_path / "worker-1.log"), openimis)
    assert _rows(db, "SELECT status, attempts FROM register_events") == [("pending", 0)]
    _lease_runs_out(db, "register_events")

    with running(["worker", "--idle", "0.1"], env, tmp_path / "worker-2.log") as second:
        wait_for(
            "the household's event pushed",
            lambda: _rows(db, "SELECT status, attempts FROM register_events") == [("pushed", 1)],
            second,
        )
    # The new worker was told the head exists, found it by its number, and went on: nothing
    # created twice.
    assert _identifiers(peer.resources("Patient")) == numbers
    assert len(peer.resources("Group")) == 1
    assert len([s for s in peer.seen("POST", "/Patient/") if s.status == 201]) == 3
