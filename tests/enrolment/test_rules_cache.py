"""The price rules kept by each enrolment service: read once, read again once a scheme
load or a payer group's contract changed them (gateway.enrolment.rules_cache)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from db.values import GroupKind
from gateway.enrolment.service import EnrolmentService
from gateway.groups.payers import GroupPayers, sponsor_code
from gateway.scheme import document as scheme
from tests.conftest import DATA_TABLES, TODAY
from tests.groups.conftest import drop_groups
from tests.payments.test_sponsors import (  # noqa: F401 (fixtures)
    NOW,
    SPONSORED,
    enrol,
    periods,
    sessions,
    sponsored_scheme,
)


@pytest.fixture
def subsidy_reads(enrolment: EnrolmentService) -> Iterator[list[str]]:
    """The statements of the enrolment service that read subsidies."""
    engine = enrolment.sessions.kw["bind"]
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM subsidies" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


async def test_a_second_enrolment_is_priced_without_reading_the_rules(
    enrolment: EnrolmentService,
    sponsored_scheme: None,  # noqa: F811
    subsidy_reads: list[str],
    db: Session,
) -> None:
    await enrol(enrolment, "T-HALF", 3)
    assert len(subsidy_reads) == 1
    await enrol(enrolment, "T-HALF", 2)
    assert len(subsidy_reads) == 1  # the same product, category and day: kept
    # Priced exactly as the first: half of 1,000 per person.
    assert [p[0] for p in periods(db)] == [1500, 1000]


async def test_a_scheme_load_reaches_the_next_enrolment(
    enrolment: EnrolmentService,
    sponsored_scheme: None,  # noqa: F811
    subsidy_reads: list[str],
    db: Session,
) -> None:
    await enrol(enrolment, "T-HALF", 2)
    changed = copy.deepcopy(SPONSORED)
    changed["products"][0]["premium_per_person"] = 2000
    changed["subsidies"][0]["percent"] = 25
    db.rollback()
    with db.begin():
        scheme.load(db, changed)
    await enrol(enrolment, "T-HALF", 2)
    assert len(subsidy_reads) == 2  # read again after the change
    # 2 × 2,000, a quarter paid by the commune: 3,000 for the household.
    assert [p[0] for p in periods(db)] == [1000, 3000]


@pytest.fixture
def payer_group(sponsored_scheme: None, db: Session) -> Iterator[None]:  # noqa: F811
    yield
    db.rollback()
    with db.begin():  # before the products go (sponsored_scheme)
        for table in DATA_TABLES:
            db.execute(text(f"DELETE FROM {table}"))
    drop_groups(db)


async def test_a_payer_groups_contract_reaches_the_next_enrolment(
    enrolment: EnrolmentService,
    payer_group: None,
    sessions: async_sessionmaker[AsyncSession],  # noqa: F811
    db: Session,
) -> None:
    groups = GroupPayers(sessions)
    await groups.add(
        "COOP-A",
        "Coopérative A",
        GroupKind.COOPERATIVE,
        "MS-KANDI",
        None,
        by="t",
        scope=None,
        now=NOW,
    )
    # The group's own category, before its contract: priced as any household (half).
    await enrol(enrolment, "T-HALF", 2, category=sponsor_code("COOP-A"))
    await groups.sign(
        "COOP-A",
        TODAY.year,
        "T-HALF",
        date(TODAY.year, 1, 1),
        date(TODAY.year, 12, 31),
        by="t",
        scope=None,
        now=NOW,
    )
    await enrol(enrolment, "T-HALF", 2, category=sponsor_code("COOP-A"))
    # The contract's subsidy (100 %) applies at once, in the process that kept the rules.
    assert [p[0] for p in periods(db)] == [1000, 0]
