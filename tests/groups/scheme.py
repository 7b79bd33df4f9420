"""Products of their own for the group and bulk renewal tests, under the demo network,
so that the demo products stay as they are (and may change without breaking these)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from db import models
from gateway.scheme import document as scheme
from tests.conftest import TODAY
from tests.groups.conftest import drop_groups

ZONE = ZoneInfo("Africa/Porto-Novo")
PRODUCTS = ("T-COOP", "T-FREE")
DOCUMENT = {
    "units": [{"code": "RMS-BJ", "level": "network", "name": "Réseau (démo)"}],
    "products": [
        {
            "code": "T-COOP",
            "offered_by": "RMS-BJ",
            "names": {"fr": "Coopérative", "en": "Cooperative"},
            "premium_per_person": 1000,
        },
        {
            "code": "T-FREE",
            "offered_by": "RMS-BJ",
            "names": {"fr": "Gratuité", "en": "Free care"},
            "premium_per_person": 1500,
        },
    ],
    "sponsors": [{"code": "T-ETAT", "name": "Etat (gratuité)"}],
}


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE)


NOW = at(TODAY)


@pytest.fixture
def products(db: Session, no_groups: None) -> Iterator[dict[str, int]]:
    with db.begin():
        scheme.load(db, DOCUMENT)
        # Children under five and indigent people free on T-FREE, paid by the State.
        db.execute(
            update(models.Product)
            .where(models.Product.code == "T-FREE")
            .values(
                free_care={
                    "sponsor": "T-ETAT",
                    "under_age": 5,
                    "indigent": True,
                    "pregnancy": True,
                },
                person_prices=[{"category": "child", "max_age": 17, "premium": 500}],
            )
        )
    found = {
        code: pid
        for code, pid in db.execute(
            select(models.Product.code, models.Product.id).where(models.Product.code.in_(PRODUCTS))
        ).all()
    }
    db.commit()
    yield found
    db.rollback()
    with db.begin():
        for table in (
            "register_events",
            "audit_log",
            "cover_lines",
            "period_shares",
            "member_exemptions",
            "payments",
            "messages",
            "coverage_periods",
            "members",
            "households",
        ):
            db.execute(text(f"DELETE FROM {table}"))
        state = select(models.Sponsor.id).where(models.Sponsor.code == "T-ETAT")
        db.execute(delete(models.Subsidy).where(models.Subsidy.sponsor_id.in_(state)))
    drop_groups(db)
    with db.begin():
        db.execute(delete(models.Product).where(models.Product.code.in_(PRODUCTS)))
        db.execute(delete(models.Sponsor).where(models.Sponsor.code == "T-ETAT"))


def paid_year(db: Session, household_id: int, paid_on: date, waiting_days: int = 0) -> None:
    """The household's year as if paid on that day (whoever paid it)."""
    period = db.scalar(
        select(models.CoveragePeriod).where(models.CoveragePeriod.household_id == household_id)
    )
    assert period is not None
    covered_from = paid_on + timedelta(days=waiting_days)
    with db.begin_nested() if db.in_transaction() else db.begin():
        period.amount_paid = period.premium_due
        period.sponsor_paid = period.sponsor_share
        period.paid_in_full_on = paid_on
        period.covered_from = covered_from
        period.covered_until = covered_from.replace(year=covered_from.year + 1) - timedelta(days=1)
        period.grace_until = period.covered_until + timedelta(days=period.grace_days)
        period.status = "active"
    db.commit()
