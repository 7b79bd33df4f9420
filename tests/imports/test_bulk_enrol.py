"""The import's set-based write stores a household as `EnrolmentService.enrol_in` does,
and leaves every other case to it."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from db import models
from db.engine import begin_writing, create_engine_sync, sync_session_factory
from gateway import cli
from gateway.enrolment.service import EnrolmentService
from gateway.imports.households_csv import ValidHousehold, validate
from gateway.imports.importer import HouseholdImport, read_rules
from gateway.imports.table import read_table
from gateway.settings import DEFAULT_TIMEZONE, Settings
from gateway.sms.outbox import Outbox
from menus.values import Channel
from tests.conftest import TODAY

HEADER = "Ménage;Nom;Prénoms;Sexe;Date de naissance;Lien;Téléphone;NPI;Activité;Village"
FAMILY = [
    "1;HOUNGBO;Afi;F;15/04/1988;chef;0197000001;1234567890;Agriculteur;Gando",
    "1;HOUNGBO;Jean-Marc;H;2012;enfant;;;;",
    f"1;HOUNGBO;Ella;F;{TODAY.year - 2}-06-02;enfant;;;;",  # under five: the State pays
    "1;HOUNGBO;Paul;M;1960;parent;;;;",
]
# What differs between two households by construction (their ids, keys and phone).
OWN = {"id", "household_id", "period_id", "member_id", "request_key", "phone", "member_no"}
OWN |= {"event_id", "dedupe_key", "text", "params", "created_at", "next_fetch_at"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings, clean: None) -> Settings:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(settings.data_dir))
    return settings


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "menages.csv"
    path.write_text("\r\n".join([HEADER, *lines]) + "\r\n", encoding="utf-8")
    return path


def stored(db: Session, household_id: int) -> dict[str, Any]:
    """The household's rows in every table the enrolment writes, without what is its own."""
    db.expire_all()

    def rows(model: type[models.Base], *where: Any) -> list[dict[str, Any]]:
        table = model.__table__
        assert isinstance(table, Table)
        found = db.execute(select(table).where(*where).order_by(table.c.id)).mappings()
        return [{k: v for k, v in row.items() if k not in OWN} for row in found]

    periods = db.scalars(
        select(models.CoveragePeriod.id).where(models.CoveragePeriod.household_id == household_id)
    ).all()
    return {
        "household": rows(models.Household, models.Household.id == household_id),
        "members": rows(models.Member, models.Member.household_id == household_id),
        "periods": rows(models.CoveragePeriod, models.CoveragePeriod.household_id == household_id),
        "lines": rows(models.CoverLine, models.CoverLine.period_id.in_(periods)),
        "shares": rows(models.PeriodShare, models.PeriodShare.period_id.in_(periods)),
        "messages": rows(models.Message, models.Message.household_id == household_id),
        "events": rows(models.RegisterEvent, models.RegisterEvent.household_id == household_id),
    }


def test_an_imported_household_is_stored_as_the_enrolment_service_stores_it(
    env: Settings, db: Session, tmp_path: Path
) -> None:
    now = datetime.combine(TODAY, time(9), tzinfo=ZoneInfo(DEFAULT_TIMEZONE))
    engine = create_engine_sync(env.database_url)
    sessions = sync_session_factory(engine)
    rules = read_rules(db, "MS-KANDI", now, "fr", 10, "BJ")

    def household_of(lines: list[str]) -> ValidHousehold:
        return validate(read_table(write(tmp_path, lines).read_bytes()), rules).households[0]

    importer = HouseholdImport(sessions, Outbox.standard(), lambda: now, "cli:test", "f.csv")
    written = importer.write([household_of(FAMILY)], lambda done: None)
    assert len(written.imported) == 1
    imported = db.scalar(select(models.Household.id))
    assert imported is not None

    # The same family, another phone (else it is a duplicate), through the service.
    twin = [line.replace("0197000001", "0197000009").replace("1234567890", "") for line in FAMILY]
    household = household_of(twin)
    assert household.request.channel == Channel.IMPORT
    service = EnrolmentService(sessions, Outbox.standard(), lambda: now)
    with sessions() as session, session.begin():
        begin_writing(session)
        result = service.enrol_in(session, household.request, "twin", TODAY, lambda s, m: None)
    engine.dispose()
    assert result["outcome"] == "enrolled"
    enrolled = db.scalar(select(models.Household.id).where(models.Household.request_key == "twin"))
    assert enrolled is not None

    mine, theirs = stored(db, imported), stored(db, enrolled)
    # The import records the village, which the service does not know of, and the NPI
    # the twin was written without.
    assert mine["household"][0].pop("village") == "Gando"
    assert theirs["household"][0].pop("village") is None
    assert mine["members"][0].pop("national_id") == "1234567890"
    assert theirs["members"][0].pop("national_id") is None
    assert [line["ground"] for line in mine["lines"]] == [
        "member",
        "member",
        "under_five",
        "member",
    ]
    assert mine["shares"] and mine["periods"][0]["sponsor_share"] > 0
    assert mine == theirs


def test_the_same_family_twice_in_one_batch_is_enrolled_once(
    env: Settings, db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    again = [line.replace("1;", "2;", 1).replace("1234567890", "") for line in FAMILY]
    path = write(tmp_path, FAMILY + again)

    assert cli.main(["import", "households", str(path), "--mutual", "MS-KANDI"]) == 0

    out = capsys.readouterr().out
    assert "1 households imported (4 members), 1 already there" in out
    head = db.scalar(
        select(models.Member.member_no).where(models.Member.relationship_to_head == "head")
    )
    assert f'household "2", lines 6-9: already enrolled, head\'s member number {head}' in out


def test_households_the_set_based_write_leaves_out_still_go_through_one_by_one(
    env: Settings, db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A household with an exemption takes the service's path in the same batch as
    plain ones: every household of the file is enrolled, each once."""
    header = HEADER + ";Exemption"
    lines = [line + ";" for line in FAMILY]
    lines[3] = lines[3][:-1] + ";indigent"  # the grandfather: exempt
    other = "2;ADJOVI;Koffi;M;1980;chef;0197000002;;trader;;"
    path = tmp_path / "menages.csv"
    path.write_text("\r\n".join([header, *lines, other]) + "\r\n", encoding="utf-8")

    assert cli.main(["import", "households", str(path), "--mutual", "MS-KANDI"]) == 0

    assert "2 households imported (5 members)" in capsys.readouterr().out
    grounds = db.scalars(select(models.CoverLine.ground).order_by(models.CoverLine.id)).all()
    assert sorted(grounds) == ["indigent", "member", "member", "member", "under_five"]


@pytest.mark.parametrize("attempt", range(10))
def test_an_import_and_a_ussd_enrolment_of_one_family_at_once_make_one_household(
    env: Settings, db: Session, tmp_path: Path, attempt: int
) -> None:
    """The batch holds every phone's decision lock until its commit: whichever of the two
    decides second finds the family enrolled."""
    now = datetime.combine(TODAY, time(9), tzinfo=ZoneInfo(DEFAULT_TIMEZONE))
    engine = create_engine_sync(env.database_url)
    sessions = sync_session_factory(engine)
    rules = read_rules(db, "MS-KANDI", now, "fr", 10, "BJ")
    others = [f"{n};ADJOVI;Koffi;M;1980;chef;01970001{n:02d};;;" for n in range(2, 40)]
    households = validate(read_table(write(tmp_path, FAMILY + others).read_bytes()), rules)
    family = households.households[0]
    importer = HouseholdImport(sessions, Outbox.standard(), lambda: now, "cli:test", "f.csv")
    service = EnrolmentService(sessions, Outbox.standard(), lambda: now)
    start = threading.Barrier(2)
    found: dict[str, Any] = {}

    def by_import() -> None:
        start.wait()
        found["import"] = importer.write(list(households.households), lambda done: None)

    def by_phone() -> None:
        start.wait()
        request = replace(family.request, channel=Channel.USSD)
        found["ussd"] = asyncio.run(service.enrol(request, f"ussd:{attempt}", TODAY))

    threads = [threading.Thread(target=by_import), threading.Thread(target=by_phone)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()

    heads = db.scalars(
        select(models.Member.member_no)
        .join(models.Household)
        .where(models.Household.phone == family.request.phone)
    ).all()
    assert len(heads) == 4  # one household of four, whoever won
    written = found["import"]
    assert len(written.imported) + len(written.duplicates) + len(written.earlier) == 39
    if found["ussd"]["outcome"] == "enrolled":
        assert [h.key for h, _ in written.duplicates] == ["1"]
    else:
        assert found["ussd"]["outcome"] == "duplicate"
        assert "1" in [h.key for h, _ in written.imported]
