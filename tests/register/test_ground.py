"""On what ground a person is covered, in every answer that says whether they are: the
household's rights, a member check and a facility's eligibility check."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.engine import create_engine_async, session_factory
from gateway.enrolment.entitlements import RightsService
from gateway.enrolment.service import EnrolmentService
from gateway.register.capability import Register
from menus.effects import EnrolHousehold, PersonDraft
from tests.conftest import TODAY
from tests.support.gateway import part

PHONE = "+2290197000801"


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine_async(database_url)
    yield session_factory(engine)
    await engine.dispose()


async def family(enrolment: EnrolmentService, db: Session) -> tuple[str, str]:
    """A mother (34) and her baby (2) on FAMILLE: the head's and the baby's numbers."""
    result = await enrolment.enrol(
        EnrolHousehold(
            "MS-PARAKOU",
            "FAMILLE",
            PHONE,
            "fr",
            PersonDraft("AGBO", "Rose", "F", "1992-04-02", False, "head"),
            (PersonDraft("AGBO", "Lina", "F", "2024-06-15", False, "child"),),
        ),
        f"test:{uuid.uuid4()}",
        TODAY,
    )
    assert result["outcome"] == "enrolled" and result["premium_due"] == 1575, result
    baby = db.scalar(select(models.Member.member_no).where(models.Member.first_names == "Lina"))
    db.rollback()
    assert baby is not None
    return result["member_no"], baby


async def test_rights_and_checks_say_the_ground(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    db: Session,
    clean: None,
) -> None:
    head, baby = await family(enrolment, db)
    rights = RightsService(sessions)
    household = await rights.household_rights(PHONE, TODAY)
    assert [(m["member_no"], m.get("ground")) for m in household["members"]] == [
        (head, "member"),
        (baby, "under_five"),
    ]
    assert (await rights.member_status(baby, TODAY)).get("ground") == "under_five"
    assert (await rights.member_status(head, TODAY)).get("ground") == "member"
    async with sessions() as session:
        payer = await session.scalar(
            select(models.Sponsor.code)
            .join(models.CoverLine, models.CoverLine.sponsor_id == models.Sponsor.id)
            .where(models.CoverLine.ground == "under_five")
        )
    assert payer == "ETAT"


async def test_a_facility_hears_the_ground(
    app: Starlette, client: httpx.AsyncClient, enrolment: EnrolmentService, db: Session
) -> None:
    head, baby = await family(enrolment, db)
    _, key = await part(app, Register).facilities.add("CS-PKU", "CS Parakou", [], by="cli:test")
    answers = {}
    for number in (head, baby):
        response = await client.get(
            f"/api/v1/eligibility/{number}", headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 200, response.text
        answers[number] = response.json()["ground"]
    assert answers == {head: "member", baby: "under_five"}
    eligibility = part(app, Register).eligibility
    assert (await eligibility.answer(baby, TODAY)).ground == "under_five"
