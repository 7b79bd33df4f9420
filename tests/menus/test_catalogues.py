"""The shipped catalogues: complete, consistent, GSM-7, and every screen fits unclipped.

The last part drives the engine through every screen of every journey, in every
language, at 160 and 182 characters, with the longest data people can type or a scheme
can hold, and records what `screens.render` made of each screen, page by page.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

import gateway
import menus
from menus import gsm, parsers, screens
from menus.context import MenuContext, Mutual, Occupation, Product, SchemeSnapshot
from menus.effects import CheckEligibility, EnrolHousehold
from menus.engine import Engine, Step
from menus.identifiers import member_number
from menus.journeys import all_journeys, facility, nodes_with
from menus.nodes import Ask, Menu, Option, Outcome, Say
from menus.parsers import MAX_NAME
from menus.state import SessionState
from menus.text import Catalogue, T, load_catalogues
from menus.values import CoverageStatus

CATALOGUES = load_catalogues()
LANGUAGES = sorted(CATALOGUES)
LIMITS = (160, 182)
MENUS_SOURCE = Path(menus.__file__).parent
GATEWAY_SOURCE = Path(gateway.__file__).parent
# Keys the Catalogue itself reads to format values, not named by any journey.
FORMAT_KEYS = {"language_name", "date_format", "money", "thousands_separator"}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# -- completeness --------------------------------------------------------------------


def test_french_and_english_are_shipped() -> None:
    assert {"fr", "en"} <= set(CATALOGUES)


def test_the_worst_case_names_are_the_longest_allowed() -> None:
    for name in (LONG_FAMILY_NAME, LONG_FIRST_NAMES, LONG_DEPENDANT):
        assert len(name) == MAX_NAME
        assert parsers.clean_name(name) == name


@pytest.mark.parametrize(("one", "other"), list(combinations(LANGUAGES, 2)))
def test_every_key_exists_in_every_catalogue(one: str, other: str) -> None:
    keys, other_keys = set(CATALOGUES[one].texts), set(CATALOGUES[other].texts)
    assert keys - other_keys == set(), f"missing from {other}"
    assert other_keys - keys == set(), f"missing from {one}"


@pytest.mark.parametrize(("one", "other"), list(combinations(LANGUAGES, 2)))
def test_every_text_takes_the_same_parameters_in_every_language(one: str, other: str) -> None:
    for key, template in CATALOGUES[one].texts.items():
        assert placeholders(template) == placeholders(CATALOGUES[other].texts[key]), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_texts_are_non_empty_strings(language: str) -> None:
    for key, text in CATALOGUES[language].texts.items():
        if key == "thousands_separator":
            assert len(text) == 1  # a space in French, a comma in English
            continue
        assert isinstance(text, str) and text.strip(), key
        assert text == text.strip(), f"{key}: stray spaces around the text"


def _sources() -> Iterator[tuple[Path, str]]:
    for root in (MENUS_SOURCE, GATEWAY_SOURCE):
        for path in sorted(root.rglob("*.py")):
            yield path, path.read_text("utf-8")


def keys_in_source() -> tuple[set[str], set[str]]:
    """Literal keys, and the prefixes of f-string keys, named in menus/ and gateway/."""
    literal: set[str] = set()
    prefixes: set[str] = set()
    for _, source in _sources():
        literal |= set(re.findall(r"\b[Tt]\(\s*\"([a-z0-9_]+)\"", source))
        literal |= set(re.findall(r"_notice\([^()]*?,\s*\"([a-z0-9_]+)\"\)", source))
        prefixes |= set(re.findall(r"\bT\(\s*f\"([a-z0-9_]+)\{", source))
    return literal, prefixes


def member_number_reasons() -> set[str]:
    source = (MENUS_SOURCE / "identifiers.py").read_text("utf-8")
    return set(re.findall(r"MemberNumberError\(\"(\w+)\"\)", source))


STATUSES = {
    CoverageStatus.PENDING_PAYMENT,
    CoverageStatus.WAITING,
    CoverageStatus.ACTIVE,
    CoverageStatus.GRACE,
    CoverageStatus.LAPSED,
    CoverageStatus.CANCELLED,
}


def referenced_keys() -> set[str]:
    literal, prefixes = keys_in_source()
    # Every f-string key is listed here with the values it can take: a new one must be too.
    expansions = {
        "status_": STATUSES,
        "error_member_no_": member_number_reasons(),
        "facility_not_covered_": set(facility.NOT_COVERED_REASONS),
    }
    assert prefixes == set(expansions)
    assert member_number_reasons() == {"format", "check_digit"}
    return literal | {prefix + value for prefix, values in expansions.items() for value in values}


def test_the_source_scan_finds_the_keys_it_should() -> None:
    literal, _ = keys_in_source()
    # one of each way a key is named: a plain T, a T split over lines, a gateway notice
    assert {"ask_mutual", "product_label_household", "enrol_summary", "bad_request"} <= literal


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_named_in_the_code_exists(language: str) -> None:
    missing = referenced_keys() - set(CATALOGUES[language].texts)
    assert missing == set()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_text_is_used(language: str) -> None:
    unused = set(CATALOGUES[language].texts) - referenced_keys() - FORMAT_KEYS
    assert unused == set()


def _keys_of(value: Any) -> Iterator[str]:
    if isinstance(value, T):
        yield value.key
        for param in value.params.values():
            yield from _keys_of(param)
    elif isinstance(value, Option):
        yield from _keys_of(value.label)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _keys_of(item)


def test_every_key_in_the_journey_definitions_exists() -> None:
    named: set[str] = set()
    for journey in all_journeys():
        if journey.entry is not None:
            named |= set(_keys_of(journey.entry.label))
        for node in journey.nodes:
            for attribute in ("prompt", "options", "lines"):
                named |= set(_keys_of(getattr(node, attribute, None)))
    assert {"home_title", "ask_head_last_name", "sex_female", "menu_enrol", "confirm"} <= named
    for language in LANGUAGES:
        assert named - set(CATALOGUES[language].texts) == set(), language


# -- GSM-7 ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "en"])
def test_french_and_english_texts_are_gsm7(language: str) -> None:
    outside = {
        key: sorted({ch for ch in text if not gsm.is_gsm7(ch)})
        for key, text in CATALOGUES[language].texts.items()
        if not gsm.is_gsm7(text)
    }
    assert outside == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_names_are_gsm7(language: str) -> None:
    # Every language's own name is on the one language screen, whatever its script.
    assert gsm.is_gsm7(CATALOGUES[language].texts["language_name"])


class _ShuffledDir:
    """The catalogues directory, listed in the order a different file system might use."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def iterdir(self) -> Iterator[Any]:
        return reversed(list(self.real.iterdir()))


class _Package:
    def __init__(self, real: Any) -> None:
        self.real = real

    def joinpath(self, name: str) -> Any:
        return _ShuffledDir(self.real.joinpath(name))


def test_the_language_order_does_not_depend_on_the_file_system(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    here = list(load_catalogues())
    real_files = resources.files
    monkeypatch.setattr(resources, "files", lambda package: _Package(real_files(package)))
    assert list(load_catalogues()) == here


# -- every screen, worst case --------------------------------------------------------

LONG_COMMUNES = ("Gogounou-Ségbana", "Kalalé-Nikki", "Tchaourou-Parakou")
LONG_MUTUALS = tuple(
    Mutual(
        f"MS-{n}",
        f"Mutuelle de santé communautaire de l'arrondissement {n} de {commune}"[:64],
        commune,
    )
    for n, commune in enumerate(LONG_COMMUNES * 3, start=1)
)
ALL_CODES = frozenset(m.code for m in LONG_MUTUALS)
LARGEST_PREMIUM = 99_999  # per person, 16 persons: 1 599 984 FCFA
LARGEST_AMOUNT = 9_999_999
WORST_SCHEME = SchemeSnapshot(
    mutuals=LONG_MUTUALS,
    products=(
        Product(
            "FAMILLE",
            {"fr": "Famille solidaire élargie", "en": "Extended solidarity family"},
            ALL_CODES,
            premium_per_person=LARGEST_PREMIUM,
        ),
        Product(
            "MENAGE",
            {"fr": "Forfait ménage tout compris", "en": "All-inclusive household plan"},
            ALL_CODES,
            premium_per_person=LARGEST_PREMIUM,
            household_premium=LARGEST_AMOUNT,
        ),
        Product(
            "SCOLAIRE",
            {"fr": "Élèves et étudiants", "en": "Pupils and students"},
            ALL_CODES,
            premium_per_person=LARGEST_PREMIUM,
            max_members=1,
        ),
        Product(
            "CAMPAGNE",
            {"fr": "Campagne annuelle famille", "en": "Yearly family campaign"},
            ALL_CODES,
            premium_per_person=LARGEST_PREMIUM,
            window=((12, 1), (12, 15)),
        ),
    ),
    occupations=tuple(
        Occupation(code, names)
        for code, names in (
            ("moto_taxi", {"fr": "Zémidjan (conducteur de taxi-moto)", "en": "Moto-taxi driver"}),
            ("trader", {"fr": "Commerçant(e) ou revendeuse", "en": "Trader or street seller"}),
            ("farmer", {"fr": "Agriculteur ou éleveur", "en": "Farmer or herder"}),
            ("pupil", {"fr": "Élève ou étudiant(e)", "en": "Pupil or student"}),
            ("artisan", {"fr": "Artisan ou ouvrier", "en": "Craftsperson or worker"}),
            ("other", {"fr": "Autre activité", "en": "Other occupation"}),
        )
    ),
)
TODAY = date(2026, 11, 23)  # the yearly campaign is closed: it opens on 1 December
PHONE = "+2290197000101"
LONGEST_NUMBER = member_number(89_999_999)
LONGEST_PHONE = "+436641234567890"  # E.164 allows 15 digits: a payer may type any number
# The longest names the parsers take (40 letters each), as people in Benin write them.
LONG_FAMILY_NAME = "Hounkpatin-Agbodjogbe Dossou-Yovo Akpaki"
LONG_FIRST_NAMES = "Marie-Thérèse Adjoa Sènami Gbèmisola Ayo"
LONG_DEPENDANT = "Agbodjogbe Marie-Josée Sènami Adjoavi Ay"
LARGEST_HOUSEHOLD = 16  # the head and 15 dependants, the most without a product cap
WRONG = {
    "main.resume": "99",
    "main.language": "99",
    "main.home": "99",
    "enrol.commune": "99",
    "enrol.mutual": "99",
    "enrol.product": "99",
    "enrol.last_name": "1",
    "enrol.first_names": "1",
    "enrol.sex": "99",
    "enrol.birth": "x",
    "enrol.occupation": "99",
    "enrol.national_id": "12",
    "enrol.household_size": "99",
    "enrol.dep_name": "1",
    "enrol.dep_sex": "99",
    "enrol.dep_birth": "x",
    "enrol.dep_relation": "99",
    "enrol.summary": "99",
    "check.number": "100000012",
    "pay.whose": "99",
    "pay.other_household": "100000012",
    "pay.amount": "99",
    "pay.part": "x",
    "pay.payer": "99",
    "pay.payer_phone": "12",
    "pay.confirm": "99",
    "enrol.household_phone": "12",
    "agent.pin": "1",
    "agent.pin_again": "1",
    "agent.new_pin": "1111",
    "agent.code": "1",
    "agent.code_again": "1",
    "agent.pin_twice": "1",
    "agent.pin_mismatch": "1",
    "agent.old_pin": "1",
    "agent.menu": "99",
    "agent.pin_saved": "99",
    "agent.add_no": "1",
    "agent.add_name": "1",
    "agent.add_sex": "99",
    "agent.add_birth": "x",
    "agent.add_relation": "99",
    "agent.add_confirm": "99",
    "agent.cash_no": "1",
    "agent.cash_amount": "x",
    "agent.cash_payer": "1",
    "agent.cash_confirm": "99",
    "agent.look_no": "1",
}


def coverage_view(status: str) -> dict[str, Any]:
    return {
        "status": status,
        "start": "2026-12-31",
        "end": "2027-12-30",
        "amount_paid": LARGEST_AMOUNT,
        "amount_due": LARGEST_AMOUNT,
    }


@dataclass
class Shown:
    node: str
    pages: list[screens.Rendered]


@dataclass
class Tour:
    """Drives the engine and keeps every screen it showed, with all of its pages."""

    engine: Engine
    language: str
    limit: int
    shown: list[Shown] = field(default_factory=list)
    rendered: list[list[screens.Rendered]] = field(default_factory=list)

    def context(
        self,
        scheme: SchemeSnapshot = WORST_SCHEME,
        resume: dict[str, Any] | None = None,
        payments: bool = False,
    ) -> MenuContext:
        languages = {code: CATALOGUES[code].texts["language_name"] for code in LANGUAGES}
        return MenuContext(scheme, TODAY, self.limit, languages, payments=payments, resume=resume)

    def record(self, step: Step) -> Step:
        if step.reply is not None:
            assert gsm.fits(step.reply, self.limit), step.reply
            assert len(self.rendered) == 1
            self.shown.append(Shown(step.state.node, self.rendered.pop()))
        else:
            assert not self.rendered
        return step

    def start(self, caller: dict[str, Any], **context: Any) -> Session:
        ctx = self.context(**context)
        return Session(self, ctx, self.record(self.engine.start(ctx, self.language, caller)))


@dataclass
class Session:
    tour: Tour
    ctx: MenuContext
    step: Step

    @property
    def node(self) -> str:
        return self.step.state.node

    def type(self, *answers: str, wrong_first: bool = False) -> Session:
        for answer in answers:
            if wrong_first and self.node in WRONG:
                self._advance(WRONG[self.node])
            self._advance(answer)
        return self

    def _advance(self, answer: str) -> None:
        assert self.step.effect is None
        state = SessionState.loads(self.step.state.dumps())
        self.step = self.tour.record(self.tour.engine.advance(state, answer, self.ctx))

    def resume(self, result: Any) -> Session:
        assert self.step.effect is not None
        self.step = self.tour.record(self.tour.engine.resume(self.step.state, result, self.ctx))
        return self


def enrol_to_summary(tour: Tour, product: str = "1", wrong_first: bool = True) -> Session:
    known = {"phone": PHONE, "language": tour.language, "member_no": LONGEST_NUMBER}
    session = tour.start(known).type("1", "1", "1", product, wrong_first=wrong_first)
    assert session.node == "enrol.last_name"
    session.type(LONG_FAMILY_NAME, LONG_FIRST_NAMES, "2", "1990", "1", wrong_first=wrong_first)
    session.type("1", wrong_first=wrong_first)  # no NPI
    if session.node == "enrol.household_size":
        session.type(str(LARGEST_HOUSEHOLD), wrong_first=wrong_first)
        for _ in range(LARGEST_HOUSEHOLD - 1):
            session.type(LONG_DEPENDANT, "1", "15041988", "4", wrong_first=wrong_first)
    assert session.node == "enrol.summary"
    return session


def tour_everything(tour: Tour) -> None:
    known = {"phone": PHONE, "language": tour.language, "member_no": LONGEST_NUMBER}
    # a new caller: the language screen, then home without "my rights"
    tour.start({"phone": PHONE}).type(str(LANGUAGES.index(tour.language) + 1), wrong_first=True)
    # a member: home, a change of language remembered
    session = tour.start(known).type("4", wrong_first=True)
    session.type(str(LANGUAGES.index(tour.language) + 1)).resume(None)
    assert session.node == "main.home"

    # enrolment, the largest household, every answer first typed wrong once
    enrolled = enrol_to_summary(tour)
    snapshot = json.loads(json.dumps(tour.engine.resumable(enrolled.step.state)))
    enrolled.type("1", wrong_first=True)
    assert isinstance(enrolled.step.effect, EnrolHousehold)
    for outcome in ("enrolled", "duplicate", "closed", "full"):
        result = {
            "outcome": outcome,
            "member_no": LONGEST_NUMBER,
            "premium_due": LARGEST_AMOUNT,
            "persons": LARGEST_HOUSEHOLD,
            "opens_on": "2027-12-01" if outcome == "closed" else None,
        }
        session = enrol_to_summary(tour, wrong_first=False).type("1").resume(result)
        assert session.step.state.ended
    # a household product and a one-person product, then cancel
    enrol_to_summary(tour, product="2", wrong_first=False).type("2")
    enrol_to_summary(tour, product="3", wrong_first=False).type("2")
    # a closed campaign, and no mutual at all
    tour.start(known).type("1", "1", "1", "4")
    tour.start(known, scheme=SchemeSnapshot()).type("1")

    # a dropped enrolment offered back
    assert snapshot is not None
    tour.start(known, resume=snapshot).type("1", wrong_first=True)

    # three wrong answers in a row
    session = tour.start(known).type("1", "1", "1", "1", "1", "1", "1")
    assert session.step.state.ended

    # my rights: nothing, then every status with a household of sixteen
    members = [
        {"member_no": LONGEST_NUMBER, "first_names": LONG_FIRST_NAMES, "initial": "M"}
    ] * LARGEST_HOUSEHOLD
    tour.start(known).type("2").resume({"found": False, "members": [], "coverage": None})
    tour.start(known).type("2").resume({"found": True, "members": members, "coverage": None})
    for status in sorted(STATUSES):
        rights = {"found": True, "members": members, "coverage": coverage_view(status)}
        tour.start(known).type("2").resume(rights)

    # checking a member number: wrong format, wrong digit, unknown, every status
    tour.start(known).type("3", "1", "100000012", LONGEST_NUMBER).resume(
        {"found": False, "member_no": LONGEST_NUMBER, "initial": "", "coverage": None}
    )
    for status in sorted(STATUSES):
        status_result = {
            "found": True,
            "member_no": LONGEST_NUMBER,
            "initial": "M",
            "coverage": coverage_view(status),
        }
        tour.start(known).type("3", LONGEST_NUMBER).resume(status_result)

    tour_facility(tour)
    tour_payments(tour)
    tour_agent(tour)


AGENT = {"phone": PHONE, "agent_id": 7, "agent_mutual": "MS-1"}
PIN = "4826"
CODE = "48260371"


def _pin_check(outcome: str, left: int = 4) -> dict[str, Any]:
    return {"outcome": outcome, "attempts_left": left, "locked_until": "23:59"}


def agent_menu(tour: Tour) -> Session:
    session = tour.start(AGENT).resume(_pin_check("ok")).type(PIN).resume(_pin_check("ok"))
    assert session.node == "agent.menu"
    return session


def found_household(coverage: dict[str, Any] | None, persons: int = 15) -> dict[str, Any]:
    member = {"member_no": LONGEST_NUMBER, "first_names": LONG_FIRST_NAMES, "initial": "M"}
    return {
        "outcome": "found",
        "member_no": LONGEST_NUMBER,
        "head_last_name": LONG_FAMILY_NAME,
        "head_first_names": LONG_FIRST_NAMES,
        "persons": persons,
        "max_persons": LARGEST_HOUSEHOLD,
        "premium_per_added": LARGEST_AMOUNT,
        "coverage": coverage,
        "members": [member] * persons,
    }


def tour_agent(tour: Tour) -> None:
    """An agent's phone: the PIN in every state, then every action and its outcomes."""
    # the activation code: too short, wrong, then right
    session = tour.start(AGENT).resume(_pin_check("no_pin")).type(CODE, wrong_first=True)
    session.resume(_pin_check("wrong")).type(CODE, wrong_first=True)
    session.resume({**_pin_check("ok"), "grant": "g"})
    assert session.node == "agent.new_pin"
    for outcome in ("locked", "blocked", "no_code", "code_expired", "disabled"):
        session = tour.start(AGENT).resume(_pin_check("no_pin")).type(CODE)
        assert session.resume(_pin_check(outcome)).step.state.ended
    # the first PIN: too simple, typed differently twice, then kept
    session = tour.start(AGENT).resume(_pin_check("no_pin")).type(CODE)
    session.resume({**_pin_check("ok"), "grant": "g"}).type(PIN, wrong_first=True)
    session.resume(True).type(PIN, wrong_first=True).resume({"outcome": "mismatch"})
    session.type(PIN, wrong_first=True).resume(True).type(PIN)
    session.resume({"outcome": "set"}).type("99")
    assert session.node == "agent.pin_saved"
    # a wrong PIN, then the right one; locked; disabled
    session = tour.start(AGENT).resume(_pin_check("ok")).type(PIN, wrong_first=True)
    session.resume(_pin_check("wrong")).type(PIN, wrong_first=True).resume(_pin_check("ok"))
    assert session.node == "agent.menu"
    for outcome in ("locked", "blocked", "disabled", "no_code", "code_expired"):
        assert tour.start(AGENT).resume(_pin_check(outcome)).step.state.ended
    agent_menu(tour).type("99")

    # a household for someone else, on a one-person product
    for outcome in ("enrolled", "duplicate"):
        session = agent_menu(tour).type("1", LONGEST_PHONE, "3", wrong_first=True)
        assert session.node == "enrol.last_name", session.node
        session.type(LONG_FAMILY_NAME, LONG_FIRST_NAMES, "2", "1990", "1", "1", "1")
        result = {
            "outcome": outcome,
            "member_no": LONGEST_NUMBER,
            "premium_due": LARGEST_AMOUNT,
            "persons": 1,
            "opens_on": None,
        }
        assert isinstance(session.step.effect, EnrolHousehold)
        assert session.step.effect.phone == LONGEST_PHONE
        session.resume(result)

    # a member added: every outcome, a full household, cancelled
    coverage = coverage_view("active")
    for outcome in ("added", "duplicate", "full", "other_mutual", "unknown_member", "no_period"):
        wrong_first = outcome == "added"
        session = agent_menu(tour).type("2", LONGEST_NUMBER, wrong_first=wrong_first)
        session.resume(found_household(coverage)).type(
            LONG_DEPENDANT, "2", "15041988", "4", "1", wrong_first=wrong_first
        )
        session.resume({"outcome": outcome, "member_no": LONGEST_NUMBER, "amount_due": 1})
        assert session.step.state.ended, outcome
    agent_menu(tour).type("2", LONGEST_NUMBER).resume(found_household(coverage, persons=16))
    session = agent_menu(tour).type("2", LONGEST_NUMBER).resume(found_household(coverage))
    session.type(LONG_DEPENDANT, "2", "15041988", "4", "2")
    assert session.node == "agent.cancelled"
    for outcome in ("other_mutual", "unknown_member", "disabled"):
        session = agent_menu(tour).type("2", LONGEST_NUMBER)
        session.resume({**found_household(None), "outcome": outcome})

    # cash: every outcome, and a household that owes nothing
    for outcome in ("recorded", "above_due", "nothing_due", "bad_amount"):
        wrong_first = outcome == "recorded"
        session = agent_menu(tour).type("3", LONGEST_NUMBER, wrong_first=wrong_first)
        # the worst case first: a mobile payment of the household awaits its payer
        pending = LARGEST_AMOUNT if wrong_first else 0
        session.resume({**found_household(coverage), "pending_mobile": pending})
        assert session.node == "agent.cash_amount"
        session.type(str(LARGEST_AMOUNT), LONG_FIRST_NAMES, "1", wrong_first=wrong_first)
        cash = {
            "outcome": outcome,
            "receipt_no": "261123-ABCDEF1234",
            "amount": LARGEST_AMOUNT,
            "amount_due": LARGEST_AMOUNT,
        }
        session.resume(cash)
        assert session.step.state.ended, outcome
    paid = {**coverage, "amount_due": 0}
    agent_menu(tour).type("3", LONGEST_NUMBER).resume(found_household(paid))

    # a look-up of the largest household, the agent's figures, a change of PIN
    session = agent_menu(tour).type("4", LONGEST_NUMBER, wrong_first=True)
    session.resume(found_household(coverage, persons=16))
    big = 99_999
    figures = {
        "households_today": big,
        "members_today": big,
        "cash_today": LARGEST_AMOUNT,
        "households_campaign": big,
        "members_campaign": big,
        "cash_campaign": LARGEST_AMOUNT * 99,
        "campaign_since": "2026-09-01",
        "cash_held": LARGEST_AMOUNT * 99,
    }
    agent_menu(tour).type("5").resume(figures)
    session = agent_menu(tour).type("6", PIN, wrong_first=True).resume(_pin_check("ok"))
    assert session.node == "agent.new_pin"


def tour_facility(tour: Tour) -> None:
    """A facility's desk phone: its entry comes first; every answer a check can give."""
    desk = {"phone": PHONE, "language": tour.language, "facility_id": 7}
    answer = {
        "member_no": LONGEST_NUMBER,
        "end": "2027-12-22",
        "grace_until": "2028-01-21",
        "waiting_until": "2026-12-22",
        "copay_percent": 100,
        "first_name": LONG_FIRST_NAMES.split()[0],
        "initial": "M",
        "source": "local",
    }
    session = tour.start(desk).type("1", "1", "100000012", LONGEST_NUMBER)
    assert isinstance(session.step.effect, CheckEligibility)
    session.resume({**answer, "outcome": "unknown_member", "status": None})
    cases = [("covered", "active", "local"), ("covered", "grace", "register")]
    cases += [("register_unavailable", None, "register")]
    cases += [("not_covered", s, "local") for s in facility.NOT_COVERED_REASONS]
    cases += [("not_covered", "waiting", "register")]
    for outcome, status, source in cases:
        result = {**answer, "outcome": outcome, "status": status, "source": source}
        tour.start(desk).type("1", LONGEST_NUMBER).resume(result)


def tour_payments(tour: Tour) -> None:
    """The pay journey, where mobile money is configured (its entry is second then)."""
    known = {"phone": PHONE, "language": tour.language, "member_no": LONGEST_NUMBER}
    due = {"found": True, "member_no": LONGEST_NUMBER, "initial": "M"}
    owing = {**due, "amount_due": LARGEST_AMOUNT}
    # the own household, a part of the largest amount, from the longest other number
    for outcome in ("started", "no_provider", "nothing_due", "above_limit", "refused"):
        wrong_first = outcome == "started"
        session = tour.start(known, payments=True).type("2", wrong_first=wrong_first)
        assert session.node == "pay.whose"
        session.type("1", wrong_first=wrong_first).resume(owing)
        assert session.node == "pay.amount"
        session.type("2", str(LARGEST_AMOUNT), "2", LONGEST_PHONE, wrong_first=wrong_first)
        assert session.node == "pay.confirm"
        session.type("1", wrong_first=wrong_first)
        session.resume({"outcome": outcome, "amount": LARGEST_AMOUNT})
        assert session.step.state.ended, outcome
        started = session.node in nodes_with(Outcome.PAYMENT_STARTED)
        assert started == (outcome == "started"), outcome  # as the statistics count it
    # all of it from this phone, then cancelled
    session = tour.start(known, payments=True).type("2", "1").resume(owing).type("1", "1", "2")
    assert session.node == "pay.cancelled"
    # a payment in flight for part of it: shown with what is left, then waited for or
    # cancelled; a start refused because one began meanwhile shows the same screen
    pending = {"reference": "r", "amount": LARGEST_AMOUNT, "payer": "+229 01 97 ** ** ** 12"}
    in_flight = {**owing, "pending": pending}
    session = tour.start(known, payments=True).type("2", "1").resume(in_flight)
    assert session.node == "pay.pending"
    assert session.type("99", "1").node == "pay.waiting"
    for outcome, node in [
        ("cancelled", "pay.pending_cancelled"),
        ("not_yours", "pay.cancel_not_yours"),
        ("not_pending", "pay.pending_settled"),
    ]:
        session = tour.start(known, payments=True).type("2", "1").resume(in_flight).type("2")
        assert session.resume({"outcome": outcome}).node == node
    session = tour.start(known, payments=True).type("2", "1").resume(owing)
    session.type("1", "1", "1").resume({"outcome": "pending", "amount": 1, "pending": pending})
    assert session.node == "pay.pending"
    # another household: unknown; a new caller starts there, and owes nothing
    session = tour.start(known, payments=True).type("2", "2", wrong_first=True)
    assert session.node == "pay.other_household"
    session.type(LONGEST_NUMBER, wrong_first=True).resume(
        {**due, "found": False, "initial": "", "amount_due": 0}
    )
    assert session.node == "pay.unknown"
    language = str(LANGUAGES.index(tour.language) + 1)
    session = tour.start({"phone": PHONE}, payments=True).type(language, "2", LONGEST_NUMBER)
    session.resume({**due, "amount_due": 0})
    assert session.node == "pay.nothing_due"


@pytest.fixture
def make_tour() -> Any:
    tours: list[Tour] = []
    real_render = screens.render

    def render_all_pages(
        screen: screens.Screen, catalogue: Catalogue, page: int, max_chars: int
    ) -> screens.Rendered:
        first = real_render(screen, catalogue, 0, max_chars)
        pages = [real_render(screen, catalogue, p, max_chars) for p in range(first.pages)]
        tours[-1].rendered.append(pages)
        return real_render(screen, catalogue, page, max_chars)

    def make(language: str, limit: int) -> Tour:
        engine = Engine(all_journeys(), CATALOGUES, renderer=render_all_pages)
        tours.append(Tour(engine, language, limit))
        return tours[-1]

    return make


def screen_nodes() -> set[str]:
    return {
        f"{journey.name}.{node.id}"
        for journey in all_journeys()
        for node in journey.nodes
        if isinstance(node, (Menu, Ask, Say))  # the kinds that show a screen
    }


# The summary repeats the head's full name (up to 40 + 40 letters): its heading pages
# like a list, so it needs no exception below; it is also checked on its own.
SUMMARY = "enrol.summary"


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_screen_fits_unclipped_with_the_longest_data(
    make_tour: Any, language: str, limit: int
) -> None:
    tour: Tour = make_tour(language, limit)
    tour_everything(tour)

    assert screen_nodes() - {shown.node for shown in tour.shown} == set()
    clipped: list[tuple[str, str]] = []
    for shown in tour.shown:
        for page in shown.pages:
            assert gsm.fits(page.body, limit), (shown.node, page.body)
            assert gsm.is_gsm7(page.body) or language not in ("fr", "en"), page.body
            if page.clipped:
                clipped.append((shown.node, page.body))
    assert clipped == []
    paged = {shown.node for shown in tour.shown if len(shown.pages) > 1}
    assert {"enrol.mutual", "rights.show"} <= paged  # the worst case did reach paging


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_summary_with_the_longest_names_keeps_confirm_and_cancel(
    make_tour: Any, language: str, limit: int
) -> None:
    tour: Tour = make_tour(language, limit)
    enrol_to_summary(tour, wrong_first=False)
    summary = tour.shown[-1]
    assert summary.node == SUMMARY
    catalogue = CATALOGUES[language]
    navigation = {catalogue.render(T(key)) for key in ("nav_more", "nav_last_page", "nav_back")}
    lines = [line for page in summary.pages for line in page.body[4:].split("\n")]
    content = [line for line in lines if line not in navigation]
    options = [f"1. {catalogue.render(T('confirm'))}", f"2. {catalogue.render(T('cancel'))}"]
    # the heading's lines page like the options: every one of them whole, in order
    heading_lines = catalogue.texts["enrol_summary"].count("\n") + 1
    assert len(content) == heading_lines + len(options)
    assert content[-2:] == options
    full_name = parsers.display_name(f"{LONG_FAMILY_NAME.upper()} {LONG_FIRST_NAMES}")
    assert content[0].startswith(full_name + ",")
    assert not any(page.clipped for page in summary.pages)
    assert summary.pages[-1].body.endswith("\n" + catalogue.render(T("nav_last_page"))) or (
        len(summary.pages) == 1
    )


def test_the_limits_checked_here_are_the_only_ones_the_gateway_takes() -> None:
    from gateway.settings import ConfigError, Settings

    for limit in LIMITS:
        assert Settings.from_env({"USSD_MAX_CHARS": str(limit)}).ussd_max_chars == limit
    assert Settings.from_env({}).ussd_max_chars in LIMITS
    for outside in (min(LIMITS) - 1, max(LIMITS) + 1, 60):
        with pytest.raises(ConfigError, match="USSD_MAX_CHARS"):
            Settings.from_env({"USSD_MAX_CHARS": str(outside)})
