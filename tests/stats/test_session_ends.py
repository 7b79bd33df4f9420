"""Africa's Talking's end-of-session notifications (`POST /ussd/events`): recorded once,
with the screen each session ended on, without what people typed; and the USSD funnel
the statistics API builds from them."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db.values import StaffRole
from gateway.app import create_app
from gateway.settings import Settings
from gateway.ussd.capability import Ussd
from menus.state import SessionState
from tests.conftest import TODAY, Clock
from tests.stats.test_api import login  # noqa: F401  (the fixture)
from tests.support.gateway import part
from tests.support.ussd_phone import Phone

ENROLMENT = "1,1,3,HOUNGBO Afi,1990,2,4,Houngbo Jean,1,15041988,Marc,3,2016,Ella,4,2019,1"
PIN = "4821"


def notice(session_id: str, phone: str = "+2290197000001", **fields: str) -> dict[str, str]:
    return {
        "sessionId": session_id,
        "phoneNumber": phone,
        "serviceCode": "*384*22#",
        "networkCode": "61603",
        "status": "Incomplete",
        "durationInMillis": "41000",
        "hopsCount": "3",
        "input": f"1*9*{PIN}",
        "lastAppResponse": "END Votre numéro de membre: 100000011",
        "errorMessage": "",
        "cost": "XOF 0.0000",
        "date": "2026-11-23 10:00:00",
        **fields,
    }


def rows(db: Session) -> list[dict[str, Any]]:
    db.rollback()
    result = db.execute(text("SELECT * FROM ussd_session_ends ORDER BY id"))
    return [dict(row._mapping) for row in result]


async def enrol_by_phone(client: httpx.AsyncClient, number: str) -> Phone:
    phone = Phone(client, number)
    await phone.dial()
    for answer in ENROLMENT.split(","):
        reply = await phone.type(answer)
    assert reply.startswith("END Bienvenue"), reply
    return phone


async def test_a_session_end_is_recorded_with_its_last_screen(
    client: httpx.AsyncClient, db: Session
) -> None:
    phone = await enrol_by_phone(client, "+2290197000001")

    response = await client.post("/ussd/events", data=notice(phone.session_id, status="Success"))

    assert response.status_code == 200
    assert response.json() == {"status": "recorded"}
    [row] = rows(db)
    assert (row["journey"], row["last_node"], row["status"]) == ("enrol", "enrol.done", "Success")
    assert (row["hops"], row["duration_ms"], row["network_code"]) == (3, 41000, "61603")
    assert (row["service_code"], row["cost"]) == ("*384*22#", "XOF 0.0000")


async def test_a_session_that_stopped_midway_keeps_the_screen_it_stopped_on(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    phone = Phone(client, "+2290197000002")
    await phone.dial()
    await phone.type("1")
    await phone.type("1")
    stored = await part(app, Ussd).service.store.load(phone.session_id, "+2290197000002")
    node = SessionState.loads(stored.state).node

    await client.post("/ussd/events", data=notice(phone.session_id, "+2290197000002"))

    [row] = rows(db)
    assert node.startswith("enrol.")
    assert (row["journey"], row["last_node"]) == ("enrol", node)


async def test_a_session_gone_from_redis_is_recorded_without_a_screen(
    client: httpx.AsyncClient, db: Session
) -> None:
    response = await client.post("/ussd/events", data=notice("ATUid_long_gone"))

    assert response.status_code == 200
    [row] = rows(db)
    assert (row["session_id"], row["journey"], row["last_node"]) == ("ATUid_long_gone", None, None)


async def test_an_unusable_phone_number_still_records_the_session(
    client: httpx.AsyncClient, db: Session
) -> None:
    response = await client.post("/ussd/events", data=notice("ATUid_x", phone="not a number"))

    assert response.status_code == 200
    assert rows(db)[0]["last_node"] is None


async def test_a_repeated_notice_is_recorded_once(client: httpx.AsyncClient, db: Session) -> None:
    first = await client.post("/ussd/events", data=notice("ATUid_twice"))
    again = await client.post("/ussd/events", data=notice("ATUid_twice", status="Failed"))

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {"status": "already recorded"}
    assert [row["status"] for row in rows(db)] == ["Incomplete"]


async def test_what_people_typed_and_their_number_are_not_stored(
    client: httpx.AsyncClient, db: Session
) -> None:
    await client.post("/ussd/events", data=notice("ATUid_agent", errorMessage="timeout"))

    [row] = rows(db)
    stored = " ".join(str(value) for value in row.values())
    assert PIN not in stored
    assert "97000001" not in stored
    assert "100000011" not in stored  # the last screen's member number
    assert row["error_message"] == "timeout"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"sessionId": ""}, "sessionId and status are required"),
        ({"status": ""}, "sessionId and status are required"),
        ({"sessionId": "x" * 101}, "longer than 100"),
        ({"hopsCount": "three"}, "hopsCount must be a number"),
        ({"durationInMillis": "-5"}, "durationInMillis is out of range"),
        ({"durationInMillis": "inf"}, "durationInMillis must be a number"),
    ],
)
async def test_a_malformed_notice_is_refused(
    client: httpx.AsyncClient, db: Session, fields: dict[str, str], reason: str
) -> None:
    response = await client.post("/ussd/events", data=notice("ATUid_bad", **fields))

    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert rows(db) == []


TOKEN = "s3cret"


@pytest.fixture(scope="module")
async def guarded_app(settings: Settings) -> AsyncIterator[Starlette]:
    """A second gateway whose Africa's Talking callbacks must carry `?token=s3cret`."""
    guarded = dataclasses.replace(
        settings, sms=dataclasses.replace(settings.sms, callback_token=TOKEN)
    )
    app = create_app(guarded, Clock(TODAY))
    async with app.router.lifespan_context(app):
        yield app


@pytest.mark.parametrize(
    ("query", "expected"),
    [("", 401), ("?token=", 401), ("?token=wrong", 401), (f"?token={TOKEN}", 200)],
)
async def test_the_callback_token_is_required_when_configured(
    guarded_app: Starlette, clean: None, db: Session, query: str, expected: int
) -> None:
    transport = httpx.ASGITransport(app=guarded_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        response = await http.post("/ussd/events" + query, data=notice("ATUid_guarded"))

    assert response.status_code == expected
    assert len(rows(db)) == (1 if expected == 200 else 0)


async def _ended_on(app: Starlette, session_id: str, phone: str, node: str) -> None:
    """A session left in Redis at `node`, as a journey this test gateway cannot run (no
    payment provider is configured) would have left it."""
    state = SessionState(node=node, language="fr", ended=True)
    stored = await part(app, Ussd).service.store.save(
        session_id, phone, 0, state.dumps(), None, True
    )
    assert stored


async def test_the_funnel_from_posted_notices(
    app: Starlette,
    client: httpx.AsyncClient,
    login: Any,  # noqa: F811  (the fixture imported above)
    clock: Clock,
) -> None:
    enrolled = await enrol_by_phone(client, "+2290197000011")
    await client.post("/ussd/events", data=notice(enrolled.session_id, "+2290197000011"))
    for n, node in enumerate(
        ["pay.prompted", "pay.prompted", "pay.cancelled", "enrol.dep_birth", "enrol.dep_birth"]
    ):
        phone = f"+22901970001{n:02d}"
        await _ended_on(app, f"ATUid_f{n}", phone, node)
        await client.post("/ussd/events", data=notice(f"ATUid_f{n}", phone, hopsCount="5"))
    await client.post("/ussd/events", data=notice("ATUid_gone", status="Failed"))
    clock.day = date(2026, 11, 20)  # an earlier day, outside the period asked below
    await _ended_on(app, "ATUid_old", "+2290197000200", "enrol.done")
    await client.post("/ussd/events", data=notice("ATUid_old", "+2290197000200"))
    clock.day = TODAY
    admin = await login(StaffRole.CENTRAL_ADMIN)
    manager = await login(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")

    today = await admin.figures("funnel", **{"from": "2026-11-23", "to": "2026-11-23"})
    everything = await admin.figures("funnel")
    managed = await manager.figures("funnel")

    assert today["sessions"] == 7
    assert (today["enrolled"], today["payment_started"]) == (1, 2)
    assert today["by_journey"] == {"enrol": 3, "pay": 3, "unknown": 1}
    assert today["by_status"] == {"Failed": 1, "Incomplete": 6}
    assert today["stopped_at"] == [
        {"node": "enrol.dep_birth", "sessions": 2},
        {"node": "pay.cancelled", "sessions": 1},
        {"node": "unknown", "sessions": 1},
    ]
    assert today["average_hops"] == round((3 + 5 * 5 + 3) / 7, 1)
    assert (everything["sessions"], everything["enrolled"]) == (8, 2)
    # A manager sees the sessions of their mutual's callers only: here the one enrolment
    # in MS-PARAKOU; the others' caller and mutual were never known.
    assert (managed["sessions"], managed["enrolled"]) == (1, 1)
