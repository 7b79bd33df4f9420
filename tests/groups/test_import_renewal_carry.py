"""A household renewed by the import: its overpayment is carried into the new year as by
the short code, and a member who left is not brought back under a new number (review 13,
finding 9)."""

# ruff: noqa: F811  (the import tests' fixtures, imported, are parameters here)
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import models
from gateway.groups.payers import GroupPayers
from gateway.settings import Settings
from tests.conftest import TODAY
from tests.enrolment.test_renewal import overpaid
from tests.groups.scheme import paid_year
from tests.groups.test_import import (  # noqa: F401  (fixtures)
    HEADER,
    RENEWAL_DAY,
    env,
    groups,
    run,
    write,
)


async def test_an_import_renewal_carries_the_overpayment_and_refuses_members_who_left(
    env: Settings,
    groups: GroupPayers,
    db: Session,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = write(
        tmp_path,
        [
            HEADER,
            "1;ALI;Moussa;M;1980;chef;97000021;T-FREE;;;;",
            "1;ALI;Awa;F;1982;conjoint;;;;;;",
        ],
        "a.csv",
    )
    assert await run(first) == 0
    db.expire_all()
    household = db.scalar(select(models.Household))
    assert household is not None
    head, spouse = db.scalars(
        select(models.Member)
        .where(models.Member.household_id == household.id)
        .order_by(models.Member.id)
    ).all()
    head_no, spouse_no = head.member_no, spouse.member_no
    paid_year(db, household.id, TODAY)
    period = db.scalar(select(models.CoveragePeriod))
    assert period is not None
    reference = overpaid(db, period, 300)
    spouse = db.get(models.Member, spouse.id)
    assert spouse is not None
    spouse.left_on, spouse.left_reason = date.fromordinal(TODAY.toordinal() + 200), "moved"
    db.commit()

    named_left = write(
        tmp_path,
        [
            HEADER,
            f"9;ALI;Moussa;M;1980;chef;97000021;T-FREE;;;;{head_no}",
            f"9;ALI;Awa;F;1982;conjoint;;;;;;{spouse_no}",
        ],
        "b.csv",
    )
    capsys.readouterr()
    assert await run(named_left, RENEWAL_DAY) == 1
    assert "members who left the household" in capsys.readouterr().out
    db.expire_all()
    assert len(db.scalars(select(models.Member.id)).all()) == 2
    assert len(db.scalars(select(models.CoveragePeriod.id)).all()) == 1

    head_only = write(
        tmp_path, [HEADER, f"9;ALI;Moussa;M;1980;chef;97000021;T-FREE;;;;{head_no}"], "c.csv"
    )
    assert await run(head_only, RENEWAL_DAY) == 0
    db.expire_all()
    year = db.scalar(
        select(models.CoveragePeriod).where(models.CoveragePeriod.renewal_of_id == period.id)
    )
    assert year is not None and year.carried_in == 300
    payment = db.scalar(select(models.Payment).where(models.Payment.reference == reference))
    assert payment is not None and payment.refunded_at is not None
    assert payment.refund_note == f"carried to CP-{year.id}"
