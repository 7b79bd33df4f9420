"""gateway/enrolment/pricing.py on the database: a cover year written once, line by
line and share by share, its rights opening at the product's threshold."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from db import models
from db.values import CoverGround, ExemptionGround, ExemptionSource, LeftReason
from gateway.enrolment import pricing
from gateway.enrolment.entitlements import terms_of
from gateway.enrolment.exemptions import exemptions_on, record_exemption
from gateway.payments.ledger import credit
from gateway.scheme import document as scheme
from gateway.scheme.calendar import CoverYear, calendar_of, first_year
from menus.values import CoverageStatus
from tests.conftest import DATA_TABLES, TODAY

NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 10, 0, tzinfo=ZoneInfo("Africa/Porto-Novo"))
PRODUCTS = ("T-FAM", "T-SCHOOL")
DOCUMENT = {
    "units": [
        {
            "code": "RMS-BJ",
            "level": "network",
            "name": "Réseau des mutuelles de santé du Bénin (démo)",
        }
    ],
    "products": [
        {
            "code": "T-FAM",
            "offered_by": "RMS-BJ",
            "names": {"fr": "Famille", "en": "Family"},
            "premium_per_person": 1500,
        },
        {
            "code": "T-SCHOOL",
            "offered_by": "RMS-BJ",
            "names": {"fr": "Ecole", "en": "School"},
            "premium_per_person": 360,
        },
    ],
    "sponsors": [
        {"code": "T-ETAT", "name": "Etat"},
        {"code": "T-COMMUNE", "name": "Commune"},
    ],
    "subsidies": [{"sponsor": "T-COMMUNE", "product": "T-FAM", "amount_per_person": 500}],
}
ROLLING = CoverYear(None, None, 30, Fraction(1), lapsed=False)


@pytest.fixture
def products(db: Session, clean: None) -> Iterator[dict[str, models.Product]]:
    with db.begin():
        scheme.load(db, DOCUMENT)
        found = {
            p.code: p
            for p in db.scalars(select(models.Product).where(models.Product.code.in_(PRODUCTS)))
        }
        family = found["T-FAM"]
        family.person_prices = [{"category": "child", "max_age": 17, "premium": 1000}]
        family.free_care = {
            "sponsor": "T-ETAT",
            "under_age": 5,
            "pregnancy": True,
            "indigent": True,
        }
        family.cover_threshold_percent = 75
        school = found["T-SCHOOL"]
        school.cover_kind, school.year_starts, school.late_joiners = (
            "scheme_year",
            "09-01",
            "prorata",
        )
    yield found
    db.rollback()
    with db.begin():
        db.execute(text("DELETE FROM sponsor_settlements"))
        for table in DATA_TABLES:
            db.execute(text(f"DELETE FROM {table}"))
        db.execute(delete(models.Subsidy))
        db.execute(delete(models.Product).where(models.Product.code.in_(PRODUCTS)))
        db.execute(delete(models.Sponsor).where(models.Sponsor.code.in_(["T-ETAT", "T-COMMUNE"])))


def household_of(db: Session, product: models.Product, *births: date) -> models.Household:
    mutual = db.scalar(select(models.SchemeUnit).where(models.SchemeUnit.code == "MS-PARAKOU"))
    assert mutual is not None
    household = models.Household(
        mutual_id=mutual.id,
        product_id=product.id,
        phone="+2290197000001",
        language="fr",
        channel="ussd",
        request_key=f"test:{product.code}:{len(births)}",
        created_at=NOW,
    )
    db.add(household)
    db.flush()
    for i, born in enumerate(births):
        db.add(
            models.Member(
                household_id=household.id,
                last_name="DOSSOU",
                first_names=f"Person {i}",
                sex="F",
                birth_date=born,
                birth_year=born.year,
                relationship_to_head="head" if i == 0 else "child",
                created_at=NOW,
            )
        )
    db.flush()
    return household


def open_for(
    db: Session, household: models.Household, product: models.Product, year: CoverYear, key: str
) -> models.CoveragePeriod:
    persons = pricing.persons_of(db, household.id, TODAY)
    quote = pricing.quote(db, product, household.category, persons, year, TODAY)
    return pricing.open_period(
        db, household, product, quote, year, today=TODAY, now=NOW, channel="ussd", request_key=key
    )


def test_a_cover_year_is_written_with_its_lines_and_shares(
    db: Session, products: dict[str, models.Product]
) -> None:
    family = products["T-FAM"]
    with db.begin():
        household = household_of(db, family, date(1980, 1, 1), date(2015, 1, 1), date(2024, 1, 1))
        period = open_for(db, household, family, ROLLING, "ussd:s1")
    lines = db.scalars(
        select(models.CoverLine)
        .where(models.CoverLine.period_id == period.id)
        .order_by(models.CoverLine.id)
    ).all()
    etat = db.scalar(select(models.Sponsor.id).where(models.Sponsor.code == "T-ETAT"))
    commune = db.scalar(select(models.Sponsor.id).where(models.Sponsor.code == "T-COMMUNE"))
    assert [
        (ln.category, ln.ground, ln.price, ln.sponsor_id, ln.sponsor_amount) for ln in lines
    ] == [
        ("adult", CoverGround.MEMBER, 1500, commune, 500),
        ("child", CoverGround.MEMBER, 1000, commune, 500),
        ("child", CoverGround.UNDER_FIVE, 1000, etat, 1000),
    ]
    shares = {s.sponsor_id: (s.amount, s.paid) for s in db.scalars(select(models.PeriodShare))}
    assert shares == {commune: (1000, 0), etat: (1000, 0)}
    assert (period.persons, period.premium_due, period.sponsor_share) == (3, 1500, 2000)
    assert period.sponsor_id is None  # two sponsors: the shares say who
    assert (period.threshold_percent, period.channel, period.request_key) == (75, "ussd", "ussd:s1")
    assert period.status == CoverageStatus.PENDING_PAYMENT and period.paid_in_full_on is None


def test_the_same_request_finds_its_period(
    db: Session, products: dict[str, models.Product]
) -> None:
    family = products["T-FAM"]
    with db.begin():
        household = household_of(db, family, date(1980, 1, 1))
        first = open_for(db, household, family, ROLLING, "ussd:again")
        again = open_for(db, household, family, ROLLING, "ussd:again")
    assert first.id == again.id
    assert db.scalar(select(text("count(*)")).select_from(models.CoveragePeriod)) == 1
    assert db.scalar(select(text("count(*)")).select_from(models.CoverLine)) == 1


def test_rights_open_at_the_threshold_and_the_rest_stays_due(
    db: Session, products: dict[str, models.Product]
) -> None:
    family = products["T-FAM"]
    with db.begin():
        household = household_of(db, family, date(1980, 1, 1), date(1982, 1, 1))
        period = open_for(db, household, family, ROLLING, "ussd:t")
        assert period.premium_due == 2000  # 2 x (1500 - 500)
        credit(period, 1499, TODAY, TODAY)  # 75 % is 1500
        assert period.paid_in_full_on is None
        credit(period, 1, TODAY, TODAY)
    assert period.paid_in_full_on == TODAY
    assert period.status == CoverageStatus.WAITING
    assert period.covered_from == TODAY + timedelta(days=30)
    assert terms_of(period).amount_due == 500


def test_what_was_carried_in_counts_as_paid(
    db: Session, products: dict[str, models.Product]
) -> None:
    family = products["T-FAM"]
    with db.begin():
        household = household_of(db, family, date(1980, 1, 1))
        persons = pricing.persons_of(db, household.id, TODAY)
        quote = pricing.quote(db, family, None, persons, ROLLING, TODAY)
        with pytest.raises(ValueError, match="cannot carry"):
            pricing.open_period(
                db,
                household,
                family,
                quote,
                ROLLING,
                today=TODAY,
                now=NOW,
                channel="agent",
                request_key="r:1",
                carried_in=quote.household_share + 1,
            )
        period = pricing.open_period(
            db,
            household,
            family,
            quote,
            ROLLING,
            today=TODAY,
            now=NOW,
            channel="agent",
            request_key="r:1",
            carried_in=quote.household_share,
        )
    assert period.carried_in == 1000 and period.paid_in_full_on == TODAY
    assert terms_of(period).amount_due == 0


def test_an_exempt_household_has_its_rights_at_once(
    db: Session, products: dict[str, models.Product]
) -> None:
    family = products["T-FAM"]
    with db.begin():
        household = household_of(db, family, date(1960, 1, 1), date(2023, 6, 1))
        head = db.scalars(
            select(models.Member).where(models.Member.household_id == household.id)
        ).first()
        assert head is not None
        record_exemption(
            db,
            head.id,
            ExemptionGround.INDIGENT,
            ExemptionSource.SOCIAL_REGISTRY,
            date(2026, 1, 1),
            None,
            "dci",
            NOW,
        )
        period = open_for(db, household, family, ROLLING, "ussd:poor")
    assert (period.premium_due, period.sponsor_share) == (0, 2500)
    assert period.paid_in_full_on == TODAY and period.status == CoverageStatus.WAITING
    grounds = {ln.ground for ln in db.scalars(select(models.CoverLine))}
    assert grounds == {CoverGround.INDIGENT, CoverGround.UNDER_FIVE}


def test_a_scheme_year_keeps_its_fixed_dates(
    db: Session, products: dict[str, models.Product]
) -> None:
    school = products["T-SCHOOL"]
    with db.begin():
        year = first_year(calendar_of(school), TODAY)  # 23 November: began 1 September
        assert (year.starts_on, year.share) == (date(2026, 9, 1), Fraction(9, 12))
        household = household_of(db, school, date(2012, 1, 1))
        period = open_for(db, household, school, year, "ussd:pupil")
        credit(period, period.premium_due, TODAY, TODAY)
    assert period.premium_due == 270  # 9 months of 360
    assert (period.cover_starts_on, period.cover_ends_on) == (date(2026, 9, 1), date(2027, 8, 31))
    assert period.covered_from == TODAY + timedelta(days=30)
    assert period.covered_until == date(2027, 8, 31)
    assert period.grace_until == date(2027, 8, 31) + timedelta(days=school.grace_days)


def test_a_member_who_left_is_not_priced(db: Session, products: dict[str, models.Product]) -> None:
    family = products["T-FAM"]
    with db.begin():
        household = household_of(db, family, date(1980, 1, 1), date(1950, 1, 1))
        gone = db.scalars(
            select(models.Member).where(models.Member.household_id == household.id)
        ).all()[1]
        gone.left_on, gone.left_reason = TODAY, LeftReason.DIED
        db.flush()
        persons = pricing.persons_of(db, household.id, TODAY)
    assert [p.member_id for p in persons] == [
        m.id for m in db.scalars(select(models.Member).where(models.Member.left_on.is_(None)))
    ]


def test_record_exemption_is_idempotent(db: Session, products: dict[str, models.Product]) -> None:
    family = products["T-FAM"]
    with db.begin():
        household = household_of(db, family, date(1995, 1, 1))
        member_id = db.scalars(select(models.Member.id)).one()
        start = date(2026, 10, 1)
        first = record_exemption(
            db,
            member_id,
            ExemptionGround.PREGNANCY,
            ExemptionSource.STAFF,
            start,
            date(2027, 6, 30),
            "staff:ama",
            NOW,
        )
        again = record_exemption(
            db,
            member_id,
            ExemptionGround.PREGNANCY,
            ExemptionSource.STAFF,
            start,
            date(2027, 7, 15),
            "staff:ama",
            NOW,
        )
        with pytest.raises(ValueError):
            record_exemption(
                db,
                member_id,
                ExemptionGround.PREGNANCY,
                ExemptionSource.STAFF,
                start,
                date(2026, 9, 1),
                "staff:ama",
                NOW,
            )
    assert first.id == again.id and again.ends_on == date(2027, 7, 15)
    assert exemptions_on(db, [member_id], date(2027, 7, 15))[member_id][0].ground == "pregnancy"
    assert exemptions_on(db, [member_id], date(2027, 7, 16)) == {}
    assert exemptions_on(db, [member_id], date(2026, 9, 30)) == {}
    assert exemptions_on(db, [], TODAY) == {}
    assert household.id
