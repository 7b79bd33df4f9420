"""Exemptions set by staff: from the dashboard and the command line, audited, within the
staff member's unit, read-only for viewers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway import cli
from gateway.enrolment.service import EnrolmentService
from gateway.groups.exemption_rules import ExemptionRefused, check
from gateway.settings import Settings
from tests.conftest import TODAY
from tests.staff.web import (
    KANDI_PHONE,
    MANAGER,
    PARAKOU_PHONE,
    VIEWER,
    audit_rows,
    household_of,
    logged_in,
    members,
    text_of,
)

NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 9, 0, tzinfo=ZoneInfo("Africa/Porto-Novo"))


def exemptions(db: Session) -> list[tuple[str, str, str, str | None, str | None]]:
    db.expire_all()
    rows = db.scalars(select(models.MemberExemption).order_by(models.MemberExemption.id)).all()
    return [
        (
            e.ground,
            e.source,
            e.starts_on.isoformat(),
            e.ends_on and e.ends_on.isoformat(),
            e.recorded_by,
        )
        for e in rows
    ]


def test_the_rules_of_an_exemption() -> None:
    check("indigent", TODAY, None)
    check("pregnancy", TODAY, TODAY + timedelta(days=200))
    for ground, ends, reason in (
        ("pregnancy", None, "pregnancy_needs_end"),
        ("pregnancy", TODAY + timedelta(days=301), "pregnancy_too_long"),
        ("indigent", TODAY - timedelta(days=1), "ends_before_start"),
        ("twins", None, "ground"),
    ):
        with pytest.raises(ExemptionRefused) as refused:
            check(ground, TODAY, ends)
        assert refused.value.reason == reason


async def test_a_manager_records_a_pregnancy_for_a_member_of_the_unit(
    web: httpx.AsyncClient, app: Starlette, enrolment: EnrolmentService, db: Session
) -> None:
    household = await household_of(enrolment, db, PARAKOU_PHONE, "MS-PARAKOU")
    rose = members(db, household)[0]
    csrf = await logged_in(web, app, *MANAGER)
    ends = (TODAY + timedelta(days=150)).isoformat()
    form = {"csrf": csrf, "member_no": rose.member_no, "ground": "pregnancy", "until": ends}

    answer = await web.post("/admin/exemptions", data=form)

    assert answer.status_code == 303
    page = await web.get(answer.headers["location"])
    assert "Grossesse" in text_of(page) and ends in text_of(page)
    assert exemptions(db) == [("pregnancy", "staff", TODAY.isoformat(), ends, exemptions(db)[0][4])]
    assert exemptions(db)[0][4].startswith("staff:")
    (entry,) = audit_rows(db, "exemption_recorded")
    assert entry.member_no == rose.member_no and entry.details["ground"] == "pregnancy"
    # The same form again records nothing more.
    assert (await web.post("/admin/exemptions", data=form)).status_code == 303
    assert len(exemptions(db)) == 1 and len(audit_rows(db, "exemption_recorded")) == 1
    # A pregnancy without its end is refused, with the reason on the page.
    refused = await web.post("/admin/exemptions", data={**form, "until": ""})
    assert refused.status_code == 400
    assert "date de fin" in text_of(refused)


async def test_a_member_of_another_unit_is_unknown_and_viewers_only_read(
    web: httpx.AsyncClient, app: Starlette, enrolment: EnrolmentService, db: Session
) -> None:
    kandi = await household_of(enrolment, db, KANDI_PHONE, "MS-KANDI")
    parakou = await household_of(enrolment, db, PARAKOU_PHONE, "MS-PARAKOU")
    csrf = await logged_in(web, app, *MANAGER)
    outsider = members(db, kandi)[0].member_no
    form = {"csrf": csrf, "member_no": outsider, "ground": "indigent"}
    answer = await web.post("/admin/exemptions", data=form)
    assert answer.status_code == 400 and "Aucun membre de votre unité" in text_of(answer)
    assert exemptions(db) == []

    csrf = await logged_in(web, app, *VIEWER)
    ours = members(db, parakou)[0].member_no
    page = await web.get(f"/admin/exemptions?member={ours}")
    assert page.status_code == 200 and "Aucune exemption pour ce membre" in text_of(page)
    assert 'name="ground"' not in page.text  # no form to record one
    form = {"csrf": csrf, "member_no": ours, "ground": "indigent"}
    assert (await web.post("/admin/exemptions", data=form)).status_code == 403
    assert exemptions(db) == []


async def test_exemptions_from_the_command_line(
    no_groups: None,
    enrolment: EnrolmentService,
    db: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    household = await household_of(enrolment, db, PARAKOU_PHONE, "MS-PARAKOU")
    child = members(db, household)[1].member_no or ""

    def run(*args: str) -> int:
        return cli.main(["exemptions", "set", *args], now=lambda: NOW)

    assert await asyncio.to_thread(run, child, "--ground", "indigent") == 0
    assert "indigent recorded for" in capsys.readouterr().out
    assert await asyncio.to_thread(run, child, "--ground", "pregnancy") == 2
    assert "pregnancy needs end" in capsys.readouterr().err
    assert await asyncio.to_thread(run, "123", "--ground", "indigent") == 2
    assert [e[:2] for e in exemptions(db)] == [("indigent", "staff")]
    assert exemptions(db)[0][4].startswith("cli:")
