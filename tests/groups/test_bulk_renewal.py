"""`alafia renew`: next year's cover, in bulk, for the households a sponsor or a group
pays for; idempotent, dry-run, whole batches."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from db import models
from db.engine import create_engine_async, create_engine_sync, session_factory, sync_session_factory
from gateway import cli
from gateway.enrolment.bulk_renewal import BulkRenewal
from gateway.enrolment.service import EnrolmentService
from gateway.groups.payers import GroupPayers
from gateway.settings import Settings
from menus.effects import EnrolHousehold, PersonDraft
from tests.conftest import TODAY
from tests.groups.scheme import NOW, at, paid_year

RENEWAL_DAY = TODAY + timedelta(days=340)  # within 60 days of the end of a year paid today


async def enrol(
    enrolment: EnrolmentService,
    product: str,
    births: tuple[str, ...],
    category: str | None = None,
) -> int:
    def person(relationship: str, name: str, born: str) -> PersonDraft:
        return PersonDraft("GADO", name, "F", born, False, relationship)

    head, *children = births
    result = await enrolment.enrol(
        EnrolHousehold(
            "MS-KANDI",
            product,
            f"+229019700{uuid.uuid4().int % 10000:04d}",
            "fr",
            person("head", "Awa", head),
            tuple(person("child", f"Enfant{'abcdef'[i]}", born) for i, born in enumerate(children)),
            channel="agent",
            category=category,
        ),
        f"test:{uuid.uuid4()}",
        TODAY,
    )
    assert result["outcome"] == "enrolled", result
    return result["member_no"]


def household_of(db: Session, member_no: str) -> int:
    found = db.scalar(
        select(models.Member.household_id).where(models.Member.member_no == member_no)
    )
    assert found is not None
    return found


@pytest.fixture
async def sessions(settings: Settings) -> async_sessionmaker[AsyncSession]:
    engine = create_engine_async(settings.database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def renewal(settings: Settings):  # type: ignore[no-untyped-def]
    engine = create_engine_sync(settings.database_url)
    yield lambda day, batch=2: BulkRenewal(
        sync_session_factory(engine), lambda: at(day), "cli:test", batch
    )
    engine.dispose()


def periods(db: Session, household_id: int) -> list[models.CoveragePeriod]:
    db.expire_all()
    return list(
        db.scalars(
            select(models.CoveragePeriod)
            .where(models.CoveragePeriod.household_id == household_id)
            .order_by(models.CoveragePeriod.id)
        )
    )


def count(db: Session, model: type[models.Base]) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


async def test_group_and_free_care_households_are_renewed_the_others_left_to_themselves(
    products: dict[str, int],
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    renewal,  # type: ignore[no-untyped-def]
    db: Session,
) -> None:
    groups = GroupPayers(sessions)
    await groups.add(
        "COOP-KANDI",
        "Coopérative des maraîchers",
        "cooperative",
        "MS-KANDI",
        None,
        by="cli:test",
        scope=None,
        now=NOW,
    )
    year_one = (TODAY, TODAY + timedelta(days=364))
    for year, (starts, ends) in (
        (TODAY.year, year_one),
        (TODAY.year + 1, (year_one[1] + timedelta(days=1), year_one[1] + timedelta(days=365))),
    ):
        await groups.sign(
            "COOP-KANDI", year, "T-COOP", starts, ends, by="cli:test", scope=None, now=NOW
        )
    grouped = household_of(
        db, await enrol(enrolment, "T-COOP", ("1980-01-01", "2010-05-05"), "GRP-COOP-KANDI")
    )
    own = household_of(db, await enrol(enrolment, "T-COOP", ("1980-01-01",)))
    # On T-FREE a child under five (on the renewal's first day) is free; the mother is
    # indigent (an exemption recorded by staff): the whole household is the State's.
    free_no = await enrol(
        enrolment, "T-FREE", ("1990-01-01", (TODAY - timedelta(days=400)).isoformat())
    )
    free = household_of(db, free_no)
    mother = db.scalar(select(models.Member.id).where(models.Member.member_no == free_no))
    db.add(
        models.MemberExemption(
            member_id=mother,
            ground="indigent",
            source="staff",
            starts_on=TODAY,
            ends_on=None,
            recorded_by="staff:1",
            created_at=NOW,
        )
    )
    db.commit()
    for household in (grouped, own, free):
        paid_year(db, household, TODAY)

    early = renewal(TODAY + timedelta(days=200)).run("MS-KANDI")
    assert (early.households, early.not_due) == (0, 3), early

    dry = renewal(RENEWAL_DAY).run("MS-KANDI", dry_run=True)
    assert (dry.households, dry.household_pays) == (2, 1)
    assert dry.renewed["T-COOP"].premium == 2000
    assert dict(dry.renewed["T-COOP"].sponsors) == {"GRP-COOP-KANDI": 2000}
    assert dict(dry.renewed["T-FREE"].sponsors) == {"T-ETAT": 1500 + 500}
    assert count(db, models.CoveragePeriod) == 3  # nothing written

    done = renewal(RENEWAL_DAY).run("MS-KANDI")
    assert (done.households, done.household_pays, done.already) == (2, 1, 0)
    first, second = periods(db, grouped)
    assert second.renewal_of_id == first.id
    assert second.request_key == f"renew:{grouped}:{first.id}"
    # Opened today for the year after the current one: it starts when that one ends.
    assert first.covered_until is not None
    assert second.starts_on == second.cover_starts_on == first.covered_until + timedelta(days=1)
    assert (second.premium_due, second.sponsor_share, second.waits_for_sponsor) == (0, 2000, True)
    assert second.status == "pending_payment" and second.channel == "bulk"
    shares = db.execute(
        select(models.PeriodShare.amount, models.PeriodShare.paid).where(
            models.PeriodShare.period_id == second.id
        )
    ).all()
    assert [tuple(s) for s in shares] == [(2000, 0)]
    lines = db.execute(
        select(models.CoverLine.ground, models.CoverLine.price, models.CoverLine.sponsor_amount)
        .where(models.CoverLine.period_id == periods(db, free)[1].id)
        .order_by(models.CoverLine.member_id)
    ).all()
    assert [tuple(line) for line in lines] == [("indigent", 1500, 1500), ("under_five", 500, 500)]
    assert len(periods(db, own)) == 1

    again = renewal(RENEWAL_DAY + timedelta(days=1)).run("MS-KANDI")
    assert (again.households, again.already) == (0, 2)
    assert count(db, models.CoveragePeriod) == 5
    (entry,) = db.scalars(
        select(models.AuditEntry).where(models.AuditEntry.action == "bulk_renewal")
    ).all()
    assert entry.details["renewed"] == 2

    (_, invoice_two) = await groups.invoices("COOP-KANDI", None)
    assert (invoice_two.invoice_no, invoice_two.households, invoice_two.amount) == (
        f"COOP-KANDI-{TODAY.year + 1}",
        1,
        2000,
    )


async def test_a_group_without_a_contract_for_the_year_is_not_renewed(
    products: dict[str, int],
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    renewal,  # type: ignore[no-untyped-def]
    db: Session,
) -> None:
    groups = GroupPayers(sessions)
    await groups.add(
        "EPP-KANDI",
        "EPP Kandi centre",
        "school",
        "MS-KANDI",
        None,
        by="cli:test",
        scope=None,
        now=NOW,
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
    member_no = await enrol(enrolment, "T-COOP", ("2012-01-01",))
    household = await groups.join("EPP-KANDI", member_no, by="cli:test", scope=None, now=NOW)
    paid_year(db, household, TODAY)
    outcome = renewal(RENEWAL_DAY).run("MS-KANDI")
    assert (outcome.households, outcome.no_contract) == (0, 1)


async def test_the_command_prints_counts_and_amounts_per_product(
    products: dict[str, int],
    enrolment: EnrolmentService,
    db: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    household = household_of(db, await enrol(enrolment, "T-FREE", ("2024-01-01",)))
    paid_year(db, household, TODAY)

    def run(*args: str) -> int:
        return cli.main(["renew", *args], now=lambda: at(RENEWAL_DAY))

    assert await asyncio.to_thread(run, "--mutual", "MS-KANDI", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "MS-KANDI: would renew 1 households" in out
    assert "T-FREE" in out and "T-ETAT 500" in out
    assert count(db, models.CoveragePeriod) == 1
    assert await asyncio.to_thread(run, "--mutual", "MS-KANDI", "--product", "T-FREE") == 0
    assert "MS-KANDI: renewed 1 households" in capsys.readouterr().out
    assert count(db, models.CoveragePeriod) == 2
    assert await asyncio.to_thread(run, "--mutual", "MS-NOWHERE") == 2
    assert "no mutual" in capsys.readouterr().err
    assert await asyncio.to_thread(run, "--mutual", "MS-KANDI", "--product", "NOPE") == 2


def test_a_failed_batch_leaves_whole_batches_and_a_second_run_finishes(
    products: dict[str, int],
    db: Session,
    renewal,  # type: ignore[no-untyped-def]
) -> None:
    """Three households, batches of two; the second batch meets a period already holding
    its request key (as a concurrent run would leave it): the first batch stays whole, the
    second is rolled back whole, and running again finishes the job."""
    mutual = db.scalar(select(models.SchemeUnit.id).where(models.SchemeUnit.code == "MS-KANDI"))
    product = products["T-FREE"]
    ids = []
    for number in range(3):
        household = models.Household(
            mutual_id=mutual,
            product_id=product,
            phone=f"+22901970090{number}",
            language="fr",
            channel="agent",
            request_key=f"test:{uuid.uuid4()}",
            created_at=NOW,
        )
        db.add(household)
        db.flush()
        db.add(
            models.Member(
                household_id=household.id,
                last_name="BIO",
                first_names="Zime",
                sex="M",
                birth_date=date(2024, 1, 1),
                birth_year=2024,
                relationship_to_head="head",
                created_at=NOW,
            )
        )
        db.add(
            models.CoveragePeriod(
                household_id=household.id,
                product_id=product,
                starts_on=TODAY,
                persons=1,
                premium_due=0,
                sponsor_share=500,
                waiting_days=0,
                cover_months=12,
                grace_days=30,
                status="pending_payment",
            )
        )
        ids.append(household.id)
    db.commit()
    for household in ids:
        paid_year(db, household, TODAY)
    third = periods(db, ids[2])[0]
    # What a concurrent run left: the third household's key taken by a stray period.
    db.add(
        models.CoveragePeriod(
            household_id=ids[2],
            product_id=product,
            starts_on=TODAY - timedelta(days=400),
            persons=1,
            premium_due=0,
            waiting_days=0,
            cover_months=12,
            grace_days=30,
            status="cancelled",
            cancelled_on=TODAY - timedelta(days=399),
            request_key=f"renew:{ids[2]}:{third.id}",
        )
    )
    db.commit()
    with pytest.raises(IntegrityError):
        renewal(RENEWAL_DAY, 2).run("MS-KANDI")
    assert [len(periods(db, h)) for h in ids] == [2, 2, 2]  # the first batch is whole
    # The stray key released, a second run finishes the job.
    stray = db.scalar(
        select(models.CoveragePeriod).where(models.CoveragePeriod.status == "cancelled")
    )
    assert stray is not None
    stray.request_key = None
    db.commit()
    outcome = renewal(RENEWAL_DAY, 2).run("MS-KANDI")
    assert (outcome.households, outcome.already) == (1, 2)
    assert [len(periods(db, h)) for h in ids] == [2, 2, 3]
