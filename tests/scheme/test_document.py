"""gateway/scheme.py against a real database (SQLite by default, PostgreSQL in CI).

The session fixtures load the demo scheme once and other tests depend on it: tests
here either load the demo file itself, restore it before they end, or work inside a
transaction they roll back.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import models
from gateway.scheme import document as scheme
from gateway.scheme.document import LoadReport, SchemeError, load, read_file, validate

DEMO_REPORT = LoadReport(units=6, products=2, occupations=6)


def rows(session: Session, model: Any) -> dict[str, dict[str, Any]]:
    columns = [attribute.key for attribute in model.__mapper__.column_attrs]
    found = session.scalars(select(model)).all()
    return {row.code: {key: getattr(row, key) for key in columns} for row in found}


def snapshot(session: Session) -> dict[str, dict[str, dict[str, Any]]]:
    """Every scheme row, every column, keyed by code, read fresh from the database."""
    session.expire_all()
    with session.begin():
        return {
            "units": rows(session, models.SchemeUnit),
            "products": rows(session, models.Product),
            "occupations": rows(session, models.Occupation),
        }


def demo() -> dict[str, Any]:
    return read_file(scheme.DEMO_SCHEME)


def load_committed(session: Session, document: dict[str, Any]) -> LoadReport:
    with session.begin():
        return load(session, document)


@pytest.fixture
def rolled_back(db: Session) -> Iterator[Session]:
    """A session whose work is never committed."""
    transaction = db.begin()
    try:
        yield db
    finally:
        transaction.rollback()


@pytest.fixture
def demo_restored(db: Session) -> Iterator[Session]:
    """Commit freely: the demo scheme is loaded back, and checked, at the end."""
    before = snapshot(db)
    try:
        yield db
    finally:
        if db.in_transaction():
            db.rollback()
        load_committed(db, demo())
        assert snapshot(db) == before


# -- idempotent loading --------------------------------------------------------------


def test_the_demo_scheme_is_loaded(db: Session) -> None:
    state = snapshot(db)
    demo_units = {"RMS-BJ", "ZS-PARAKOU", "ZS-KANDI", "MS-PARAKOU", "MS-NDALI", "MS-KANDI"}
    assert demo_units <= set(state["units"])
    assert state["units"]["MS-NDALI"]["path"] == "RMS-BJ/ZS-PARAKOU/MS-NDALI"
    assert state["units"]["MS-NDALI"]["parent_id"] == state["units"]["ZS-PARAKOU"]["id"]
    assert state["units"]["RMS-BJ"]["parent_id"] is None
    family = state["products"]["FAMILLE"]
    assert family["premium_per_person"] == 1575
    assert family["unit_id"] == state["units"]["RMS-BJ"]["id"]
    school = state["products"]["SCOLAIRE"]
    assert (school["window_start"], school["window_end"]) == ("09-01", "12-31")
    assert school["max_members"] == 1
    assert state["occupations"]["moto_taxi"]["names"]["fr"] == "Zémidjan (moto-taxi)"


def test_loading_the_demo_scheme_twice_changes_nothing(db: Session) -> None:
    before = snapshot(db)
    assert load_committed(db, demo()) == DEMO_REPORT
    after_first = snapshot(db)
    assert load_committed(db, demo()) == DEMO_REPORT
    assert snapshot(db) == after_first == before


def test_loading_twice_in_one_transaction_keeps_the_ids(rolled_back: Session) -> None:
    document = demo()
    load(rolled_back, document)
    ids = {u.code: u.id for u in rolled_back.scalars(select(models.SchemeUnit))}
    load(rolled_back, document)
    assert {u.code: u.id for u in rolled_back.scalars(select(models.SchemeUnit))} == ids


def test_an_edited_file_updates_what_changed(demo_restored: Session) -> None:
    before = snapshot(demo_restored)
    edited = demo()
    family = next(p for p in edited["products"] if p["code"] == "FAMILLE")
    family["premium_per_person"] = 2000
    family["names"] = {"fr": "Famille 2027", "en": "Family 2027"}
    school = next(p for p in edited["products"] if p["code"] == "SCOLAIRE")
    school["window"] = {"opens": "10-01", "closes": "01-31"}

    assert load_committed(demo_restored, edited) == DEMO_REPORT
    after = snapshot(demo_restored)

    assert after["units"] == before["units"]
    assert after["occupations"] == before["occupations"]
    expected_family = {
        **before["products"]["FAMILLE"],
        "premium_per_person": 2000,
        "names": {"fr": "Famille 2027", "en": "Family 2027"},
    }
    assert after["products"]["FAMILLE"] == expected_family
    expected_school = {**before["products"]["SCOLAIRE"], "window_start": "10-01"}
    expected_school["window_end"] = "01-31"
    assert after["products"]["SCOLAIRE"] == expected_school


TEST_NETWORK: dict[str, Any] = {
    "units": [
        {"code": "TEST-NET", "level": "network", "name": "Réseau de test"},
        {"code": "TEST-ZONE", "level": "zone", "name": "Zone de test", "parent": "TEST-NET"},
        {
            "code": "TEST-MUT",
            "level": "mutual",
            "name": "Mutuelle de test",
            "parent": "TEST-ZONE",
            "department": "Borgou",
            "commune": "Nikki",
            "arrondissement": "Ouénou",
        },
        {"code": "TEST-VG", "level": "village_group", "name": "Village", "parent": "TEST-MUT"},
    ],
    "products": [
        {
            "code": "TEST-ZEMIDJAN",
            "offered_by": "TEST-ZONE",
            "names": {"fr": "Zémidjan", "en": "Moto-taxi"},
            "target_group": "moto_taxi",
            "premium_per_person": 3000,
            "household_premium": None,
            "waiting_days": 90,
            "cover_months": 12,
            "grace_days": 15,
            "copay_percent": 10,
            "benefits": ["consultation"],
        }
    ],
}


def test_a_new_network_loads_beside_the_demo(rolled_back: Session) -> None:
    demo_units = {u.code: u.path for u in rolled_back.scalars(select(models.SchemeUnit))}
    report = load(rolled_back, copy.deepcopy(TEST_NETWORK))
    assert report == LoadReport(units=4, products=1, occupations=0)

    units = {u.code: u for u in rolled_back.scalars(select(models.SchemeUnit))}
    assert units["TEST-VG"].path == "TEST-NET/TEST-ZONE/TEST-MUT/TEST-VG"
    assert units["TEST-VG"].parent_id == units["TEST-MUT"].id
    assert units["TEST-MUT"].commune == "Nikki"
    assert units["TEST-MUT"].arrondissement == "Ouénou"
    assert {code: units[code].path for code in demo_units} == demo_units
    product = rolled_back.scalars(
        select(models.Product).where(models.Product.code == "TEST-ZEMIDJAN")
    ).one()
    assert product.unit_id == units["TEST-ZONE"].id
    assert (product.waiting_days, product.grace_days, product.copay_percent) == (90, 15, 10)
    assert product.window_start is None and product.active

    ids = {code: unit.id for code, unit in units.items()}
    load(rolled_back, copy.deepcopy(TEST_NETWORK))
    assert {u.code: u.id for u in rolled_back.scalars(select(models.SchemeUnit))} == ids


def test_product_defaults(rolled_back: Session) -> None:
    minimal = {
        "units": [{"code": "TEST-NET", "level": "network", "name": "Réseau de test"}],
        "products": [
            {
                "code": "TEST-MIN",
                "offered_by": "TEST-NET",
                "names": {"fr": "Minimum"},
                "premium_per_person": 0,
            }
        ],
    }
    load(rolled_back, minimal)
    product = rolled_back.scalars(
        select(models.Product).where(models.Product.code == "TEST-MIN")
    ).one()
    assert product.target_group == "families"
    assert (product.waiting_days, product.cover_months, product.grace_days) == (30, 12, 30)
    assert (product.copay_percent, product.benefits, product.active) == (0, [], True)
    assert product.household_premium is None and product.max_members is None


# -- validation ----------------------------------------------------------------------

BAD: dict[str, Any] = {
    "units": [
        {"code": "NET", "level": "network", "name": "Réseau"},
        {"level": "zone", "name": "Sans code", "parent": "NET"},
        {"code": "ZONE", "level": "district", "name": "Niveau inconnu", "parent": "NET"},
        {"code": "MUT", "level": "mutual", "name": "Orpheline", "parent": "NOWHERE"},
        "not a mapping",
    ],
    "occupations": [{"code": "farmer"}],
    "products": [
        {
            "code": "HALF",
            "offered_by": "NET",
            "names": {"fr": "Demi"},
            "premium_per_person": 1575.5,
        },
        {
            "code": "WINDOW",
            "offered_by": "NET",
            "names": {"fr": "Campagne"},
            "premium_per_person": 1575,
            "window": {"opens": "9-1", "closes": "12-31"},
        },
        {
            "code": "",
            "offered_by": "ELSEWHERE",
            "names": {"fr": "Ailleurs"},
            "premium_per_person": "1575",
            "waiting_days": -1,
        },
    ],
}
BAD_PROBLEMS = [
    "units[1]: missing code",
    "units[2]: level must be one of network, zone, mutual, village_group",
    "units[3]: parent 'NOWHERE' must be listed before it",
    "units[3]: a mutual needs its commune",
    "units[4]: expected a mapping",
    "occupations[0]: needs code and names",
    "products[0]: premium_per_person must be a whole number (XOF has no cents)",
    'products[1]: window needs opens and closes as "MM-DD"',
    "products[2]: missing code",
    "products[2]: offered_by 'ELSEWHERE' is not a unit of this file",
    "products[2]: premium_per_person must be a whole number (XOF has no cents)",
    "products[2]: waiting_days must be a whole number (XOF has no cents)",
]


def test_validate_reports_every_problem_at_once() -> None:
    assert validate(copy.deepcopy(BAD)) == BAD_PROBLEMS


def test_the_demo_scheme_is_valid() -> None:
    assert validate(demo()) == []


def test_a_bad_document_loads_nothing(db: Session) -> None:
    before = snapshot(db)
    with pytest.raises(SchemeError) as caught, db.begin():
        load(db, copy.deepcopy(BAD))
    assert caught.value.problems == BAD_PROBLEMS
    assert str(caught.value) == "\n".join(BAD_PROBLEMS)
    assert snapshot(db) == before


def test_one_bad_product_stops_the_good_units_too(db: Session) -> None:
    before = snapshot(db)
    document = copy.deepcopy(TEST_NETWORK)
    document["products"][0]["premium_per_person"] = "3 000"
    with pytest.raises(SchemeError) as caught, db.begin():
        load(db, document)
    assert caught.value.problems == [
        "products[0]: premium_per_person must be a whole number (XOF has no cents)"
    ]
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("premium_per_person", True),
        ("premium_per_person", -100),
        ("household_premium", 99.9),
        ("max_members", "12"),
        ("cover_months", 1.5),
    ],
)
def test_amounts_and_counts_must_be_whole_numbers(key: str, value: Any) -> None:
    document = copy.deepcopy(TEST_NETWORK)
    document["products"][0][key] = value
    assert validate(document) == [f"products[0]: {key} must be a whole number (XOF has no cents)"]


@pytest.mark.parametrize(
    "window",
    [
        {"opens": "09-01"},
        {"opens": "13-01", "closes": "12-31"},
        {"opens": "09-00", "closes": "12-31"},
        {"opens": "09-32", "closes": "12-31"},
        {"opens": "0901", "closes": "1231"},
        "09-01/12-31",
    ],
)
def test_a_window_needs_two_month_days(window: Any) -> None:
    document = copy.deepcopy(TEST_NETWORK)
    document["products"][0]["window"] = window
    assert validate(document) == ['products[0]: window needs opens and closes as "MM-DD"']


@pytest.mark.parametrize(("key", "value"), [("grace_days", "thirty"), ("copay_percent", 2.5)])
def test_grace_and_copay_must_be_whole_numbers(key: str, value: Any) -> None:
    document = copy.deepcopy(TEST_NETWORK)
    document["products"][0][key] = value
    assert validate(document) != []


@pytest.mark.parametrize("opens", ["02-30", "04-31"])
def test_a_window_day_must_exist(opens: str) -> None:
    document = copy.deepcopy(TEST_NETWORK)
    document["products"][0]["window"] = {"opens": opens, "closes": "12-31"}
    assert validate(document) != []


def test_names_must_be_a_mapping_of_languages() -> None:
    document = copy.deepcopy(TEST_NETWORK)
    document["products"][0]["names"] = "Zémidjan"
    assert validate(document) != []


@pytest.mark.parametrize("section", ["units", "products"])
def test_a_code_listed_twice_is_reported(section: str) -> None:
    document = copy.deepcopy(TEST_NETWORK)
    twin = copy.deepcopy(document[section][-1])
    twin["name" if section == "units" else "names"] = (
        "Jumeau" if section == "units" else {"fr": "Jumeau"}
    )
    document[section].append(twin)
    assert validate(document) != []


# -- reading files -------------------------------------------------------------------


def test_a_json_file_reads_like_yaml(tmp_path: Path) -> None:
    path = tmp_path / "scheme.json"
    path.write_text(json.dumps(TEST_NETWORK, ensure_ascii=False), "utf-8")
    assert read_file(path) == TEST_NETWORK


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("- just\n- a list\n", "expected a mapping with units, occupations and products"),
        ("units: [unclosed\n", "cannot read"),
        ("", "expected a mapping"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "scheme.yaml"
    path.write_text(content, "utf-8")
    with pytest.raises(SchemeError) as caught:
        read_file(path)
    assert len(caught.value.problems) == 1
    assert problem in caught.value.problems[0]
    assert str(path) in caught.value.problems[0]


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SchemeError, match="cannot read"):
        read_file(tmp_path / "nowhere.yaml")


# -- the calendar, prices per person and free care --------------------------------------


def test_the_demo_products_carry_their_calendar_and_prices(db: Session) -> None:
    with db.begin():
        products = {p.code: p for p in db.scalars(select(models.Product))}
        family, school = products["FAMILLE"], products["SCOLAIRE"]
        assert (family.cover_kind, family.year_starts, family.renewal_opens_days) == (
            "rolling",
            None,
            60,
        )
        assert family.person_prices is not None
        assert [(b["category"], b["max_age"], b["premium"]) for b in family.person_prices] == [
            ("child", 17, 1000)
        ]
        assert family.free_care == {
            "sponsor": "ETAT",
            "under_age": 5,
            "pregnancy": True,
            "indigent": True,
        }
        assert (school.cover_kind, school.year_starts, school.late_joiners) == (
            "scheme_year",
            "09-01",
            "prorata",
        )
        assert family.cover_threshold_percent == school.cover_threshold_percent == 100
        assert db.scalar(select(models.Sponsor.name).where(models.Sponsor.code == "ETAT"))


def test_calendar_defaults(rolled_back: Session) -> None:
    load(rolled_back, TEST_NETWORK)
    product = rolled_back.scalars(
        select(models.Product).where(models.Product.code == TEST_NETWORK["products"][0]["code"])
    ).one()
    assert (product.cover_kind, product.late_joiners, product.year_starts) == (
        "rolling",
        "full",
        None,
    )
    assert (product.renewal_opens_days, product.cover_threshold_percent) == (60, 100)
    assert product.person_prices is None and product.free_care is None


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"cover_kind": "monthly"}, "products[0]: cover_kind must be one of rolling, scheme_year"),
        ({"cover_kind": "scheme_year"}, "products[0]: a scheme_year needs year_starts"),
        ({"cover_kind": "scheme_year", "year_starts": "9-1"}, "needs year_starts as"),
        ({"cover_kind": "scheme_year", "year_starts": "02-29"}, "needs year_starts as"),
        ({"year_starts": "01-01"}, "year_starts is for cover_kind scheme_year only"),
        ({"late_joiners": "half"}, "late_joiners must be one of full, prorata"),
        ({"cover_threshold_percent": 0}, "cover_threshold_percent must be between 1 and 100"),
        ({"cover_threshold_percent": 101}, "cover_threshold_percent must be between 1 and 100"),
        ({"renewal_opens_days": -1}, "renewal_opens_days must be a whole number"),
        ({"person_prices": []}, "person_prices must be a list of bands"),
        ({"person_prices": [{"max_age": 4, "premium": 0}]}, "needs category, max_age"),
        (
            {"person_prices": [{"category": "kid", "max_age": "4", "premium": 0}]},
            "max_age and premium must be whole numbers",
        ),
        (
            {
                "person_prices": [
                    {"category": "child", "max_age": 17, "premium": 1000},
                    {"category": "baby", "max_age": 4, "premium": 0},
                ]
            },
            "products[0].person_prices[1]: max_age must increase from band to band",
        ),
        (
            {"person_prices": [{"category": "adult", "max_age": 99, "premium": 1}]},
            "adult is the category of whoever no band matches",
        ),
        (
            {
                "household_premium": 5000,
                "person_prices": [{"category": "child", "max_age": 17, "premium": 1}],
            },
            "person_prices cannot go with a household_premium",
        ),
        ({"free_care": "ETAT"}, "free_care must be a mapping"),
        ({"free_care": {"sponsor": "NOBODY", "under_age": 5}}, "sponsor 'NOBODY' is not a sponsor"),
        ({"free_care": {"sponsor": "T-ETAT", "under_age": 0}}, "under_age must be a whole number"),
        ({"free_care": {"sponsor": "T-ETAT", "pregnancy": "yes"}}, "pregnancy is true or false"),
        ({"free_care": {"sponsor": "T-ETAT"}}, "free_care names no one"),
        ({"free_care": {"sponsor": "T-ETAT", "elderly": True}}, "free_care has no 'elderly'"),
    ],
)
def test_calendar_price_and_free_care_problems(fields: dict[str, Any], problem: str) -> None:
    document = copy.deepcopy(TEST_NETWORK)
    document["products"][0].update(fields)
    document["sponsors"] = [{"code": "T-ETAT", "name": "Etat"}]
    problems = validate(document)
    assert any(problem in found for found in problems), problems


def test_a_good_calendar_and_free_care_validate() -> None:
    document = copy.deepcopy(TEST_NETWORK)
    document["products"][0].update(
        {
            "cover_kind": "scheme_year",
            "year_starts": "01-01",
            "late_joiners": "prorata",
            "cover_threshold_percent": 75,
            "person_prices": [
                {"category": "baby", "max_age": 4, "premium": 0},
                {"category": "child", "max_age": 17, "premium": 1000, "names": {"fr": "Enfant"}},
            ],
            "free_care": {"sponsor": "T-ETAT", "pregnancy": True, "indigent": True},
        }
    )
    document["sponsors"] = [{"code": "T-ETAT", "name": "Etat"}]
    assert validate(document) == []
