"""Load a scheme (units, occupations, products, sponsors and subsidies) from YAML or
JSON, idempotently.

Rows are matched on their codes: loading the same file twice changes nothing, loading
an edited file updates what changed. Every problem in the file is reported at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import models
from db.models.scheme import DEFAULT_MIN_PART_PAYMENT
from db.values import CoverKind, LateJoiners, UnitLevel
from gateway.enrolment.rules_cache import rules_watched

_MONTH_DAY = re.compile(r"^(\d\d)-(\d\d)$")


def _month_day_ok(text: object) -> bool:
    """A yearly date that exists every year: "02-29" would vanish three years in four."""
    found = _MONTH_DAY.match(str(text))
    if not found or found.group(0) == "02-29":
        return False
    try:
        date(2023, int(found.group(1)), int(found.group(2)))
    except ValueError:
        return False
    return True


def _names_ok(names: object) -> bool:
    return (
        isinstance(names, dict)
        and bool(names)
        and all(isinstance(k, str) and isinstance(v, str) and v for k, v in names.items())
    )


class SchemeError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class LoadReport:
    units: int
    products: int
    occupations: int


def read_file(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text("utf-8"))  # YAML is a superset of JSON
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise SchemeError([f"{path}: cannot read: {error}"]) from None
    if not isinstance(document, dict):
        raise SchemeError([f"{path}: expected a mapping with units, occupations and products"])
    return document


def validate(document: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    codes: set[str] = set()
    for i, unit in enumerate(document.get("units") or []):
        where = f"units[{i}]"
        if not isinstance(unit, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        for key in ("code", "level", "name"):
            if not unit.get(key):
                problems.append(f"{where}: missing {key}")
        if unit.get("level") and unit["level"] not in tuple(UnitLevel):
            problems.append(f"{where}: level must be one of {', '.join(UnitLevel)}")
        if unit.get("parent") and unit["parent"] not in codes:
            problems.append(f"{where}: parent {unit['parent']!r} must be listed before it")
        if unit.get("level") == UnitLevel.MUTUAL and not unit.get("commune"):
            problems.append(f"{where}: a mutual needs its commune")
        if str(unit.get("code")) in codes:
            problems.append(f"{where}: code {unit.get('code')!r} is listed twice")
        codes.add(str(unit.get("code")))
    occupation_codes: set[str] = set()
    for i, occupation in enumerate(document.get("occupations") or []):
        where = f"occupations[{i}]"
        if not isinstance(occupation, dict) or not occupation.get("code"):
            problems.append(f"{where}: needs code and names")
            continue
        if not _names_ok(occupation.get("names")):
            problems.append(f"{where}: needs code and names")
        if str(occupation["code"]) in occupation_codes:
            problems.append(f"{where}: code {occupation['code']!r} is listed twice")
        occupation_codes.add(str(occupation["code"]))
    product_codes: set[str] = set()
    for i, product in enumerate(document.get("products") or []):
        where = f"products[{i}]"
        if not isinstance(product, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        problems += _product_problems(where, product, codes, product_codes)
        product_codes.add(str(product.get("code")))
    problems += _sponsor_problems(document, product_codes)
    sponsor_codes = {
        str(s.get("code")) for s in document.get("sponsors") or [] if isinstance(s, dict)
    }
    for i, product in enumerate(document.get("products") or []):
        if isinstance(product, dict) and product.get("free_care") is not None:
            problems += _free_care_problems(f"products[{i}]", product["free_care"], sponsor_codes)
    return problems


def _sponsor_problems(document: dict[str, Any], product_codes: set[str]) -> list[str]:
    problems: list[str] = []
    sponsor_codes: set[str] = set()
    for i, sponsor in enumerate(document.get("sponsors") or []):
        if not isinstance(sponsor, dict) or not sponsor.get("code") or not sponsor.get("name"):
            problems.append(f"sponsors[{i}]: needs code and name")
            continue
        if sponsor.get("activation", "member_share") not in ("member_share", "sponsor_paid"):
            problems.append(f"sponsors[{i}]: activation is member_share or sponsor_paid")
        sponsor_codes.add(str(sponsor["code"]))
    for i, subsidy in enumerate(document.get("subsidies") or []):
        where = f"subsidies[{i}]"
        if not isinstance(subsidy, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        if subsidy.get("sponsor") not in sponsor_codes:
            problems.append(
                f"{where}: sponsor {subsidy.get('sponsor')!r} is not a sponsor of this file"
            )
        if subsidy.get("product") not in product_codes:
            problems.append(
                f"{where}: product {subsidy.get('product')!r} is not a product of this file"
            )
        percent, per_person = subsidy.get("percent"), subsidy.get("amount_per_person")
        if (percent is None) == (per_person is None):
            problems.append(f"{where}: give either percent or amount_per_person")
        elif percent is not None and not (isinstance(percent, int) and 0 < percent <= 100):
            problems.append(f"{where}: percent must be a whole number from 1 to 100")
        elif per_person is not None and not (isinstance(per_person, int) and per_person > 0):
            problems.append(f"{where}: amount_per_person must be a positive whole number")
    return problems


WHOLE_NUMBERS = (
    "premium_per_person",
    "household_premium",
    "max_members",
    "waiting_days",
    "cover_months",
    "grace_days",
    "copay_percent",
    "renewal_opens_days",
    "cover_threshold_percent",
    "min_part_payment",
)
FREE_CARE_KEYS = {"sponsor", "under_age", "pregnancy", "indigent"}


def _product_problems(
    where: str, product: dict[str, Any], units: set[str], seen: set[str]
) -> list[str]:
    problems = [
        f"{where}: missing {key}"
        for key in ("code", "offered_by", "names", "premium_per_person")
        if product.get(key) in (None, "")
    ]
    if product.get("offered_by") and product["offered_by"] not in units:
        problems.append(f"{where}: offered_by {product['offered_by']!r} is not a unit of this file")
    if product.get("code") in seen:
        problems.append(f"{where}: code {product['code']!r} is listed twice")
    if product.get("names") is not None and not _names_ok(product["names"]):
        problems.append(f"{where}: names must map each language to a text")
    for key in WHOLE_NUMBERS:
        value = product.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            problems.append(f"{where}: {key} must be a whole number (XOF has no cents)")
    copay = product.get("copay_percent")
    if isinstance(copay, int) and copay > 100:
        problems.append(f"{where}: copay_percent must be between 0 and 100")
    window = product.get("window")
    if window is not None and (
        not isinstance(window, dict)
        or not _month_day_ok(window.get("opens", ""))
        or not _month_day_ok(window.get("closes", ""))
    ):
        problems.append(f'{where}: window needs opens and closes as "MM-DD"')
    return problems + _calendar_problems(where, product) + _band_problems(where, product)


def _calendar_problems(where: str, product: dict[str, Any]) -> list[str]:
    problems = []
    kind = product.get("cover_kind", CoverKind.ROLLING)
    if kind not in tuple(CoverKind):
        problems.append(f"{where}: cover_kind must be one of {', '.join(CoverKind)}, not {kind!r}")
    starts = product.get("year_starts")
    if kind == CoverKind.SCHEME_YEAR and not _month_day_ok(starts or ""):
        problems.append(f'{where}: a scheme_year needs year_starts as "MM-DD" (e.g. "09-01")')
    if kind == CoverKind.ROLLING and starts is not None:
        problems.append(f"{where}: year_starts is for cover_kind scheme_year only")
    late = product.get("late_joiners", LateJoiners.FULL)
    if late not in tuple(LateJoiners):
        problems.append(f"{where}: late_joiners must be one of {', '.join(LateJoiners)}")
    threshold = product.get("cover_threshold_percent")
    if isinstance(threshold, int) and not 1 <= threshold <= 100:
        problems.append(f"{where}: cover_threshold_percent must be between 1 and 100")
    return problems


def _band_problems(where: str, product: dict[str, Any]) -> list[str]:
    bands = product.get("person_prices")
    if bands is None:
        return []
    if not isinstance(bands, list) or not bands:
        return [f"{where}: person_prices must be a list of bands (category, max_age, premium)"]
    problems: list[str] = []
    if product.get("household_premium") is not None:
        problems.append(f"{where}: person_prices cannot go with a household_premium")
    previous = -1
    for j, band in enumerate(bands):
        at = f"{where}.person_prices[{j}]"
        if not isinstance(band, dict) or not band.get("category"):
            problems.append(f"{at}: needs category, max_age and premium")
            continue
        if band["category"] == "adult":
            problems.append(f"{at}: adult is the category of whoever no band matches")
        age, premium = band.get("max_age"), band.get("premium")
        if not isinstance(age, int) or not _whole(age) or not _whole(premium):
            problems.append(f"{at}: max_age and premium must be whole numbers")
            continue
        if age <= previous:
            problems.append(f"{at}: max_age must increase from band to band")
        previous = age
        if band.get("names") is not None and not _names_ok(band["names"]):
            problems.append(f"{at}: names must map each language to a text")
    return problems


def _free_care_problems(where: str, free_care: object, sponsors: set[str]) -> list[str]:
    if not isinstance(free_care, dict):
        return [f"{where}: free_care must be a mapping (sponsor, under_age, pregnancy, indigent)"]
    problems = [
        f"{where}: free_care has no {key!r} (known: {', '.join(sorted(FREE_CARE_KEYS))})"
        for key in free_care
        if key not in FREE_CARE_KEYS
    ]
    if free_care.get("sponsor") not in sponsors:
        problems.append(
            f"{where}: free_care sponsor {free_care.get('sponsor')!r} is not a sponsor of this file"
        )
    age = free_care.get("under_age")
    if age is not None and (not isinstance(age, int) or not _whole(age) or age < 1):
        problems.append(f"{where}: free_care under_age must be a whole number of years")
    for key in ("pregnancy", "indigent"):
        if not isinstance(free_care.get(key, False), bool):
            problems.append(f"{where}: free_care {key} is true or false")
    if age is None and not free_care.get("pregnancy") and not free_care.get("indigent"):
        problems.append(f"{where}: free_care names no one (under_age, pregnancy or indigent)")
    return problems


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def load(session: Session, document: dict[str, Any]) -> LoadReport:
    # Changed prices reach every process's next enrolment (gateway.enrolment.rules_cache).
    with rules_watched(session):
        return _load(session, document)


def _load(session: Session, document: dict[str, Any]) -> LoadReport:
    problems = validate(document)
    if problems:
        raise SchemeError(problems)
    units = {u.code: u for u in session.scalars(select(models.SchemeUnit))}
    for spec in document.get("units") or []:
        parent = units.get(spec["parent"]) if spec.get("parent") else None
        unit = units.get(spec["code"]) or models.SchemeUnit(code=spec["code"])
        unit.level, unit.name = spec["level"], spec["name"]
        unit.parent_id = parent.id if parent else None
        unit.path = f"{parent.path}/{spec['code']}" if parent else spec["code"]
        unit.department = spec.get("department")
        unit.commune = spec.get("commune")
        unit.arrondissement = spec.get("arrondissement")
        unit.payment_provider = spec.get("payment_provider")
        session.add(unit)
        session.flush()
        units[unit.code] = unit
    occupations = {o.code: o for o in session.scalars(select(models.Occupation))}
    for position, spec in enumerate(document.get("occupations") or []):
        occupation = occupations.get(spec["code"]) or models.Occupation(code=spec["code"])
        occupation.names, occupation.position = dict(spec["names"]), position
        session.add(occupation)
    products = {p.code: p for p in session.scalars(select(models.Product))}
    for spec in document.get("products") or []:
        product = products.get(spec["code"]) or models.Product(code=spec["code"])
        window = spec.get("window") or {}
        product.unit_id = units[spec["offered_by"]].id
        product.names = dict(spec["names"])
        product.target_group = spec.get("target_group", "families")
        product.premium_per_person = spec["premium_per_person"]
        product.household_premium = spec.get("household_premium")
        product.max_members = spec.get("max_members")
        product.window_start, product.window_end = window.get("opens"), window.get("closes")
        product.waiting_days = spec.get("waiting_days", 30)
        product.cover_months = spec.get("cover_months", 12)
        product.grace_days = spec.get("grace_days", 30)
        product.copay_percent = spec.get("copay_percent", 0)
        product.benefits = list(spec.get("benefits", []))
        product.active = spec.get("active", True)
        product.cover_kind = spec.get("cover_kind", CoverKind.ROLLING)
        product.year_starts = spec.get("year_starts")
        product.late_joiners = spec.get("late_joiners", LateJoiners.FULL)
        product.renewal_opens_days = spec.get("renewal_opens_days", 60)
        product.cover_threshold_percent = spec.get("cover_threshold_percent", 100)
        product.min_part_payment = spec.get("min_part_payment", DEFAULT_MIN_PART_PAYMENT)
        product.person_prices = (
            [dict(b) for b in spec["person_prices"]] if spec.get("person_prices") else None
        )
        product.free_care = dict(spec["free_care"]) if spec.get("free_care") else None
        session.add(product)
    session.flush()
    _load_sponsors(session, document)
    return LoadReport(
        units=len(document.get("units") or []),
        products=len(document.get("products") or []),
        occupations=len(document.get("occupations") or []),
    )


def _load_sponsors(session: Session, document: dict[str, Any]) -> None:
    sponsors = {s.code: s for s in session.scalars(select(models.Sponsor))}
    for spec in document.get("sponsors") or []:
        sponsor = sponsors.get(spec["code"]) or models.Sponsor(code=spec["code"])
        sponsor.name = spec["name"]
        sponsor.waits_for_payment = spec.get("activation", "member_share") == "sponsor_paid"
        session.add(sponsor)
        sponsors[sponsor.code] = sponsor
    session.flush()
    products = {p.code: p for p in session.scalars(select(models.Product))}
    for spec in document.get("subsidies") or []:
        sponsor, product = sponsors[spec["sponsor"]], products[spec["product"]]
        category = spec.get("category")
        subsidy = session.scalar(
            select(models.Subsidy).where(
                models.Subsidy.sponsor_id == sponsor.id,
                models.Subsidy.product_id == product.id,
                models.Subsidy.category.is_(None)
                if category is None
                else models.Subsidy.category == category,
            )
        ) or models.Subsidy(sponsor_id=sponsor.id, product_id=product.id, category=category)
        subsidy.percent = spec.get("percent")
        subsidy.amount_per_person = spec.get("amount_per_person")
        session.add(subsidy)
    session.flush()


def describe(session: Session) -> dict[str, Any]:
    """The loaded scheme as plain data, for `alafia scheme show`."""
    units = session.scalars(select(models.SchemeUnit).order_by(models.SchemeUnit.path)).all()
    by_id = {u.id: u for u in units}
    products = session.scalars(select(models.Product).order_by(models.Product.code)).all()
    return {
        "units": [
            {"code": u.code, "level": u.level, "name": u.name, "commune": u.commune, "path": u.path}
            for u in units
        ],
        "products": [
            {
                "code": p.code,
                "offered_by": by_id[p.unit_id].code,
                "names": p.names,
                "premium_per_person": p.premium_per_person,
                "household_premium": p.household_premium,
                "max_members": p.max_members,
                "window": {"opens": p.window_start, "closes": p.window_end}
                if p.window_start
                else None,
                "waiting_days": p.waiting_days,
                "cover_months": p.cover_months,
                "cover_kind": p.cover_kind,
                "year_starts": p.year_starts,
                "late_joiners": p.late_joiners,
                "renewal_opens_days": p.renewal_opens_days,
                "cover_threshold_percent": p.cover_threshold_percent,
                "min_part_payment": p.min_part_payment,
                "person_prices": p.person_prices,
                "free_care": p.free_care,
                "active": p.active,
            }
            for p in products
        ],
    }


def is_empty(session: Session) -> bool:
    return session.scalar(select(models.SchemeUnit.id).limit(1)) is None


DEMO_SCHEME = Path(__file__).parent / "data" / "demo_scheme.yaml"
