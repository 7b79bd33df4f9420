"""Redis or the database down: the phone gets a proper END in its language, /readyz says
what is wrong, and nothing is half-written."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gateway.enrolment.service import EnrolmentService
from menus.effects import EnrolHousehold, PersonDraft
from tests.conftest import TODAY

FORM = {
    "sessionId": "ATUid_down",
    "serviceCode": "*384*22#",
    "phoneNumber": "+2290197000301",
    "networkCode": "61603",
}


async def test_redis_down_gives_an_end_screen(without_redis: httpx.AsyncClient) -> None:
    response = await without_redis.post("/ussd", data={**FORM, "text": ""})
    assert response.status_code == 200
    assert response.text == "END Service momentanément indisponible. Merci de réessayer plus tard."
    ready = await without_redis.get("/readyz")
    assert ready.status_code == 503 and ready.json()["redis"].startswith("error")


async def test_database_down_gives_an_end_screen(without_database: httpx.AsyncClient) -> None:
    response = await without_database.post("/ussd", data={**FORM, "text": ""})
    assert response.status_code == 200
    assert response.text.startswith("END Service momentanément indisponible")
    ready = await without_database.get("/readyz")
    assert ready.status_code == 503 and ready.json()["database"].startswith("error")


def _person(relationship: str, national_id: str | None) -> PersonDraft:
    return PersonDraft("HOUSSOU", "Jean", "M", "1980-01-01", True, relationship, None, national_id)


async def test_an_enrolment_that_fails_half_way_leaves_nothing(
    enrolment: EnrolmentService, clean: None, db: Session
) -> None:
    service = enrolment
    # Two people of one household with the same national ID: the second insert fails
    # after the household and the first member were written in the transaction.
    request = EnrolHousehold(
        "MS-KANDI",
        "FAMILLE",
        "+2290197000302",
        "fr",
        _person("head", "5556667778"),
        (_person("child", "5556667778"),),
    )
    with pytest.raises(RuntimeError):
        await service.enrol(request, "test:half-way", TODAY)
    for table in ("households", "members", "coverage_periods"):
        assert db.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one() == 0


async def test_two_sessions_of_one_family_enrol_it_once(
    enrolment: EnrolmentService, clean: None, db: Session
) -> None:
    import asyncio

    service = enrolment
    request = EnrolHousehold(
        "MS-KANDI", "FAMILLE", "+2290197000303", "fr", _person("head", None), ()
    )
    results = await asyncio.gather(
        *(service.enrol(request, f"test:race-{i}", TODAY) for i in range(5))
    )
    assert sorted(r["outcome"] for r in results) == ["duplicate"] * 4 + ["enrolled"]
    assert len({r["member_no"] for r in results}) == 1
    assert db.execute(text("SELECT COUNT(*) FROM households")).scalar_one() == 1
