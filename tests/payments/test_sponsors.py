"""Sponsors' shares: the member pays their part, the sponsor's is a receivable settled
in bulk, and cover opens when the right shares are in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from db import models
from db.engine import create_engine_async, session_factory
from gateway import cli
from gateway.enrolment.service import EnrolmentService
from gateway.payments.ledger import Billing
from gateway.payments.sponsors import Sponsors
from gateway.scheme import document as scheme
from gateway.settings import Settings
from menus.effects import EnrolHousehold, PersonDraft
from tests.conftest import DATA_TABLES, TODAY

ZONE = ZoneInfo("Africa/Porto-Novo")
NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 10, 0, tzinfo=ZONE)

# Products of their own under the demo network, so the demo products stay as they are.
SPONSORED = {
    "units": [
        {
            "code": "RMS-BJ",
            "level": "network",
            "name": "Réseau des mutuelles de santé du Bénin (démo)",
        }
    ],
    "products": [
        {
            "code": "T-HALF",
            "offered_by": "RMS-BJ",
            "names": {"fr": "Demi", "en": "Half"},
            "premium_per_person": 1000,
        },
        {
            "code": "T-POOR",
            "offered_by": "RMS-BJ",
            "names": {"fr": "Aide", "en": "Aid"},
            "premium_per_person": 1500,
        },
    ],
    "sponsors": [
        {"code": "T-COMMUNE", "name": "Commune de Parakou"},
        {"code": "T-STATE", "name": "Etat (ARCH)", "activation": "sponsor_paid"},
    ],
    "subsidies": [
        {"sponsor": "T-COMMUNE", "product": "T-HALF", "percent": 50},
        {"sponsor": "T-STATE", "product": "T-POOR", "category": "indigent", "percent": 100},
        {"sponsor": "T-COMMUNE", "product": "T-POOR", "amount_per_person": 500},
    ],
}


@pytest.fixture
def sponsored_scheme(db: Session, clean: None) -> Iterator[None]:
    with db.begin():
        scheme.load(db, SPONSORED)
    yield
    db.rollback()  # the test read through this session
    with db.begin():
        db.execute(text("DELETE FROM sponsor_settlements"))
        db.execute(delete(models.Subsidy))
        for table in DATA_TABLES:
            db.execute(text(f"DELETE FROM {table}"))
        # The demo's own sponsor (ETAT, free care) stays: the demo products name it.
        db.execute(delete(models.Sponsor).where(models.Sponsor.code.like("T-%")))
        db.execute(delete(models.Product).where(models.Product.code.in_(["T-HALF", "T-POOR"])))


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine_async(settings.database_url)
    yield session_factory(engine)
    await engine.dispose()


async def enrol(
    enrolment: EnrolmentService,
    product: str,
    persons: int,
    category: str | None = None,
) -> str:
    def person(relationship: str, name: str) -> PersonDraft:
        return PersonDraft("GADO", name, "F", "1985-01-01", True, relationship)

    result = await enrolment.enrol(
        EnrolHousehold(
            "MS-KANDI",
            product,
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


def periods(db: Session) -> list[tuple[int, int, int, int, str]]:
    db.expire_all()
    rows = db.execute(
        select(
            models.CoveragePeriod.premium_due,
            models.CoveragePeriod.amount_paid,
            models.CoveragePeriod.sponsor_share,
            models.CoveragePeriod.sponsor_paid,
            models.CoveragePeriod.status,
        ).order_by(models.CoveragePeriod.id)
    ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_the_member_pays_their_share_and_cover_starts(
    enrolment: EnrolmentService,
    sponsored_scheme: None,
    sessions: async_sessionmaker[AsyncSession],
    db: Session,
) -> None:
    member_no = await enrol(enrolment, "T-HALF", 3)
    assert periods(db) == [(1500, 0, 1500, 0, "pending_payment")]
    await Billing(sessions, "Africa/Porto-Novo", lambda: NOW).record_cash(
        member_no, 1500, "Awa Gado"
    )
    assert periods(db) == [
        (1500, 1500, 1500, 0, "waiting")
    ]  # the commune's share need not arrive first
    owed = {r.sponsor: r.owed for r in await Sponsors(sessions).receivables()}
    assert owed["T-COMMUNE"] == 1500


async def test_a_category_share_comes_before_the_product_wide_one(
    enrolment: EnrolmentService,
    sponsored_scheme: None,
    sessions: async_sessionmaker[AsyncSession],
    db: Session,
) -> None:
    await enrol(enrolment, "T-POOR", 2, category="indigent")  # the State pays everything
    await enrol(enrolment, "T-POOR", 2)  # the commune pays 500 per person
    assert periods(db) == [
        (0, 0, 3000, 0, "pending_payment"),
        (2000, 0, 1000, 0, "pending_payment"),
    ]


async def test_cover_that_waits_for_the_sponsor_opens_with_its_settlement(
    enrolment: EnrolmentService,
    sponsored_scheme: None,
    sessions: async_sessionmaker[AsyncSession],
    db: Session,
) -> None:
    await enrol(enrolment, "T-POOR", 2, category="indigent")
    await enrol(enrolment, "T-POOR", 1, category="indigent")
    sponsors = Sponsors(sessions)
    assert await sponsors.settle("T-STATE", 3500, "VIR-2026-001", TODAY, NOW) == 3500
    # oldest first: the first period fully (3000), the second in part (500 of 1500)
    assert periods(db) == [(0, 0, 3000, 3000, "waiting"), (0, 0, 1500, 500, "pending_payment")]
    assert (
        await sponsors.settle("T-STATE", 3500, "VIR-2026-001", TODAY, NOW) == 3500
    )  # entered twice
    assert periods(db)[1][3] == 500
    assert await sponsors.settle("T-STATE", 5000, "VIR-2026-002", TODAY, NOW) == 1000
    assert periods(db)[1] == (0, 0, 1500, 1500, "waiting")
    with pytest.raises(LookupError):
        await sponsors.settle("NOBODY", 1, "x", TODAY, NOW)


def test_sponsors_from_the_command_line(
    sponsored_scheme: None,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert cli.main(["sponsors", "show"]) == 0
    assert "T-STATE" in capsys.readouterr().out
    assert (
        cli.main(
            ["sponsors", "settle", "--sponsor", "T-STATE", "--amount", "100", "--reference", "R1"]
        )
        == 0
    )
    assert "100 XOF is more than it owed today" in capsys.readouterr().out
    assert (
        cli.main(
            ["sponsors", "settle", "--sponsor", "NOPE", "--amount", "100", "--reference", "R2"]
        )
        == 2
    )


def test_a_subsidy_must_name_a_sponsor_a_product_and_one_kind_of_share() -> None:
    bad = {
        "sponsors": [{"code": "S", "name": "S", "activation": "whenever"}],
        "subsidies": [
            {"sponsor": "X", "product": "Y", "percent": 50},
            {"sponsor": "S", "product": "Y", "percent": 50, "amount_per_person": 10},
            {"sponsor": "S", "product": "Y", "percent": 150},
        ],
    }
    problems = scheme.validate(bad)
    assert "sponsors[0]: activation is member_share or sponsor_paid" in problems
    assert "subsidies[0]: sponsor 'X' is not a sponsor of this file" in problems
    assert "subsidies[1]: give either percent or amount_per_person" in problems
    assert "subsidies[2]: percent must be a whole number from 1 to 100" in problems


async def test_the_enrolment_summary_asks_for_the_members_share_only(
    sponsored_scheme: None, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from gateway.scheme.cache import read_scheme

    async with sessions() as session:
        scheme = await read_scheme(session)
    half = scheme.product("T-HALF")
    assert half is not None and half.premium_for(3) == 3000 and half.member_share(3) == 1500
    aid = scheme.product("T-POOR")  # the category subsidy is not the caller's to claim
    assert aid is not None and aid.member_share(2) == 2000
