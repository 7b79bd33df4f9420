"""What Africa's Talking tells us after the fact, over HTTP: delivery reports
(`POST /sms/delivery`), opt-out notices (`POST /sms/optout`), and the guard on every
/sms/* callback (the token, the required fields)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.engine import as_aware
from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import TODAY, Clock
from tests.support.paying import ZONE, count, enrol

PHONE = "+2290197123456"
PROVIDER_ID = "ATXid_1a2b3c"


async def sent_confirmation(http: httpx.AsyncClient, db: Session) -> None:
    """A household's confirmation, handed to the aggregator under PROVIDER_ID."""
    await enrol(http, PHONE)
    db.execute(
        text(
            "UPDATE messages SET status = 'sent', provider_id = :id, sent_at = created_at"
            " WHERE purpose = 'confirmation'"
        ),
        {"id": PROVIDER_ID},
    )
    db.commit()


async def report(
    http: httpx.AsyncClient, status: str, failure_reason: str | None = None, **extra: str
) -> httpx.Response:
    form = {
        "id": PROVIDER_ID,
        "status": status,
        "phoneNumber": PHONE,
        "networkCode": "61603",
        "retryCount": "0",
        **extra,
    }
    if failure_reason is not None:
        form |= {"failureReason": failure_reason, "retryCount": "2"}
    return await http.post("/sms/delivery", data=form)


def message(db: Session) -> dict[str, Any]:
    db.expire_all()
    row = (
        db.execute(
            text(
                "SELECT status, delivery_status, reason, reported_at FROM messages"
                " WHERE provider_id = :id"
            ),
            {"id": PROVIDER_ID},
        )
        .mappings()
        .one()
    )
    return dict(row)


def opt_outs(db: Session) -> list[tuple[str, str]]:
    db.expire_all()
    return [tuple(r) for r in db.execute(text("SELECT phone, source FROM sms_opt_outs")).all()]


# -- delivery reports -------------------------------------------------------------

# the reports that arrive, in order (status, failureReason) -> the message's status,
# the report's own word and the reason kept
REPORTS: list[tuple[list[tuple[str, str | None]], tuple[str, str, str | None]]] = [
    ([("Success", None)], ("delivered", "Success", None)),
    ([("Failed", "UserInBlackList")], ("undelivered", "Failed", "UserInBlackList")),
    ([("Rejected", "InvalidLinkId")], ("undelivered", "Rejected", "InvalidLinkId")),
    ([("Expired", None)], ("undelivered", "Expired", None)),
    # news on the way: the message stays sent
    ([("Sent", None)], ("sent", "Sent", None)),
    ([("Submitted", None), ("Buffered", None)], ("sent", "Buffered", None)),
    ([("Buffered", None), ("Success", None)], ("delivered", "Success", None)),
    # a final report ends the story: nothing that comes later moves the message
    ([("Success", None), ("Buffered", None)], ("delivered", "Success", None)),
    ([("Success", None), ("Failed", "DeliveryFailure")], ("delivered", "Success", None)),
    (
        [("Failed", "AbsentSubscriber"), ("Success", None)],
        ("undelivered", "Failed", "AbsentSubscriber"),
    ),
    ([("Success", None), ("Success", None)], ("delivered", "Success", None)),
]


@pytest.mark.parametrize(
    ("reports", "expected"),
    REPORTS,
    ids=[" then ".join(s for s, _ in reports) for reports, _ in REPORTS],
)
async def test_delivery_reports_update_the_message(
    client: httpx.AsyncClient,
    db: Session,
    reports: list[tuple[str, str | None]],
    expected: tuple[str, str, str | None],
) -> None:
    await sent_confirmation(client, db)

    for status, failure_reason in reports:
        response = await report(client, status, failure_reason)
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "recorded"}

    row = message(db)
    assert (row["status"], row["delivery_status"], row["reason"]) == expected
    assert row["reported_at"] is not None


async def test_a_report_records_when_it_came(client: httpx.AsyncClient, db: Session) -> None:
    await sent_confirmation(client, db)
    assert message(db)["reported_at"] is None

    await report(client, "Success")

    db.expire_all()
    reported_at = db.scalars(
        select(models.Message.reported_at).where(models.Message.provider_id == PROVIDER_ID)
    ).one()
    assert reported_at is not None
    # SQLite hands back the scheme's local time without its zone, PostgreSQL an aware one.
    assert as_aware(reported_at, datetime.now(ZONE)).astimezone(ZONE).date() == TODAY


async def test_a_late_report_after_a_final_one_changes_nothing(
    client: httpx.AsyncClient, db: Session
) -> None:
    await sent_confirmation(client, db)
    await report(client, "Success")
    final = message(db)

    for late in ("Buffered", "Sent", "Submitted", "Failed"):
        assert (await report(client, late, "DeliveryFailure")).status_code == 200

    assert message(db) == final  # reported_at included


async def test_a_report_touches_only_its_own_message(
    client: httpx.AsyncClient, db: Session
) -> None:
    await sent_confirmation(client, db)
    await enrol(client, "+2290197123457")  # another confirmation, still queued

    await report(client, "Failed", "UserInBlackList")

    assert count(db, "SELECT COUNT(*) FROM messages WHERE status = 'undelivered'") == 1
    assert count(db, "SELECT COUNT(*) FROM messages WHERE status = 'queued'") == 1
    assert count(db, "SELECT COUNT(*) FROM messages WHERE delivery_status IS NOT NULL") == 1


async def test_a_report_for_an_unknown_id_is_logged_and_answered_200(
    client: httpx.AsyncClient, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    await sent_confirmation(client, db)

    with caplog.at_level(logging.WARNING, logger="gateway.sms.reports"):
        response = await report(client, "Success", id="ATXid_never_ours")

    assert response.status_code == 200
    assert response.json() == {"status": "unknown id, logged"}
    assert "ATXid_never_ours" in caplog.text
    assert message(db)["status"] == "sent"


# -- opt-out notices --------------------------------------------------------------


async def test_an_opt_out_notice_stops_reminders_once(
    client: httpx.AsyncClient, db: Session
) -> None:
    for _ in range(3):
        response = await client.post(
            "/sms/optout", data={"senderId": "ALAFIA", "phoneNumber": PHONE}
        )
        assert response.status_code == 200, response.text

    assert opt_outs(db) == [(PHONE, "aggregator")]


@pytest.mark.parametrize("given", ["+2290197123456", "2290197123456", "97123456", "+22997123456"])
async def test_an_opt_out_notice_stores_the_number_in_e164(
    client: httpx.AsyncClient, db: Session, given: str
) -> None:
    response = await client.post("/sms/optout", data={"senderId": "ALAFIA", "phoneNumber": given})

    assert response.status_code == 200, response.text
    assert opt_outs(db) == [(PHONE, "aggregator")]


async def test_an_opt_out_notice_after_stop_keeps_the_first_source(
    client: httpx.AsyncClient, db: Session
) -> None:
    await client.post("/sms/inbound", data={"id": "ATXid_in_1", "from": PHONE, "text": "STOP"})

    await client.post("/sms/optout", data={"senderId": "ALAFIA", "phoneNumber": PHONE})

    assert opt_outs(db) == [(PHONE, "keyword")]


# -- what every callback must carry ------------------------------------------------

# route, form -> a word the 400's reason holds
REFUSED: list[tuple[str, dict[str, str], str]] = [
    ("/sms/delivery", {"status": "Success", "phoneNumber": PHONE}, "id"),
    ("/sms/delivery", {"id": PROVIDER_ID, "phoneNumber": PHONE}, "status"),
    ("/sms/delivery", {"id": "  ", "status": "Success"}, "id"),
    ("/sms/delivery", {}, "id, status"),
    ("/sms/inbound", {"from": PHONE, "text": "AIDE"}, "id"),
    ("/sms/inbound", {"id": "ATXid_in_9", "text": "AIDE"}, "from"),
    ("/sms/inbound", {"id": "ATXid_in_9", "from": "", "text": "AIDE"}, "from"),
    ("/sms/optout", {"senderId": "ALAFIA"}, "phoneNumber"),
]


@pytest.mark.parametrize("number", ["12", "+229 01 00"])
async def test_an_opt_out_for_something_that_is_not_a_number_is_logged_not_retried(
    client: httpx.AsyncClient, db: Session, number: str
) -> None:
    # A 4xx would make the aggregator send it again for hours.
    response = await client.post("/sms/optout", data={"senderId": "ALAFIA", "phoneNumber": number})

    assert response.status_code == 200
    assert response.json()["status"].startswith("ignored")
    assert count(db, "SELECT COUNT(*) FROM sms_opt_outs") == 0


@pytest.mark.parametrize(("route", "form", "reason"), REFUSED)
async def test_a_callback_without_what_it_needs_is_refused(
    client: httpx.AsyncClient, db: Session, route: str, form: dict[str, str], reason: str
) -> None:
    response = await client.post(route, data=form)

    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert count(db, "SELECT COUNT(*) FROM inbound_sms") == 0
    assert count(db, "SELECT COUNT(*) FROM sms_opt_outs") == 0
    assert count(db, "SELECT COUNT(*) FROM messages") == 0


async def test_a_body_that_is_not_a_form_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/sms/delivery", json={"id": PROVIDER_ID, "status": "Success"})

    assert response.status_code == 400


async def test_an_inbound_message_without_text_is_read_as_unknown(
    client: httpx.AsyncClient, db: Session
) -> None:
    response = await client.post("/sms/inbound", data={"id": "ATXid_in_8", "from": PHONE})

    assert response.status_code == 200
    assert response.json() == {"status": "unknown"}


TOKEN = "s3cret"

# every callback with a form it accepts
CALLBACKS: list[tuple[str, dict[str, str]]] = [
    ("/sms/delivery", {"id": "ATXid_unknown", "status": "Success", "phoneNumber": PHONE}),
    ("/sms/inbound", {"id": "ATXid_in_7", "from": PHONE, "to": "23456", "text": "AIDE"}),
    ("/sms/optout", {"senderId": "ALAFIA", "phoneNumber": PHONE}),
]
# what the URL carries -> the answer
TOKENS: list[tuple[str, int]] = [
    ("", 401),
    ("?token=", 401),
    ("?token=wrong", 401),
    ("?token=S3CRET", 401),
    ("?token=s3cret0", 401),
    ("?other=s3cret", 401),
    (f"?token={TOKEN}", 200),
]


@pytest.fixture(scope="module")
async def guarded_app(settings: Settings) -> AsyncIterator[Starlette]:
    """A second gateway, on the same database, whose callbacks need `?token=s3cret`."""
    guarded = dataclasses.replace(
        settings, sms=dataclasses.replace(settings.sms, callback_token=TOKEN)
    )
    app = create_app(guarded, Clock(TODAY))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def guarded(guarded_app: Starlette, clean: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=guarded_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http


@pytest.mark.parametrize(("query", "expected"), TOKENS)
@pytest.mark.parametrize(("route", "form"), CALLBACKS, ids=[r for r, _ in CALLBACKS])
async def test_with_a_token_configured_every_callback_must_carry_it(
    guarded: httpx.AsyncClient,
    db: Session,
    route: str,
    form: dict[str, str],
    query: str,
    expected: int,
) -> None:
    response = await guarded.post(route + query, data=form)

    assert response.status_code == expected, response.text
    done = 1 if expected == 200 else 0
    if route == "/sms/inbound":
        assert count(db, "SELECT COUNT(*) FROM inbound_sms") == done
        assert count(db, "SELECT COUNT(*) FROM messages WHERE purpose = 'reply'") == done
    if route == "/sms/optout":
        assert count(db, "SELECT COUNT(*) FROM sms_opt_outs") == done


async def test_the_token_is_checked_before_the_fields(guarded: httpx.AsyncClient) -> None:
    refused = await guarded.post("/sms/delivery", data={})
    incomplete = await guarded.post(f"/sms/delivery?token={TOKEN}", data={})

    assert refused.status_code == 401
    assert incomplete.status_code == 400


async def test_without_a_token_configured_none_is_needed(client: httpx.AsyncClient) -> None:
    for route, form in CALLBACKS:
        response = await client.post(route, data=form)
        assert response.status_code == 200, (route, response.text)
