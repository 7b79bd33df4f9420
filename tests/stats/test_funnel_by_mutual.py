"""The USSD funnel per mutual: sessions recorded through `/ussd/events` from sessions left
in Redis by callers of two mutuals and by strangers; who sees which in the statistics
API, every number checked against plain SQL. (The page and its CSV:
tests/staff/test_funnel_page.py, on the same data set.)

    session  who called, as the session knew it      ended on           day    mutual
    P1       a stranger enrolling in MS-PARAKOU      enrol.done         11-23  MS-PARAKOU
    P2       a household of MS-PARAKOU (its phone)   pay.prompted       11-23  MS-PARAKOU
    P3       a stranger enrolling in MS-PARAKOU      enrol.dep_birth    11-23  MS-PARAKOU
    P4       a stranger enrolling in MS-PARAKOU      enrol.product      11-20  MS-PARAKOU
    K1       a stranger enrolling in MS-KANDI        enrol.dep_birth    11-23  MS-KANDI
    K2       a field agent of MS-KANDI               agent.cash_amount  11-23  MS-KANDI
    U1       a stranger who chose nothing            main.language      11-23  (none)
    U2       a session gone from Redis               (none)             11-23  (none)
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db.values import StaffRole
from gateway.enrolment.service import EnrolmentService
from gateway.ussd.capability import Ussd
from menus.state import SessionState
from tests.conftest import TODAY, Clock
from tests.stats import test_api as api_data
from tests.stats.test_api import by_key, sql
from tests.stats.test_session_ends import notice
from tests.support.agents import add_agent
from tests.support.gateway import part
from tests.support.households import enrol_household

login = api_data.login  # the fixture: a logged-in client per role

COUNT_BY_MUTUAL = (
    "SELECT COUNT(*) FROM ussd_session_ends e JOIN scheme_units u ON u.id = e.mutual_id"
    " WHERE u.code = :code"
)
COUNT_UNKNOWN = "SELECT COUNT(*) FROM ussd_session_ends WHERE mutual_id IS NULL"
COUNT_ALL = "SELECT COUNT(*) FROM ussd_session_ends"


async def _left_in_redis(
    app: Starlette, session_id: str, phone: str, node: str, **known: Any
) -> None:
    """A session as its last hop left it at `node`, knowing what `known` says (its
    `data` and its `caller`)."""
    state = SessionState(node=node, language="fr", ended=True, **known)
    stored = await part(app, Ussd).service.store.save(
        session_id, phone, 0, state.dumps(), None, True
    )
    assert stored


@pytest.fixture
async def sessions(
    app: Starlette, client: httpx.AsyncClient, enrolment: EnrolmentService, clock: Clock
) -> None:
    """The data set of the module docstring, recorded through `/ussd/events`."""
    head = await enrol_household(enrolment, "+2290197000402", mutual="MS-PARAKOU")
    agent = await add_agent(app, "+2290197000406", "Bio", "MS-KANDI", pin="4821")
    ended = [
        ("P1", "enrol.done", {"data": {"mutual": "MS-PARAKOU"}}, TODAY),
        ("P2", "pay.prompted", {"caller": {"member_no": head}}, TODAY),
        ("P3", "enrol.dep_birth", {"data": {"mutual": "MS-PARAKOU"}}, TODAY),
        ("P4", "enrol.product", {"data": {"mutual": "MS-PARAKOU"}}, date(2026, 11, 20)),
        ("K1", "enrol.dep_birth", {"data": {"mutual": "MS-KANDI"}}, TODAY),
        (
            "K2",
            "agent.cash_amount",
            {"caller": {"agent_id": agent, "agent_mutual": "MS-KANDI", "agent_ok": True}},
            TODAY,
        ),
        ("U1", "main.language", {}, TODAY),
    ]
    for n, (name, node, known, day) in enumerate(ended):
        phone = f"+22901970004{n:02d}"
        clock.day = day
        await _left_in_redis(app, f"ATUid_{name}", phone, node, **known)
        answer = await client.post("/ussd/events", data=notice(f"ATUid_{name}", phone))
        assert answer.json() == {"status": "recorded"}
    clock.day = TODAY
    await client.post("/ussd/events", data=notice("ATUid_U2", "+2290197000499"))


async def test_a_central_admin_sees_every_mutual_and_the_unknown(
    sessions: None, login: Any, db: Session
) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    funnel = await admin.figures("funnel")
    today = await admin.figures("funnel", **{"from": "2026-11-23", "to": "2026-11-23"})

    assert funnel["sessions"] == sql(db, COUNT_ALL) == 8
    assert (
        by_key(funnel["by_mutual"], "sessions")
        == {
            "MS-KANDI": sql(db, COUNT_BY_MUTUAL, code="MS-KANDI"),
            "MS-PARAKOU": sql(db, COUNT_BY_MUTUAL, code="MS-PARAKOU"),
            None: sql(db, COUNT_UNKNOWN),
        }
        == {"MS-KANDI": 2, "MS-PARAKOU": 4, None: 2}
    )
    assert [row["key"] for row in funnel["by_mutual"]] == ["MS-KANDI", "MS-PARAKOU", None]
    assert by_key(funnel["by_mutual"], "enrolled", "payment_started") == {
        "MS-KANDI": (0, 0),
        "MS-PARAKOU": (1, 1),
        None: (0, 0),
    }
    assert (funnel["enrolled"], funnel["payment_started"]) == (1, 1)
    assert sum(row["sessions"] for row in funnel["by_mutual"]) == funnel["sessions"]
    assert today["sessions"] == 7 and by_key(today["by_mutual"], "sessions")["MS-PARAKOU"] == 3


async def test_a_manager_sees_only_their_mutuals_sessions(
    sessions: None, login: Any, db: Session
) -> None:
    manager = await login(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")

    funnel = await manager.figures("funnel")
    other = await manager.get("funnel", mutual="MS-KANDI")

    assert funnel["sessions"] == sql(db, COUNT_BY_MUTUAL, code="MS-PARAKOU") == 4
    assert funnel["by_mutual"] == [
        {"key": "MS-PARAKOU", "sessions": 4, "enrolled": 1, "payment_started": 1}
    ]
    assert funnel["by_journey"] == {"enrol": 3, "pay": 1}
    assert funnel["stopped_at"] == [
        {"node": "enrol.dep_birth", "sessions": 1},
        {"node": "enrol.product", "sessions": 1},
    ]
    assert funnel["average_hops"] == sql(
        db,
        "SELECT AVG(e.hops) FROM ussd_session_ends e JOIN scheme_units u ON u.id = e.mutual_id"
        " WHERE u.code = 'MS-PARAKOU'",
    )
    assert other.status_code == 403


async def test_the_mutual_filter_leaves_the_unknown_out(
    sessions: None, login: Any, db: Session
) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    kandi = await admin.figures("funnel", mutual="MS-KANDI")

    assert kandi["sessions"] == sql(db, COUNT_BY_MUTUAL, code="MS-KANDI") == 2
    assert [row["key"] for row in kandi["by_mutual"]] == ["MS-KANDI"]
    assert kandi["by_journey"] == {"agent": 1, "enrol": 1}
    assert kandi["filters"]["mutual"] == "MS-KANDI"


async def test_viewers_see_their_unit_and_only_the_whole_scheme_sees_the_unknown(
    sessions: None, login: Any, db: Session
) -> None:
    zone = await login(StaffRole.VIEWER, "ZS-PARAKOU")  # MS-PARAKOU and MS-NDALI
    everything = await login(StaffRole.VIEWER)

    in_zone = await zone.figures("funnel")
    whole = await everything.figures("funnel")

    assert in_zone["sessions"] == sql(
        db,
        "SELECT COUNT(*) FROM ussd_session_ends e JOIN scheme_units u ON u.id = e.mutual_id"
        " WHERE u.path LIKE 'RMS-BJ/ZS-PARAKOU/%'",
    )
    assert by_key(in_zone["by_mutual"], "sessions") == {"MS-PARAKOU": 4}
    assert whole["sessions"] == sql(db, COUNT_ALL)
    assert by_key(whole["by_mutual"], "sessions")[None] == sql(db, COUNT_UNKNOWN)


async def test_the_openapi_document_describes_the_funnel_by_mutual(app: Starlette) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://gateway.test") as http:
        document = (await http.get("/api/v1/openapi.json")).json()

    operation = document["paths"]["/api/v1/stats/funnel"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    by_mutual = schema["properties"]["by_mutual"]
    assert by_mutual["items"]["properties"]["key"]["type"] == ["string", "null"]
    assert set(by_mutual["items"]["required"]) == {
        "key",
        "sessions",
        "enrolled",
        "payment_started",
    }
    assert "whole scheme" in by_mutual["items"]["description"]
    description = " ".join(operation["description"].split())
    assert "count only for staff who see the whole scheme" in description
