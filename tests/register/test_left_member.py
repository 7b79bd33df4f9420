"""A member removed at a renewal (left, or died) is not covered by the new year: not at a
facility's check, not in the member's own status (review 13, finding 3)."""

# ruff: noqa: F811  (the renewal tests' fixtures, imported, are parameters here)
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway.enrolment.entitlements import RightsService
from gateway.enrolment.renewal import RenewalService
from gateway.enrolment.service import EnrolmentService
from gateway.payments.ledger import Billing
from gateway.register.capability import Register
from menus.effects import MemberRemoval, RenewalChanges, RenewHousehold
from tests.enrolment.test_renewal import (  # noqa: F401  (fixtures)
    Now,
    billing,
    in_window,
    members,
    now,
    paid_household,
    renewal,
    sessions,
)
from tests.support.gateway import part


async def test_a_member_who_died_at_renewal_is_not_covered_next_year(
    renewal: RenewalService,
    enrolment: EnrolmentService,
    billing: Billing,
    sessions: async_sessionmaker[AsyncSession],
    db: Session,
    now: Now,
    app: Starlette,
) -> None:
    head, period = await paid_household(enrolment, billing, db)
    now.day = in_window(period)
    kept, dead = members(db, head)[1].member_no, members(db, head)[2].member_no
    assert kept is not None and dead is not None
    changes = RenewalChanges(removed=(MemberRemoval(dead, "died"),))
    result = await renewal.renew(RenewHousehold(head, changes), "k1", now.day)
    assert result["outcome"] == "renewed", result
    db.expire_all()
    year = db.scalar(
        select(models.CoveragePeriod).where(models.CoveragePeriod.renewal_of_id == period.id)
    )
    assert year is not None
    await billing.record_cash(head, year.premium_due, "Rose")
    db.expire_all()
    year = db.get(models.CoveragePeriod, year.id)
    assert year is not None and year.covered_from is not None
    later = year.covered_from + timedelta(days=30)
    checks = part(app, Register).eligibility
    assert (await checks.answer(kept, later)).outcome == "covered"
    refused = await checks.answer(dead, later)
    assert refused.outcome == "not_covered" and refused.ground is None
    rights = RightsService(sessions)
    assert (await rights.member_status(kept, later)).get("coverage") is not None
    assert (await rights.member_status(dead, later)).get("coverage") is None
