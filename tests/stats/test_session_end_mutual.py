"""Each USSD session end records the caller's mutual when the session knew it: the
mutual chosen while enrolling, else a field agent's, else the household whose phone
dialled; nothing for a stranger who stopped before choosing. Real sessions over
`/ussd`, real notices over `/ussd/events`, checked with plain SQL."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from gateway.enrolment.service import EnrolmentService
from tests.stats.test_session_ends import notice
from tests.support.agents import add_agent
from tests.support.households import enrol_household
from tests.support.ussd_phone import Phone

FRENCH, JOIN, KANDI, PARAKOU = "1", "1", "1", "3"  # the answers on the menus' screens


def mutual_of_session(db: Session, session_id: str) -> str | None:
    """The code of the mutual recorded with this session's end; None when there is none."""
    db.rollback()
    found = db.execute(
        text(
            "SELECT e.mutual_id, u.code FROM ussd_session_ends e"
            " LEFT JOIN scheme_units u ON u.id = e.mutual_id WHERE e.session_id = :id"
        ),
        {"id": session_id},
    ).one()
    return found.code


async def end(client: httpx.AsyncClient, phone: Phone) -> None:
    response = await client.post("/ussd/events", data=notice(phone.session_id, phone.number))
    assert response.json() == {"status": "recorded"}


async def test_the_mutual_chosen_while_enrolling(client: httpx.AsyncClient, db: Session) -> None:
    phone = Phone(client, "+2290197000301")
    await phone.dial()
    for answer in (FRENCH, JOIN, KANDI):
        await phone.type(answer)  # and gives up on the product screen

    await end(client, phone)

    assert mutual_of_session(db, phone.session_id) == "MS-KANDI"


async def test_a_stranger_who_stopped_before_choosing_has_no_mutual(
    client: httpx.AsyncClient, db: Session
) -> None:
    phone = Phone(client, "+2290197000302")
    await phone.dial()
    await phone.type(FRENCH)

    await end(client, phone)

    assert mutual_of_session(db, phone.session_id) is None


async def test_a_known_household_is_counted_in_its_mutual(
    client: httpx.AsyncClient, db: Session, enrolment: EnrolmentService
) -> None:
    await enrol_household(enrolment, "+2290197000303", mutual="MS-KANDI")
    phone = Phone(client, "+2290197000303")
    await phone.dial()  # the members' menu, and nothing chosen

    await end(client, phone)

    assert mutual_of_session(db, phone.session_id) == "MS-KANDI"


async def test_the_enrolment_chosen_wins_over_the_callers_own_household(
    client: httpx.AsyncClient, db: Session, enrolment: EnrolmentService
) -> None:
    await enrol_household(enrolment, "+2290197000304", mutual="MS-KANDI")
    phone = Phone(client, "+2290197000304")
    await phone.dial()
    await phone.type(JOIN)
    await phone.type(PARAKOU)  # a second household, in another mutual

    await end(client, phone)

    assert mutual_of_session(db, phone.session_id) == "MS-PARAKOU"


async def test_a_field_agent_is_counted_in_the_agents_mutual(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    await add_agent(app, "+2290197000305", "Awa", "MS-NDALI", pin="4821")
    phone = Phone(client, "+2290197000305")
    await phone.dial()  # the PIN screen

    await end(client, phone)

    assert mutual_of_session(db, phone.session_id) == "MS-NDALI"


async def test_a_session_gone_from_redis_has_no_mutual(
    client: httpx.AsyncClient, db: Session
) -> None:
    await client.post("/ussd/events", data=notice("ATUid_expired", "+2290197000306"))

    assert mutual_of_session(db, "ATUid_expired") is None
