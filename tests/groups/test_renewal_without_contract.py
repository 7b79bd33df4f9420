"""A group household renewed (here by USSD) for a cover year its group has no contract
for is priced as an ordinary household: it pays, the group is not charged a share
nobody invoices (review 13, finding 2)."""

# ruff: noqa: F811  (the renewal tests' fixtures, imported, are parameters here)
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from db import models
from gateway.enrolment.renewal import RenewalService
from gateway.enrolment.service import EnrolmentService
from gateway.groups.payers import GroupPayers
from menus.effects import RenewalChanges, RenewHousehold
from tests.conftest import TODAY
from tests.enrolment.test_renewal import Now, now, renewal  # noqa: F401  (fixtures)
from tests.groups.scheme import NOW
from tests.groups.test_payers import enrol, sessions  # noqa: F401  (fixtures)


async def test_a_group_household_renewed_for_a_year_without_contract_pays_itself(
    products: dict[str, int],
    sessions: async_sessionmaker[AsyncSession],
    enrolment: EnrolmentService,
    renewal: RenewalService,
    db: Session,
    now: Now,
) -> None:
    groups = GroupPayers(sessions)
    await groups.add("EPP-KANDI", "EPP", "school", "MS-KANDI", None, by="t", scope=None, now=NOW)
    await groups.sign(
        "EPP-KANDI",
        TODAY.year,
        "T-COOP",
        TODAY,
        TODAY + timedelta(days=364),
        by="t",
        scope=None,
        now=NOW,
    )
    head = await enrol(enrolment, "MS-KANDI", 2)
    await groups.join("EPP-KANDI", head, by="t", scope=None, now=NOW)
    await groups.record_transfer("EPP-KANDI", 2000, "V1", TODAY, by="t", scope=None, now=NOW)
    db.expire_all()
    period = db.scalar(select(models.CoveragePeriod))
    assert period is not None and period.sponsor_share == 2000 and period.covered_until
    # Renewed after the contract's end: the new year starts outside any contract.
    day = now.day = period.covered_until - timedelta(days=10)
    assert day > TODAY + timedelta(days=364)
    result = await renewal.renew(RenewHousehold(head, RenewalChanges()), "k1", day)
    assert result["outcome"] == "renewed", result
    db.expire_all()
    year = db.scalar(
        select(models.CoveragePeriod).where(models.CoveragePeriod.renewal_of_id == period.id)
    )
    assert year is not None
    assert (year.premium_due, year.sponsor_share) == (2000, 0)
    assert not year.waits_for_sponsor
    assert result["amount_due"] == 2000
