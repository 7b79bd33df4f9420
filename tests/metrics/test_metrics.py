"""`/metrics` after real traffic: USSD hops through the real endpoint, a payment by the
MoMo peer (a local server speaking MTN's protocol), SMS and register events written by
the enrolment, delivery reports, session-end notices, lock-outs. Every figure is read
back through the official client's parser and checked against what was done."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from gateway.agents.pins import AgentPins
from gateway.metrics import events
from gateway.payments.capability import Payments
from gateway.settings import Settings
from gateway.staff.accounts import LoginOutcome, StaffAccounts
from gateway.staff.login_limits import LoginLimits
from gateway.ussd.capability import Ussd
from tests.metrics.scraping import BEARER, TOKEN, Scrape, scrape
from tests.payments.test_momo_flow import momo_environ
from tests.peers.at_sms import AtSmsPeer
from tests.peers.momo import MomoPeer
from tests.sms.test_dispatch import dispatcher_for
from tests.support.agents import add_agent
from tests.support.clock import Now as DispatchClock
from tests.support.gateway import part, shared
from tests.support.http_server import serve
from tests.support.paying import PAY_ALL, Now, count, enrol, paying_gateway
from tests.support.ussd_phone import Phone

PAYER = "+2290197000901"  # MTN
OTHER = "+2290197000902"


def with_token(settings: Settings, token: str | None = TOKEN, **changes: object) -> Settings:
    return dataclasses.replace(
        settings, metrics=dataclasses.replace(settings.metrics, token=token, **changes)
    )


@pytest.fixture
def peer() -> Iterator[tuple[MomoPeer, str]]:
    momo = MomoPeer()
    with serve(momo.app) as base_url:
        yield momo, base_url


@pytest.fixture
async def gateway(
    settings: Settings, clean: None, peer: tuple[MomoPeer, str]
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, Now]]:
    async with paying_gateway(with_token(settings), "momo", momo_environ(peer)) as gateway:
        yield gateway


class HopCounter:
    """Counts the hops a client posts to /ussd, whoever posts them."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.hops = 0
        http.event_hooks["request"].append(self._seen)

    async def _seen(self, request: httpx.Request) -> None:
        if request.url.path == "/ussd":
            self.hops += 1


def delta(after: Scrape, before: Scrape, name: str, **labels: str) -> float:
    return after.total(name, **labels) - before.total(name, **labels)


async def test_hops_are_counted_by_journey_with_their_latency(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
) -> None:
    app, http, _ = gateway
    hops = HopCounter(http)
    before = await scrape(http)
    await enrol(http, PAYER)
    after = await scrape(http)

    assert hops.hops > 10
    assert delta(after, before, "alafia_ussd_hops_total") == hops.hops
    assert delta(after, before, "alafia_ussd_hops_total", result="answered") == hops.hops
    journeys = {
        journey
        for journey in after.labels("alafia_ussd_hops_total", "journey")
        if delta(after, before, "alafia_ussd_hops_total", journey=journey)
    }
    assert "enrol" in journeys
    assert journeys <= set(part(app, Ussd).service.engine.journeys)
    for journey in journeys:
        counted = delta(after, before, "alafia_ussd_hops_total", journey=journey)
        # One observation per hop, each within the last bucket but +Inf (the hop budget).
        assert delta(after, before, "alafia_ussd_hop_seconds_count", journey=journey) == counted
        within = delta(after, before, "alafia_ussd_hop_seconds_bucket", journey=journey, le="8.0")
        assert within == counted
        assert delta(after, before, "alafia_ussd_hop_seconds_sum", journey=journey) > 0


async def test_refused_and_unreadable_hops_are_counted_apart(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
) -> None:
    _, http, _ = gateway
    before = await scrape(http)
    response = await http.post("/ussd", data={"sessionId": "", "phoneNumber": PAYER})
    assert response.text.startswith("END ")
    response = await http.post(
        "/ussd", data={"sessionId": "ATUid_x", "phoneNumber": "not a phone", "text": ""}
    )
    assert response.text.startswith("END ")
    after = await scrape(http)
    refused = delta(after, before, "alafia_ussd_hops_total", journey="none", result="refused")
    assert refused == 2
    assert delta(after, before, "alafia_ussd_hops_total") == 2


async def test_hops_without_the_token_and_hops_redis_fails_are_counted(
    settings: Settings, clean: None
) -> None:
    from gateway.app import create_app

    token = "ussd-token-for-the-metrics-tests"
    # Redis where nothing listens: every hop that gets past the token fails to load its session.
    closed = dataclasses.replace(
        with_token(settings),
        ussd_callback_token=token,
        redis_url="redis://127.0.0.1:9/0",
        redis_timeout=0.5,
    )
    app = create_app(closed)
    form = {"sessionId": "ATUid_m1", "phoneNumber": PAYER, "serviceCode": "*384*22#", "text": ""}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            before = await scrape(http)
            refused = await http.post("/ussd?token=not-the-token", data=form)
            failed = await http.post(f"/ussd?token={token}", data=form)
            after = await scrape(http)
    assert refused.status_code == 403 and refused.text.startswith("END ")
    assert failed.status_code == 200 and failed.text.startswith("END ")
    hops = "alafia_ussd_hops_total"
    assert delta(after, before, hops, journey="none", result="refused") == 1
    assert delta(after, before, hops, journey="none", result="unavailable") == 1
    assert delta(after, before, hops) == 2


async def test_payments_sms_register_and_session_ends_as_they_stand(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    peer: tuple[MomoPeer, str],
    db: Session,
) -> None:
    app, http, now = gateway
    momo, _ = peer
    momo.set_outcome(PAYER.removeprefix("+"), "PENDING")
    before = await scrape(http)
    assert before.value("alafia_state_read_ok") == 1
    assert before.total("alafia_payments") == 0
    assert before.value("alafia_register_outbox_depth") == 0

    await enrol(http, PAYER)
    paying = Phone(http, PAYER)
    await paying.dial("")
    for answer in PAY_ALL:
        reply = await paying.type(answer)
    assert reply.startswith("END Confirmez le paiement")
    now.at += timedelta(minutes=5)
    pending = await scrape(http)
    assert pending.value("alafia_payments", status="pending") == 1
    assert pending.value("alafia_payments", status="succeeded") == 0
    assert pending.value("alafia_payment_oldest_pending_age_seconds") == 300
    # The enrolment's confirmation SMS waits in the outbox, its register event too.
    queued = count(db, "SELECT COUNT(*) FROM messages WHERE status = 'queued'")
    assert queued >= 1
    assert pending.value("alafia_sms_outbox_depth") == queued
    assert pending.value("alafia_sms_oldest_due_age_seconds") == 300
    waiting = count(db, "SELECT COUNT(*) FROM register_events WHERE status = 'pending'")
    assert waiting >= 1
    assert pending.value("alafia_register_outbox_depth") == waiting
    assert pending.value("alafia_register_oldest_pending_age_seconds") == 300
    assert pending.value("alafia_register_dead_letters") == 0

    # The paying session ends on the screen the funnel counts as "payment started".
    notice = {
        "sessionId": paying.session_id,
        "phoneNumber": PAYER,
        "serviceCode": "*384*22#",
        "status": "Success",
        "hopsCount": "6",
    }
    assert (await http.post("/ussd/events", data=notice)).status_code == 200
    assert (await http.post("/ussd/events", data=notice)).status_code == 200  # a retry
    ended = await scrape(http)
    started = {"outcome": "payment_started", "status": "Success"}
    assert delta(ended, pending, "alafia_ussd_session_ends_total", **started) == 1
    assert delta(ended, pending, "alafia_ussd_session_ends_total") == 1

    # The worker asks MoMo, MoMo settles, the callback comes, the worker credits.
    assert await part(app, Payments).service.work() == 1
    reference = momo.requests_to("requesttopay")[0].headers["x-reference-id"]
    momo.settle(UUID(reference), "SUCCESSFUL")
    body = momo.payments[reference]
    assert (await http.put(f"/payments/momo/callback/{reference}", json=body)).status_code == 200
    await part(app, Payments).service.work()
    # A callback for a reference never issued waits for a person.
    stranger = await http.put(f"/payments/momo/callback/{uuid.uuid4()}", json=body)
    assert stranger.status_code == 404  # kept, and refused
    paid = await scrape(http)
    assert paid.value("alafia_payments", status="pending") == 0
    assert paid.value("alafia_payments", status="succeeded") == 1
    assert paid.value("alafia_payment_oldest_pending_age_seconds") == 0
    assert paid.value("alafia_payments_needing_review", kind="unknown_reference") == 1
    assert paid.value("alafia_payments_needing_review", kind="payment") == 0

    # The confirmation went to the aggregator, which reports it undelivered.
    db.execute(
        text(
            "UPDATE messages SET status = 'sent', provider_id = 'ATXid_metrics', "
            "sent_at = created_at WHERE purpose = 'confirmation'"
        )
    )
    db.commit()
    report = {
        "id": "ATXid_metrics",
        "status": "Failed",
        "phoneNumber": PAYER,
        "failureReason": "AbsentSubscriber",
        "retryCount": "2",
    }
    assert (await http.post("/sms/delivery", data=report)).status_code == 200
    # The register refused one event for good (as `alafia register status` shows it).
    db.execute(
        text(
            "UPDATE register_events SET status = 'dead', last_error = 'refused' "
            "WHERE id = (SELECT MIN(id) FROM register_events)"
        )
    )
    db.commit()
    failed = await scrape(http)
    undelivered = {"status": "undelivered", "reason": "AbsentSubscriber"}
    assert failed.value("alafia_sms_failed", **undelivered) == 1
    assert failed.total("alafia_sms_failed") == 1
    assert failed.value("alafia_sms_outbox_depth") == count(
        db, "SELECT COUNT(*) FROM messages WHERE status = 'queued'"
    )
    assert failed.value("alafia_register_dead_letters") == 1
    # The payment credited added its own event: the enrolment's is the dead one.
    assert failed.value("alafia_register_outbox_depth") == count(
        db, "SELECT COUNT(*) FROM register_events WHERE status = 'pending'"
    )


@pytest.fixture
def aggregator() -> Iterator[tuple[AtSmsPeer, str]]:
    at = AtSmsPeer()
    with serve(at.app) as base_url:
        yield at, base_url
        at.release()


async def test_sms_refused_and_retried_by_reason(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
    aggregator: tuple[AtSmsPeer, str],
    db: Session,
) -> None:
    """Three confirmations to Africa's Talking: one number blacklisted (refused for
    good), one refused because our account has no credit (kept and retried), one sent."""
    app, http, _ = gateway
    at, _ = aggregator
    blacklisted, unpaid, fine = "+2290197000911", "+2290197000912", "+2290197000913"
    for number in (blacklisted, unpaid, fine):
        await enrol(http, number)
    at.refuse(blacklisted, 406, "UserInBlacklist")
    at.refuse(unpaid, 405, "InsufficientBalance")
    queued = await scrape(http)
    assert queued.value("alafia_sms_outbox_depth") == 3
    assert queued.total("alafia_sms_failed") == 0
    assert queued.total("alafia_sms_retrying") == 0

    async with dispatcher_for(aggregator, shared(app).sessions, DispatchClock(10)) as dispatcher:
        assert await dispatcher.work() == 3
    sent = await scrape(http)
    assert sent.value("alafia_sms_failed", status="refused", reason="UserInBlacklist") == 1
    assert sent.total("alafia_sms_failed") == 1
    assert sent.value("alafia_sms_retrying", reason="InsufficientBalance") == 1
    assert sent.total("alafia_sms_retrying") == 1
    assert sent.value("alafia_sms_outbox_depth") == 1
    assert count(db, "SELECT COUNT(*) FROM messages WHERE status = 'sent'") == 1


async def test_lockouts_of_agents_and_staff(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
) -> None:
    app, http, now = gateway
    before = await scrape(http)
    assert before.value("alafia_accounts_locked", account="agent") == 0
    agent_id = await add_agent(app, OTHER, "Bio Sika", "MS-PARAKOU", pin="738159")
    pins = AgentPins(shared(app).sessions, now)
    for _ in range(5):
        await pins.verify(agent_id, "1111")
    staff = StaffAccounts(shared(app).sessions, now, LoginLimits(shared(app).limits))
    await staff.add("awa@example.org", "central_admin", None, "a long enough password", "cli:test")
    outcomes = [
        (await staff.authenticate("awa@example.org", "wrong password!!", "192.0.2.10")).outcome
        for _ in range(5)
    ]
    assert outcomes[-1] is LoginOutcome.LOCKED
    after = await scrape(http)
    assert delta(after, before, "alafia_lockouts_total", account="agent") == 1
    assert delta(after, before, "alafia_lockouts_total", account="staff") == 1
    assert after.value("alafia_accounts_locked", account="agent") == 1
    assert after.value("alafia_accounts_locked", account="staff") == 1
    now.at += timedelta(hours=2)  # both locks have lifted
    lifted = await scrape(http)
    assert lifted.value("alafia_accounts_locked", account="agent") == 0
    assert lifted.value("alafia_accounts_locked", account="staff") == 0
    assert delta(lifted, before, "alafia_lockouts_total") == 2


async def test_rate_limit_refusals_by_limit(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
) -> None:
    _, http, _ = gateway
    before = await scrape(http)
    events.rate_limited("member_check")
    events.rate_limited("member_check")
    events.rate_limited("login_ip")
    after = await scrape(http)
    assert delta(after, before, "alafia_rate_limit_refusals_total", limit="member_check") == 2
    assert delta(after, before, "alafia_rate_limit_refusals_total", limit="login_ip") == 1


async def test_a_real_limit_counts_its_refusals(
    gateway: tuple[Starlette, httpx.AsyncClient, Now],
) -> None:
    """The gateway's own limits feed the counter, named as operations.md lists them."""
    app, http, _ = gateway
    before = await scrape(http)
    checks = shared(app).limits.member_checks
    for _ in range(checks.rate.limit + 2):
        await checks.hit("+2290197000555")
    after = await scrape(http)
    assert delta(after, before, "alafia_rate_limit_refusals_total", limit="member_check") == 2


# -- who may read them ---------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-of-some-length", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x"],
)
async def test_with_a_token_set_a_scrape_without_it_is_refused(
    gateway: tuple[Starlette, httpx.AsyncClient, Now], authorization: str | None
) -> None:
    _, http, _ = gateway
    headers = {"Authorization": authorization} if authorization else {}
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "METRICS_TOKEN" in response.json()["error"]
    assert "alafia_" not in response.text
    assert (await http.get("/metrics", headers=BEARER)).status_code == 200
    assert (await http.get("/metrics", headers={"authorization": f"bearer {TOKEN}"})).is_success


async def test_without_a_token_the_server_does_not_serve_them(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    assert settings.metrics.token is None and not settings.metrics.open_without_token
    response = await client.get("/metrics", headers=BEARER)
    assert response.status_code == 403
    assert "METRICS_TOKEN" in response.json()["error"]


async def test_the_demo_on_loopback_serves_them_open(settings: Settings, clean: None) -> None:
    from gateway.app import create_app

    app = create_app(with_token(settings, None, open_without_token=True))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo.test") as http:
            response = await http.get("/metrics")
    assert response.status_code == 200
    assert Scrape.parse(response.text).value("alafia_state_read_ok") == 1
