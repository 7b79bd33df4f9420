"""A tour of every screen of every journey, in one language, with the worst data.

It drives the menu engine as a phone would, through every journey and every outcome an
effect can report, every answer first typed wrong once, with the longest names, numbers
and amounts (worst_case.py), and keeps every page of every screen it showed and the
catalogue keys each screen put into words. `alafia catalogue check` and `import` judge a
catalogue on it; the export derives where each key appears from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.catalogues.worst_case import (
    LARGEST_AMOUNT,
    LARGEST_HOUSEHOLD,
    LONG_DEPENDANT,
    LONG_FAMILY_NAME,
    LONG_FIRST_NAMES,
    LONGEST_NUMBER,
    LONGEST_PHONE,
    PHONE,
    STATUSES,
    TODAY,
    WRONG,
    coverage_view,
    scheme_for,
)
from menus import recorded, screens
from menus.context import MenuContext, SchemeSnapshot
from menus.effects import CheckEligibility, EnrolHousehold, QuoteDue, RenewHousehold
from menus.engine import Engine, Step
from menus.identifiers import member_number
from menus.journeys import all_journeys, facility, nodes_with
from menus.nodes import Outcome
from menus.state import SessionState
from menus.text import Catalogue, T, Text


class TourLost(RuntimeError):
    """The tour did not reach the screen it meant to: the journeys changed under it."""


def expect(condition: object, what: object) -> None:
    if not condition:
        raise TourLost(str(what))


@dataclass
class Shown:
    node: str
    pages: list[screens.Rendered]
    keys: dict[str, int]  # the catalogue keys put into words, and their longest wording


class _Listening(Catalogue):
    """A catalogue that notes which keys it put into words, and how long they came out."""

    def __init__(self, catalogue: Catalogue) -> None:
        super().__init__(catalogue.language, catalogue.texts)
        self.meta = catalogue.meta
        self.heard: dict[str, int] = {}

    def render(self, text: Text) -> str:
        words = super().render(text)
        if isinstance(text, T):
            self.heard[text.key] = max(self.heard.get(text.key, 0), len(words))
        return words


class _EveryPage:
    """The USSD renderer, keeping every page of each screen it puts into words, not only
    the one the session is on (the engine takes it as its renderer)."""

    def __init__(self) -> None:
        self.pages: list[list[screens.Rendered]] = []

    def __call__(
        self, screen: screens.Screen, catalogue: Catalogue, page: int, max_chars: int
    ) -> screens.Rendered:
        first = screens.render(screen, catalogue, 0, max_chars)
        self.pages.append(
            [screens.render(screen, catalogue, p, max_chars) for p in range(first.pages)]
        )
        return screens.render(screen, catalogue, page, max_chars)


@dataclass
class Tour:
    """Drives the engine and keeps every screen it showed, with all of its pages."""

    engine: Engine
    language: str
    limit: int
    shown: list[Shown] = field(default_factory=list)
    every_page: _EveryPage = field(default_factory=_EveryPage)  # filled by a tour's own engine

    @classmethod
    def of(cls, catalogues: Mapping[str, Catalogue], language: str, limit: int) -> Tour:
        """A tour of `language`; the others in `catalogues` with a name are on its
        language menu."""
        named = {
            code: _Listening(catalogue)
            for code, catalogue in catalogues.items()
            if code == language or "language_name" in catalogue.texts
        }
        every_page = _EveryPage()
        engine = Engine(all_journeys(), named, renderer=every_page)
        return cls(engine, language, limit, every_page=every_page)

    @property
    def _listening(self) -> _Listening:
        catalogue = self.engine.catalogues[self.language]
        assert isinstance(catalogue, _Listening)
        return catalogue

    def context(
        self,
        scheme: SchemeSnapshot | None = None,
        resume: dict[str, Any] | None = None,
        payments: bool = False,
        by_voice: bool = False,
    ) -> MenuContext:
        codes = list(self.engine.catalogues)
        languages = {code: self.engine.catalogues[code].texts["language_name"] for code in codes}
        scheme = scheme_for(codes) if scheme is None else scheme
        return MenuContext(
            scheme,
            TODAY,
            self.limit,
            languages,
            payments=payments,
            resume=resume,
            by_voice=by_voice,
        )

    def menu_choice(self) -> str:
        """What to type on the language menu for this tour's language."""
        return str(list(self.engine.catalogues).index(self.language) + 1)

    def record(self, step: Step) -> Step:
        pages = self.every_page.pages
        if step.reply is not None:
            expect(len(pages) == 1, f"one screen per reply at {step.state.node}")
            heard = dict(self._listening.heard)
            self._listening.heard.clear()
            self.shown.append(Shown(step.state.node, pages.pop(), heard))
        else:
            expect(not pages, f"no screen before an effect at {step.state.node}")
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
        expect(self.step.effect is None, f"an answer while {self.node} awaits an effect")
        state = SessionState.loads(self.step.state.dumps())
        self.step = self.tour.record(self.tour.engine.advance(state, answer, self.ctx))

    def at(self, node: str) -> Session:
        expect(self.node == node, f"at {self.node}, not {node}")
        return self

    def resume(self, result: Any) -> Session:
        expect(self.step.effect is not None, f"an effect result at {self.node}, which asked none")
        self.step = self.tour.record(self.tour.engine.resume(self.step.state, result, self.ctx))
        return self


# The head's name as typed on one screen: the family name in capitals, then first names.
HEAD_NAME = f"{LONG_FAMILY_NAME.upper()} {LONG_FIRST_NAMES}"
# This phone heads another household already: the birth question says so (its longest).
ANOTHER_HOUSEHOLD = {"same": None, "other": LONGEST_NUMBER}


def enrol_to_summary(
    tour: Tour,
    persons: int = LARGEST_HOUSEHOLD,
    product: str = "1",
    wrong_first: bool = True,
    payments: bool = False,
) -> Session:
    """The largest household (each dependant a wife: the head's sex is told) or one
    person (asked), with the `product`-th of those that fit."""
    known = {"phone": PHONE, "language": tour.language, "member_no": LONGEST_NUMBER}
    session = tour.start(known, payments=payments).type("1", "1", "1", wrong_first=wrong_first)
    session.at("enrol.head_name")
    session.type(HEAD_NAME, wrong_first=wrong_first).resume(ANOTHER_HOUSEHOLD)
    session.type("1", "1990", "2", str(persons), product, wrong_first=wrong_first)
    for _ in range(persons - 1):
        session.type(LONG_DEPENDANT, "2", "15041988", wrong_first=wrong_first)
    if persons == 1:
        session.type("2", wrong_first=wrong_first)  # the head's sex, no spouse to tell it
    session.resume(ANOTHER_HOUSEHOLD)  # checked again before the summary
    session.at("enrol.summary")
    return session


def result_of(outcome: str, persons: int = LARGEST_HOUSEHOLD) -> dict[str, Any]:
    """An enrolment's result, with the longest values."""
    return {
        "outcome": outcome,
        "member_no": LONGEST_NUMBER,
        "premium_due": LARGEST_AMOUNT,
        "persons": persons,
        "opens_on": "2027-12-01" if outcome == "closed" else None,
    }


def tour_everything(tour: Tour) -> None:
    known = {"phone": PHONE, "language": tour.language, "member_no": LONGEST_NUMBER}
    # a new caller: the language screen, then home without "my rights"
    tour.start({"phone": PHONE}).type(tour.menu_choice(), wrong_first=True).resume(True)
    # a member: home, a change of language remembered
    session = tour.start(known).type("9", wrong_first=True)
    session.type(tour.menu_choice()).resume(None)
    session.at("main.home")
    # a phone heading several households, the longest names: greeted, then picks one
    heads = {**known, "households": [{"member_no": LONGEST_NUMBER, "name": LONG_HEAD}] * 20}
    session = tour.start(heads).type("3", wrong_first=True).at("rights.which")
    session.type("1").resume({"found": False, "members": [], "coverage": None})
    session.at("rights.show_one_of")
    tour.start({**heads, "households": heads["households"][:2]})
    # every entry that does not apply says why (the renewal with and without a date)
    for number in ("2", "3", "5", "6"):
        tour.start({"phone": PHONE, "language": tour.language}).type(number).at("main.why_not")
    tour.start({**known, "renew_opens": "2027-10-23"}).type("5").at("main.why_not")
    tour.start(known).type("5").at("main.why_not")

    # enrolment, the largest household, every answer first typed wrong once
    enrolled = enrol_to_summary(tour)
    snapshot = json.loads(json.dumps(tour.engine.resumable(enrolled.step.state)))
    enrolled.type("1", wrong_first=True)
    expect(isinstance(enrolled.step.effect, EnrolHousehold), "the summary confirmed enrols")
    for outcome in ("enrolled", "duplicate", "closed", "full"):
        session = enrol_to_summary(tour, wrong_first=False).type("1").resume(result_of(outcome))
        expect(session.step.state.ended, f"{session.node} ends the session")
    # with payments on: paying at once, for the household just enrolled
    session = enrol_to_summary(tour, wrong_first=False, payments=True).type("1")
    session.resume(result_of("enrolled")).at("enrolled.pay_now")
    session.type("1", wrong_first=True)
    expect(session.step.effect == QuoteDue(LONGEST_NUMBER), "pays for the new household")
    # a household product and a one-person product, then cancel (asked again, kept, erased)
    session = enrol_to_summary(tour, product="2", wrong_first=False).type("2")
    session.type("2", wrong_first=True).at("enrol.summary")
    enrol_to_summary(tour, persons=1, product="3", wrong_first=False).type("2", "1")
    # the same household already on this phone: told as soon as the name is typed
    session = tour.start(known).type("1", "1", "1", HEAD_NAME)
    session.resume({"same": LONGEST_NUMBER, "other": None}).at("enrol.already")
    # on a call the head's family name is said alone, then the first names
    session = tour.start(known, by_voice=True).type("1", "1", "1")
    session.type(recorded.answer("https://media.example/rec/1.mp3"))
    session.at("enrol.head_first_names").type(LONG_FIRST_NAMES, wrong_first=True)
    # a closed campaign, and no mutual at all
    closed = scheme_for(list(tour.engine.catalogues))
    closed = SchemeSnapshot(closed.mutuals, tuple(p for p in closed.products if p.window))
    tour.start(known, scheme=closed).type("1", "1", "1").at("enrol.closed")
    tour.start(known, scheme=SchemeSnapshot()).type("1")

    # a dropped enrolment offered back
    expect(snapshot is not None, "a dropped enrolment can be resumed")
    tour.start(known, resume=snapshot).type("1", wrong_first=True)
    tour.start(known, resume=snapshot).type("2").at("main.restart").type("2", wrong_first=True)

    # three wrong answers in a row
    session = tour.start(known).type("1", "1", "1", "1", "1", "1")
    expect(session.step.state.ended, f"{session.node} ends the session")

    # my rights: nothing, then every status with a household of sixteen
    members = [
        {"member_no": LONGEST_NUMBER, "first_names": LONG_FIRST_NAMES, "initial": "M"}
    ] * LARGEST_HOUSEHOLD
    tour.start(known).type("3").resume({"found": False, "members": [], "coverage": None})
    tour.start(known).type("3").resume({"found": True, "members": members, "coverage": None})
    for status in sorted(STATUSES):
        rights = {"found": True, "members": members, "coverage": coverage_view(status)}
        tour.start(known).type("3").resume(rights)

    # checking a member number: wrong format, wrong digit, unknown, every status
    tour.start(known).type("4", "1", "100000012", LONGEST_NUMBER).resume(
        {"found": False, "member_no": LONGEST_NUMBER, "initial": "", "coverage": None}
    )
    for status in sorted(STATUSES):
        status_result = {
            "found": True,
            "member_no": LONGEST_NUMBER,
            "initial": "M",
            "coverage": coverage_view(status),
        }
        tour.start(known).type("4", LONGEST_NUMBER).resume(status_result)

    tour_facility(tour)
    tour_payments(tour)
    tour_agent(tour)
    tour_renewal(tour)


# The longest head's name a greeting can show (`gateway.ussd.callers.head_name`).
LONG_HEAD = f"{LONG_FAMILY_NAME.upper()} {LONG_FIRST_NAMES.split()[0]}"
AGENT = {"phone": PHONE, "agent_id": 7, "agent_mutual": "MS-1"}
PIN = "4826"
CODE = "48260371"


def _pin_check(outcome: str, left: int = 4) -> dict[str, Any]:
    return {"outcome": outcome, "attempts_left": left, "locked_until": "23:59"}


def agent_menu(tour: Tour) -> Session:
    session = tour.start(AGENT).resume(_pin_check("ok")).type(PIN).resume(_pin_check("ok"))
    session.at("agent.menu")
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
    session.at("agent.new_pin")
    for outcome in ("locked", "blocked", "no_code", "code_expired", "disabled"):
        session = tour.start(AGENT).resume(_pin_check("no_pin")).type(CODE)
        expect(session.resume(_pin_check(outcome)).step.state.ended, outcome)
    # the first PIN: too simple, typed differently twice, then kept
    session = tour.start(AGENT).resume(_pin_check("no_pin")).type(CODE)
    session.resume({**_pin_check("ok"), "grant": "g"}).type(PIN, wrong_first=True)
    session.resume(True).type(PIN, wrong_first=True).resume({"outcome": "mismatch"})
    session.type(PIN, wrong_first=True).resume(True).type(PIN)
    session.resume({"outcome": "set"}).type("99")
    session.at("agent.pin_saved")
    # a wrong PIN, then the right one; locked; disabled
    session = tour.start(AGENT).resume(_pin_check("ok")).type(PIN, wrong_first=True)
    session.resume(_pin_check("wrong")).type(PIN, wrong_first=True).resume(_pin_check("ok"))
    session.at("agent.menu")
    for outcome in ("locked", "blocked", "disabled", "no_code", "code_expired"):
        expect(tour.start(AGENT).resume(_pin_check(outcome)).step.state.ended, outcome)
    agent_menu(tour).type("99")
    agent_menu(tour).type("0").at("agent.bye")

    # a household for someone else, on a one-person product, with its occupation
    for outcome in ("enrolled", "duplicate"):
        session = agent_menu(tour).type("1", LONGEST_PHONE, wrong_first=True)
        session.at("enrol.head_name")
        session.type(HEAD_NAME).resume({"same": None, "other": None})
        session.type("1990", "2", "1", "1", "3", "2").resume({"same": None, "other": None})
        session.type("1")
        effect = session.step.effect
        expect(isinstance(effect, EnrolHousehold), "an agent's household is enrolled")
        expect(getattr(effect, "phone", None) == LONGEST_PHONE, "for the phone the agent typed")
        session.resume(result_of(outcome, persons=1))

    # a member added: every outcome, a full household, cancelled
    coverage = coverage_view("active")
    for outcome in ("added", "duplicate", "full", "other_mutual", "unknown_member", "no_period"):
        wrong_first = outcome == "added"
        session = agent_menu(tour).type("2", LONGEST_NUMBER, wrong_first=wrong_first)
        session.resume(found_household(coverage)).type(
            LONG_DEPENDANT, "2", "15041988", "4", "1", wrong_first=wrong_first
        )
        session.resume({"outcome": outcome, "member_no": LONGEST_NUMBER, "amount_due": 1})
        expect(session.step.state.ended, outcome)
    agent_menu(tour).type("2", LONGEST_NUMBER).resume(found_household(coverage, persons=16))
    session = agent_menu(tour).type("2", LONGEST_NUMBER).resume(found_household(coverage))
    session.type(LONG_DEPENDANT, "2", "15041988", "4", "2")
    session.at("agent.cancelled")
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
        session.at("agent.cash_amount")
        session.type(str(LARGEST_AMOUNT), LONG_FIRST_NAMES, "1", wrong_first=wrong_first)
        cash = {
            "outcome": outcome,
            "receipt_no": "261123-ABCDEF1234",
            "amount": LARGEST_AMOUNT,
            "amount_due": LARGEST_AMOUNT,
        }
        session.resume(cash)
        expect(session.step.state.ended, outcome)
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
    session.at("agent.new_pin")


def tour_facility(tour: Tour) -> None:
    """A facility's desk phone: its entry is 6; every answer a check can give."""
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
    session = tour.start(desk).type("6", "1", "100000012", LONGEST_NUMBER)
    expect(isinstance(session.step.effect, CheckEligibility), "a desk checks a member")
    session.resume({**answer, "outcome": "unknown_member", "status": None})
    cases: list[tuple[str, str | None, str]] = [
        ("covered", "active", "local"),
        ("covered", "grace", "register"),
    ]
    cases += [("register_unavailable", None, "register")]
    cases += [("not_covered", s, "local") for s in facility.NOT_COVERED_REASONS]
    cases += [("not_covered", "waiting", "register")]
    for outcome, status, source in cases:
        result = {**answer, "outcome": outcome, "status": status, "source": source}
        tour.start(desk).type("6", LONGEST_NUMBER).resume(result)
    # the next patient in the same call, then goodbye
    session = tour.start(desk).type("6", LONGEST_NUMBER).resume(result).type("1", wrong_first=True)
    session.at("facility.number").type(LONGEST_NUMBER).resume(result).type("0").at("facility.bye")


def tour_payments(tour: Tour) -> None:
    """The pay journey, where mobile money is configured (its entry is 2)."""
    known = {"phone": PHONE, "language": tour.language, "member_no": LONGEST_NUMBER}
    due = {"found": True, "member_no": LONGEST_NUMBER, "initial": "M"}
    owing = {**due, "amount_due": LARGEST_AMOUNT}
    # the own household, a part of the largest amount, from the longest other number
    for outcome in ("started", "no_provider", "nothing_due", "above_limit", "refused"):
        wrong_first = outcome == "started"
        session = tour.start(known, payments=True).type("2", wrong_first=wrong_first)
        session.at("pay.whose")
        session.type("1", wrong_first=wrong_first).resume(owing)
        session.at("pay.amount")
        session.type("2", str(LARGEST_AMOUNT), "2", LONGEST_PHONE, wrong_first=wrong_first)
        session.at("pay.confirm")
        session.type("1", wrong_first=wrong_first)
        session.resume({"outcome": outcome, "amount": LARGEST_AMOUNT})
        expect(session.step.state.ended, outcome)
        started = session.node in nodes_with(Outcome.PAYMENT_STARTED)
        expect(started == (outcome == "started"), outcome)  # as the statistics count it
    # all of it from this phone, then cancelled
    session = tour.start(known, payments=True).type("2", "1").resume(owing).type("1", "1", "2")
    session.at("pay.cancelled")
    # a payment in flight for part of it: shown with what is left, then waited for or
    # cancelled; a start refused because one began meanwhile shows the same screen
    pending = {"reference": "r", "amount": LARGEST_AMOUNT, "payer": "+229 01 97 ** ** ** 12"}
    in_flight = {**owing, "pending": pending}
    session = tour.start(known, payments=True).type("2", "1").resume(in_flight)
    session.at("pay.pending")
    session.type("99", "1").at("pay.waiting")
    for outcome, node in [
        ("cancelled", "pay.pending_cancelled"),
        ("not_yours", "pay.cancel_not_yours"),
        ("not_pending", "pay.pending_settled"),
    ]:
        session = tour.start(known, payments=True).type("2", "1").resume(in_flight).type("2")
        session.resume({"outcome": outcome}).at(node)
    session = tour.start(known, payments=True).type("2", "1").resume(owing)
    session.type("1", "1", "1").resume({"outcome": "pending", "amount": 1, "pending": pending})
    session.at("pay.pending")
    # another household: unknown; a new caller starts there, and owes nothing
    session = tour.start(known, payments=True).type("2", "2", wrong_first=True)
    session.at("pay.other_household")
    session.type(LONGEST_NUMBER, wrong_first=True).resume(
        {**due, "found": False, "initial": "", "amount_due": 0}
    )
    session.at("pay.unknown")
    language = tour.menu_choice()
    session = tour.start({"phone": PHONE}, payments=True).type(language).resume(True)
    session.type("2", LONGEST_NUMBER)
    session.resume({**due, "amount_due": 0})
    session.at("pay.nothing_due")


def renewal_offer(outcome: str = "open", persons: int = LARGEST_HOUSEHOLD) -> dict[str, Any]:
    """The largest household next year, every amount the largest, the head first."""
    members = [
        {"member_no": member_number(89_999_999 - n), "first_names": LONG_FIRST_NAMES, "head": False}
        for n in range(persons)
    ]
    members[0]["head"] = True
    return {
        "outcome": outcome,
        "member_no": LONGEST_NUMBER,
        "head_last_name": LONG_FAMILY_NAME,
        "opens_on": "2027-10-23" if outcome == "not_yet" else None,
        "members": members,
        "persons": persons,
        "premium": LARGEST_AMOUNT,
        "household_share": LARGEST_AMOUNT,
        "sponsors": LARGEST_AMOUNT,
        "carried": LARGEST_AMOUNT,
        "amount_due": LARGEST_AMOUNT,
    }


def renewed(outcome: str = "renewed", due: int = LARGEST_AMOUNT) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "member_no": LONGEST_NUMBER,
        "amount_due": due,
        "lapsed": True,
        "opens_on": "2027-10-23" if outcome == "not_yet" else None,
    }


def tour_renewal(tour: Tour) -> None:
    """Renewal from the household's phone (its entry is 5), for another household, and
    by an agent; every outcome of the offer and of the renewal."""
    due = {"phone": PHONE, "language": tour.language, "member_no": LONGEST_NUMBER}
    due["renew_opens"] = TODAY.isoformat()
    # the own household, lapsed: one removed (the head: a new one), a newborn added
    session = tour.start(due).type("5", "1", wrong_first=True).resume(renewal_offer("lapsed"))
    session.at("renew.members")
    session.type("2", "1", "1", wrong_first=True)
    session.at("renew.new_head")
    session.type("1", wrong_first=True).resume(renewal_offer("lapsed"))
    session.type("3", LONG_DEPENDANT, "2", "01112026", wrong_first=True)
    session.resume(renewal_offer("lapsed")).type("1", "1", wrong_first=True)
    expect(isinstance(session.step.effect, RenewHousehold), "the summary confirmed renews")
    session.resume(renewed()).at("renew.renewed")
    session = tour.start(due).type("5", "1").resume(renewal_offer()).type("1", "1")
    session.resume(renewed(due=0)).at("renew.renewed_paid")
    # with mobile money: straight on to the payment's screens
    session = tour.start(due, payments=True).type("5", "1").resume(renewal_offer())
    session.type("1", "1").resume(renewed(due=1)).at("pay.quote")
    # cancelled; the only member left (a newborn cannot head); every refusal
    tour.start(due).type("5", "1").resume(renewal_offer()).type("1", "2").at("renew.cancelled")
    session = tour.start(due).type("5", "1").resume(renewal_offer(persons=1))
    session.type("2", "1", "2").at("renew.nobody_left")
    for outcome in ("not_yet", "renewed", "no_cover", "unknown_member", "full", "nobody_left"):
        tour.start(due).type("5", "1").resume(renewal_offer(outcome))
    for outcome in ("not_yet", "no_cover", "full", "nobody_left", "head_needed"):
        session = tour.start(due).type("5", "1").resume(renewal_offer()).type("1", "1")
        session.resume(renewed(outcome))
        expect(session.step.state.ended, outcome)
    # someone else's household, by its number: no names, nothing to change
    session = tour.start(due).type("5", "2", wrong_first=True)
    session.type(LONGEST_NUMBER, wrong_first=True).resume(renewal_offer())
    session.at("renew.members")
    # an agent: by number or phone, refused elsewhere, then the cash screen; the list due
    for outcome in ("other_mutual", "disabled"):
        agent_menu(tour).type("7", LONGEST_NUMBER).resume(renewal_offer(outcome))
    session = agent_menu(tour).type("7", LONGEST_PHONE, wrong_first=True)
    session.resume(renewal_offer()).type("1", "1").resume(renewed())
    session.at("agent.cash_find")
    households = [
        {
            "member_no": LONGEST_NUMBER,
            "name": f"{LONG_FAMILY_NAME.upper()} M.",
            "phone": LONGEST_PHONE,
            "ends_on": "2027-12-22",
        }
    ] * 30
    agent_menu(tour).type("8").resume({"outcome": "listed", "households": households})
    agent_menu(tour).type("8").resume({"outcome": "listed", "households": []})
    # the rights of the largest household renewed for next year, paid or not
    members = [
        {"member_no": LONGEST_NUMBER, "first_names": LONG_FIRST_NAMES, "initial": "M"}
    ] * LARGEST_HOUSEHOLD
    for upcoming in (coverage_view("waiting"), {**coverage_view("pending_payment"), "start": None}):
        rights = {
            "found": True,
            "members": members,
            "coverage": coverage_view("active"),
            "next": upcoming,
        }
        tour.start(due).type("3").resume(rights).at("rights.show")
