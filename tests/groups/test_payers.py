"""Group payers: a contract a year, one invoice a year, transfers recorded once per
reference, the members' rights following the group's payment; from the dashboard (staff
of the group's unit; viewers read only) and the command line."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.engine import create_engine_async, session_factory
from gateway import cli
from gateway.enrolment.service import EnrolmentService
from gateway.groups.payers import GroupError, GroupPayers
from gateway.settings import Settings
from menus.effects import EnrolHousehold, PersonDraft
from tests.conftest import TODAY
from tests.groups.scheme import NOW
from tests.staff.web import ADMIN, MANAGER, OTHER_MANAGER, VIEWER, audit_rows, logged_in, text_of


@pytest.fixture
async def sessions(settings: Settings) -> async_sessionmaker[AsyncSession]:
    engine = create_engine_async(settings.database_url)
    yield session_factory(engine)
    await engine.dispose()


async def enrol(
    enrolment: EnrolmentService, mutual: str, persons: int, category: str | None = "GRP-EPP-KANDI"
) -> str:
    def person(relationship: str, name: str) -> PersonDraft:
        return PersonDraft("GADO", name, "F", "1985-01-01", True, relationship)

    result = await enrolment.enrol(
        EnrolHousehold(
            mutual,
            "T-COOP",
            f"+229019700{uuid.uuid4().int % 10000:04d}",
            "fr",
            person("head", "Awa"),
            tuple(person("child", f"Enfant{'abcdef'[i]}") for i in range(persons - 1)),
            channel="agent",
            category=category,
        ),
        f"test:{uuid.uuid4()}",
        TODAY,
    )
    assert result["outcome"] == "enrolled", result
    return result["member_no"]


def statuses(db: Session) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(models.CoveragePeriod.status).order_by(models.CoveragePeriod.id)))


async def test_a_school_pays_its_invoice_and_its_pupils_rights_open(
    products: dict[str, int],
    sessions: async_sessionmaker[AsyncSession],
    enrolment: EnrolmentService,
    db: Session,
) -> None:
    groups = GroupPayers(sessions)
    await groups.add(
        "EPP-KANDI",
        "EPP Kandi centre",
        "school",
        "MS-KANDI",
        "+2290197000555",
        by="cli:test",
        scope=None,
        now=NOW,
    )
    with pytest.raises(GroupError):  # the same code twice
        await groups.add(
            "EPP-KANDI", "Autre", "school", "MS-KANDI", None, by="cli:test", scope=None, now=NOW
        )
    contract = await groups.sign(
        "EPP-KANDI",
        TODAY.year,
        "T-COOP",
        TODAY,
        TODAY + timedelta(days=364),
        by="cli:test",
        scope=None,
        now=NOW,
    )
    assert contract.invoice_no == f"EPP-KANDI-{TODAY.year}"
    first = await enrol(enrolment, "MS-KANDI", 2)
    await enrol(enrolment, "MS-KANDI", 1)
    await groups.join("EPP-KANDI", first, by="cli:test", scope=None, now=NOW)
    # Cover waits for the group's money: nothing is asked of the households.
    assert statuses(db) == ["pending_payment", "pending_payment"]
    (invoice,) = await groups.invoices("EPP-KANDI", None)
    assert (invoice.households, invoice.amount, invoice.paid) == (2, 3000, 0)

    assert (
        await groups.record_transfer(
            "EPP-KANDI", 2000, "VIR-EPP-1", TODAY, by="cli:test", scope=None, now=NOW
        )
        == 2000
    )
    assert statuses(db) == ["waiting", "pending_payment"]  # oldest first
    # The same reference again records nothing more.
    assert (
        await groups.record_transfer(
            "EPP-KANDI", 2000, "VIR-EPP-1", TODAY, by="cli:test", scope=None, now=NOW
        )
        == 2000
    )
    (invoice,) = await groups.invoices("EPP-KANDI", None)
    assert (invoice.paid, invoice.outstanding) == (2000, 1000)
    assert (
        await groups.record_transfer(
            "EPP-KANDI", 5000, "VIR-EPP-2", TODAY, by="cli:test", scope=None, now=NOW
        )
        == 1000
    )
    assert statuses(db) == ["waiting", "waiting"]
    assert [e.details["reference"] for e in audit_rows(db, "group_transfer_recorded")] == [
        "VIR-EPP-1",
        "VIR-EPP-2",
    ]
    household = db.scalar(
        select(models.Household)
        .join(models.Member, models.Member.household_id == models.Household.id)
        .where(models.Member.member_no == first)
    )
    assert household is not None and household.group_id is not None


async def test_a_household_an_agent_enrolled_joins_and_the_group_owes_its_unpaid_year(
    products: dict[str, int],
    sessions: async_sessionmaker[AsyncSession],
    enrolment: EnrolmentService,
    db: Session,
) -> None:
    groups = GroupPayers(sessions)
    await groups.add(
        "EPP-KANDI", "EPP Kandi", "school", "MS-KANDI", None, by="cli:test", scope=None, now=NOW
    )
    await groups.sign(
        "EPP-KANDI",
        TODAY.year,
        "T-COOP",
        TODAY,
        TODAY + timedelta(days=364),
        by="cli:test",
        scope=None,
        now=NOW,
    )
    member_no = await enrol(enrolment, "MS-KANDI", 2, category=None)
    db.expire_all()
    period = db.scalar(select(models.CoveragePeriod))
    assert period is not None and (period.premium_due, period.sponsor_share) == (2000, 0)

    await groups.join("EPP-KANDI", member_no, by="cli:test", scope=None, now=NOW)

    db.expire_all()
    period = db.scalar(select(models.CoveragePeriod))
    assert period is not None
    assert (period.premium_due, period.sponsor_share, period.status) == (0, 2000, "pending_payment")
    (entry,) = audit_rows(db, "group_member_added")
    assert entry.details == {"group": "EPP-KANDI", "current_year_repriced": True}
    with pytest.raises(GroupError):  # a household of another mutual
        other = await enrol(enrolment, "MS-PARAKOU", 1, category=None)
        await groups.join("EPP-KANDI", other, by="cli:test", scope=None, now=NOW)


async def test_group_pages_follow_the_staff_members_unit(
    web: httpx.AsyncClient,
    app: Starlette,
    products: dict[str, int],
    sessions: async_sessionmaker[AsyncSession],
    enrolment: EnrolmentService,
    db: Session,
) -> None:
    groups = GroupPayers(sessions)
    await groups.add(
        "COOP-PARAKOU",
        "Coopérative de Parakou",
        "cooperative",
        "MS-PARAKOU",
        None,
        by="cli:test",
        scope=None,
        now=NOW,
    )
    csrf = await logged_in(web, app, *MANAGER)
    listing = await web.get("/admin/groups")
    assert "COOP-PARAKOU" in text_of(listing)
    # A manager adds a group in their mutual, signs its contract, records a transfer.
    answer = await web.post(
        "/admin/groups",
        data={
            "csrf": csrf,
            "code": "epp-parakou",
            "name": "EPP Parakou",
            "kind": "school",
            "mutual": "MS-PARAKOU",
            "treasurer": "97 00 06 01",
        },
    )
    assert answer.status_code == 303
    treasurer = db.scalar(
        select(models.PayerGroup.treasurer_phone).where(models.PayerGroup.code == "EPP-PARAKOU")
    )
    assert treasurer == "+2290197000601"
    refused = await web.post(
        "/admin/groups",
        data={
            "csrf": csrf,
            "code": "X-2",
            "name": "X",
            "kind": "school",
            "mutual": "MS-PARAKOU",
            "treasurer": "12",
        },
    )
    assert refused.status_code == 400 and "numéro valide" in text_of(refused)
    contract = {
        "csrf": csrf,
        "year": str(TODAY.year),
        "product": "T-COOP",
        "from": TODAY.isoformat(),
        "to": (TODAY + timedelta(days=364)).isoformat(),
    }
    answer = await web.post("/admin/groups/EPP-PARAKOU/contract", data=contract)
    assert answer.status_code == 303
    page = await web.get(answer.headers["location"])
    assert f"EPP-PARAKOU-{TODAY.year}" in text_of(page) and "Contrat enregistré" in text_of(page)
    transfer = {"csrf": csrf, "amount": "1000", "reference": "VIR-9"}
    assert (await web.post("/admin/groups/EPP-PARAKOU/transfer", data=transfer)).status_code == 303
    bad = await web.post("/admin/groups/EPP-PARAKOU/transfer", data={**transfer, "amount": "-5"})
    assert bad.status_code == 400 and "nombre entier" in text_of(bad)
    assert len(audit_rows(db, "group_contract_signed")) == 1

    # Kandi's manager sees neither Parakou group.
    csrf = await logged_in(web, app, *OTHER_MANAGER)
    assert "PARAKOU" not in text_of(await web.get("/admin/groups"))
    assert (await web.get("/admin/groups/EPP-PARAKOU")).status_code == 404
    answer = await web.post("/admin/groups/EPP-PARAKOU/transfer", data={**transfer, "csrf": csrf})
    assert answer.status_code == 404
    # A viewer of the zone reads, and may not write.
    csrf = await logged_in(web, app, *VIEWER)
    page = await web.get("/admin/groups/EPP-PARAKOU")
    assert page.status_code == 200 and 'name="reference"' not in page.text
    answer = await web.post("/admin/groups/EPP-PARAKOU/transfer", data={**transfer, "csrf": csrf})
    assert answer.status_code == 403
    # Central staff see them all.
    await logged_in(web, app, *ADMIN)
    assert "EPP-PARAKOU" in text_of(await web.get("/admin/groups"))


async def test_groups_from_the_command_line(
    products: dict[str, int],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)

    def run(*args: str) -> int:
        return cli.main(["groups", *args], now=lambda: NOW)

    add = (
        "add",
        "MOTO-KANDI",
        "--name",
        "Zémidjans",
        "--kind",
        "occupation",
        "--mutual",
        "MS-KANDI",
        "--treasurer",
        "97000123",
    )
    assert await asyncio.to_thread(run, *add) == 0
    assert await asyncio.to_thread(run, *add) == 2
    assert "code_taken" in capsys.readouterr().err
    sign = (
        "contract",
        "MOTO-KANDI",
        "--year",
        str(TODAY.year),
        "--product",
        "T-COOP",
        "--from",
        TODAY.isoformat(),
        "--to",
        (TODAY + timedelta(days=364)).isoformat(),
    )
    assert await asyncio.to_thread(run, *sign) == 0
    assert f"invoice MOTO-KANDI-{TODAY.year}" in capsys.readouterr().out
    assert await asyncio.to_thread(run, "list") == 0
    assert "MOTO-KANDI" in capsys.readouterr().out
    assert await asyncio.to_thread(run, "invoice", "MOTO-KANDI") == 0
    assert "0 households" in capsys.readouterr().out
    pay = ("pay", "MOTO-KANDI", "--amount", "500", "--reference", "MOMO-1")
    assert await asyncio.to_thread(run, *pay) == 0
    assert "500 XOF is more than it owes today" in capsys.readouterr().out
    assert await asyncio.to_thread(run, "invoice", "NOPE") == 2
    assert await asyncio.to_thread(run, "join", "MOTO-KANDI", "100000040") == 2
