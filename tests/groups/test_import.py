"""The household import and the yearly campaign: a group column, exemption columns, and
rows naming households already enrolled, which renew them."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from db import models
from db.engine import create_engine_async, session_factory
from gateway import cli
from gateway.groups.payers import GroupPayers
from gateway.settings import Settings
from tests.conftest import TODAY
from tests.groups.scheme import NOW, at, paid_year

HEADER = (
    "menage;nom;prenoms;sexe;date_naissance;lien;telephone;formule;"
    "groupe;exemption;fin_exemption;numero_membre"
)
RENEWAL_DAY = TODAY + timedelta(days=340)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(settings.data_dir))
    return settings


@pytest.fixture
async def groups(settings: Settings, products: dict[str, int]) -> GroupPayers:
    engine = create_engine_async(settings.database_url)
    sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
    payers = GroupPayers(sessions)
    await payers.add(
        "COOP-KANDI",
        "Coopérative",
        "cooperative",
        "MS-KANDI",
        None,
        by="cli:test",
        scope=None,
        now=NOW,
    )
    for year, starts in ((TODAY.year, TODAY), (TODAY.year + 1, TODAY + timedelta(days=365))):
        await payers.sign(
            "COOP-KANDI",
            year,
            "T-COOP",
            starts,
            starts + timedelta(days=364),
            by="cli:test",
            scope=None,
            now=NOW,
        )
    yield payers
    await engine.dispose()


def write(tmp_path: Path, lines: list[str], name: str = "menages.csv") -> Path:
    path = tmp_path / name
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


async def run(path: Path, day=TODAY) -> int:  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(
        cli.main, ["import", "households", str(path), "--mutual", "MS-KANDI"], now=lambda: at(day)
    )


async def test_a_group_column_and_exemption_columns_on_first_enrolment(
    env: Settings,
    groups: GroupPayers,
    db: Session,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ends = (TODAY + timedelta(days=120)).strftime("%d/%m/%Y")
    path = write(
        tmp_path,
        [
            HEADER,
            "1;ALI;Moussa;M;1980;chef;97000021;T-COOP;coop-kandi;;;",
            "1;ALI;Awa;F;1985;conjointe;;;;;;",
            "2;BIO;Rose;F;1990;chef;97000022;T-FREE;;grossesse;" + ends + ";",
            "2;BIO;Zime;M;2000;enfant;;;;indigent;;",
        ],
    )
    assert await run(path) == 0
    assert "2 households imported (4 members)" in capsys.readouterr().out
    db.expire_all()
    ali, bio = db.scalars(select(models.Household).order_by(models.Household.id)).all()
    assert ali.group_id is not None and ali.category == "GRP-COOP-KANDI"
    period = db.scalar(
        select(models.CoveragePeriod).where(models.CoveragePeriod.household_id == ali.id)
    )
    assert period is not None
    assert (period.premium_due, period.sponsor_share, period.waits_for_sponsor) == (0, 2000, True)
    exemptions = db.execute(
        select(
            models.MemberExemption.ground,
            models.MemberExemption.source,
            models.MemberExemption.ends_on,
        ).order_by(models.MemberExemption.id)
    ).all()
    assert [tuple(e) for e in exemptions] == [
        ("pregnancy", "import", TODAY + timedelta(days=120)),
        ("indigent", "import", None),
    ]
    # Exempt from the first year: the State pays both, the household nothing.
    lines = db.execute(
        select(models.CoverLine.ground, models.CoverLine.sponsor_amount)
        .join(models.CoveragePeriod, models.CoveragePeriod.id == models.CoverLine.period_id)
        .where(models.CoveragePeriod.household_id == bio.id)
        .order_by(models.CoverLine.member_id)
    ).all()
    assert [tuple(line) for line in lines] == [("pregnancy", 1500), ("indigent", 1500)]


async def test_bad_campaign_cells_are_reported_by_row(
    env: Settings,
    groups: GroupPayers,
    db: Session,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write(
        tmp_path,
        [
            HEADER,
            "1;ALI;Moussa;M;1980;chef;97000021;T-COOP;NOBODY;;;",
            "2;BIO;Rose;F;1990;chef;97000022;T-FREE;;grossesse;;",
            "3;SABI;Issa;M;1970;chef;97000023;T-FREE;;;;123456789",
            "4;KORA;Awa;F;1970;chef;97000024;T-FREE;COOP-KANDI;;;",
        ],
    )
    assert await run(path) == 1
    out = capsys.readouterr().out
    assert '"NOBODY" is not a group payer of MS-KANDI (COOP-KANDI)' in out
    assert "line 3" in out and "a pregnancy needs its end date" in out
    assert '"123456789" is not a member number' in out
    assert "group COOP-KANDI has no contract for T-FREE this year" in out
    db.expire_all()
    assert db.scalar(select(models.Household.id)) is None


async def test_a_row_naming_an_enrolled_member_renews_the_household(
    env: Settings,
    groups: GroupPayers,
    db: Session,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = write(tmp_path, [HEADER, "1;ALI;Moussa;M;1980;chef;97000021;T-FREE;;;;"], "a.csv")
    assert await run(first) == 0
    db.expire_all()
    household = db.scalar(select(models.Household))
    assert household is not None
    head = db.scalar(
        select(models.Member.member_no).where(models.Member.household_id == household.id)
    )
    paid_year(db, household.id, TODAY)
    renewal = write(
        tmp_path,
        [
            HEADER,
            f"9;ALI;Moussa;M;1980;chef;97000021;T-FREE;;;;{head}",
            f"9;ALI;Sena;F;{TODAY.year};enfant;;;;;;",
        ],
        "b.csv",
    )
    capsys.readouterr()
    # Too early: the report says when renewal opens, nothing is written.
    assert await run(renewal, TODAY + timedelta(days=100)) == 1
    assert "not renewed: renewal opens on" in capsys.readouterr().out

    assert await run(renewal, RENEWAL_DAY) == 0
    assert "1 renewed for their next year" in capsys.readouterr().out
    db.expire_all()
    periods = db.scalars(
        select(models.CoveragePeriod)
        .where(models.CoveragePeriod.household_id == household.id)
        .order_by(models.CoveragePeriod.id)
    ).all()
    assert len(periods) == 2 and periods[1].renewal_of_id == periods[0].id
    assert periods[1].channel == "import"
    assert periods[0].covered_until is not None
    assert periods[1].starts_on == periods[0].covered_until + timedelta(days=1)
    lines = db.execute(
        select(models.CoverLine.category, models.CoverLine.ground, models.CoverLine.price)
        .where(models.CoverLine.period_id == periods[1].id)
        .order_by(models.CoverLine.member_id)
    ).all()
    # The newborn joins (free: under five); Moussa pays as an adult.
    assert [tuple(line) for line in lines] == [
        ("adult", "member", 1500),
        ("child", "under_five", 500),
    ]
    events = db.scalars(
        select(models.RegisterEvent.kind).where(models.RegisterEvent.household_id == household.id)
    ).all()
    assert "member_added" in events
    # The same file again: renewed already, nothing more.
    assert await run(renewal, RENEWAL_DAY) == 0
    assert "1 already there" in capsys.readouterr().out
    db.expire_all()
    assert len(db.scalars(select(models.CoveragePeriod.id)).all()) == 2
