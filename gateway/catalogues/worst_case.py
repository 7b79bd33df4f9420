"""The longest data people can type or a scheme can hold: what every screen of every
journey, and every SMS, must fit with in every language (`alafia catalogue check`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from menus.context import Mutual, Occupation, Product, SchemeSnapshot
from menus.identifiers import member_number
from menus.values import CoverageStatus

STATUSES = {
    CoverageStatus.PENDING_PAYMENT,
    CoverageStatus.WAITING,
    CoverageStatus.ACTIVE,
    CoverageStatus.GRACE,
    CoverageStatus.LAPSED,
    CoverageStatus.CANCELLED,
}

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
    "enrol.head_name": "1",
    "enrol.head_first_names": "1",
    "enrol.birth": "x",
    "enrol.occupation": "99",
    "enrol.national_id": "12",
    "enrol.household_size": "99",
    "enrol.dep_name": "1",
    "enrol.dep_kin": "99",
    "enrol.dep_birth": "x",
    "enrol.head_sex": "99",
    "enrol.summary": "99",
    "enrol.cancel_check": "99",
    "enrol.another": "99",
    "enrolled.pay_now": "99",
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
    "renew.whose": "99",
    "renew.other_no": "100000012",
    "renew.agent_no": "12",
    "renew.members": "99",
    "renew.remove_who": "99",
    "renew.remove_why": "99",
    "renew.new_head": "99",
    "renew.add_name": "1",
    "renew.add_sex": "99",
    "renew.add_birth": "x",
    "renew.summary": "99",
}


def coverage_view(status: str) -> dict[str, Any]:
    return {
        "status": status,
        "start": "2026-12-31",
        "end": "2027-12-30",
        "amount_paid": LARGEST_AMOUNT,
        "amount_due": LARGEST_AMOUNT,
    }


def scheme_for(languages: list[str]) -> SchemeSnapshot:
    """The worst scheme with names in every language: a scheme file may name a product
    in a new language as long as in French, so the French name stands in for it."""

    def named(names: dict[str, str]) -> dict[str, str]:
        return {language: names.get(language, names["fr"]) for language in languages}

    return SchemeSnapshot(
        mutuals=WORST_SCHEME.mutuals,
        products=tuple(
            Product(
                p.code,
                named(p.names),
                p.mutual_codes,
                p.premium_per_person,
                p.household_premium,
                p.max_members,
                p.window,
            )
            for p in WORST_SCHEME.products
        ),
        occupations=tuple(Occupation(o.code, named(o.names)) for o in WORST_SCHEME.occupations),
    )


# The longest values an SMS template meets in the field.
SMS_VALUES: dict[str, Any] = {
    "member_no": "100123452",
    # Six members listed by their first name, cut as gateway/sms/enrolment.py cuts it.
    "members": ", ".join(f"Marie-Thérè {member_number(89_999_999 - n)}" for n in range(6)),
    "more": 10,
    "persons": 12,
    "amount": 1_000_000,
    "amount_due": 18_900,
    "receipt_no": "261123-7F6276B729",
    "covered_from": "2026-12-23",
    "covered_until": "2027-12-22",
    "grace_until": "2028-01-21",
    "closes_on": "2027-12-31",
    "days": 30,
    "product": "Famille",
    "mutual": "Mutuelle de santé de N'Dali",
    "who": "Marie-Bernadette K. (100123452)",
    "waiting_until": "2026-12-22",
    "copay_percent": 100,
    "minutes": 60,
}
