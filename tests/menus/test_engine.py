"""menus/engine.py driven through the real journeys and catalogues, with no I/O.

The scheme is a synthetic `SchemeSnapshot`; effects are checked as values and their
results fed back with `resume`, as the gateway does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pytest

from menus import parsers
from menus.context import MenuContext, Mutual, Occupation, Product, SchemeSnapshot
from menus.effects import (
    EnrolHousehold,
    FindHeadedHousehold,
    PersonDraft,
    QuoteDue,
    RememberLanguage,
    ShowHouseholdRights,
    ShowMemberStatus,
)
from menus.engine import Engine, Step
from menus.journeys import all_journeys, nodes_with
from menus.journeys.enrol_household import split_name
from menus.nodes import Invalid, Journey, JourneyError, Outcome, Say
from menus.parsers import MAX_NAME
from menus.state import SessionState
from menus.text import T, load_catalogues

CATALOGUES = load_catalogues()
ENGINE = Engine(all_journeys(), CATALOGUES)
# The gateway offers the languages in catalogue order; fixed here (see test_catalogues).
LANGUAGES = {code: CATALOGUES[code].texts["language_name"] for code in ("fr", "en")}
TODAY = date(2026, 11, 23)
PHONE = "+2290197000101"
KNOWN = {"phone": PHONE, "language": "fr", "member_no": "100000011"}
UNKNOWN = {"phone": PHONE}
NO_HOUSEHOLD = {"same": None, "other": None}  # what this phone heads: nothing yet

FAMILY = Product(
    "FAMILLE",
    {"fr": "Famille", "en": "Family"},
    frozenset({"MS-KANDI", "MS-NDALI", "MS-PARAKOU"}),
    premium_per_person=1575,
    max_members=12,
)
SCHOOL = Product(
    "SCOLAIRE",
    {"fr": "Scolaire", "en": "School"},
    frozenset({"MS-PARAKOU"}),
    premium_per_person=350,
    max_members=1,
    window=((9, 1), (12, 31)),
)
SCHEME = SchemeSnapshot(
    mutuals=(
        Mutual("MS-KANDI", "Mutuelle de santé de Kandi", "Kandi"),
        Mutual("MS-NDALI", "Mutuelle de santé de N'Dali", "N'Dali"),
        Mutual("MS-PARAKOU", "Mutuelle de santé de Parakou", "Parakou"),
    ),
    products=(FAMILY, SCHOOL),
    occupations=(
        Occupation("farmer", {"fr": "Agriculteur", "en": "Farmer"}),
        Occupation("trader", {"fr": "Commerçant(e)", "en": "Trader"}),
    ),
)


def context(
    scheme: SchemeSnapshot = SCHEME,
    today: date = TODAY,
    resume: dict[str, Any] | None = None,
    max_chars: int = 160,
) -> MenuContext:
    return MenuContext(scheme, today, max_chars, LANGUAGES, resume=resume)


@dataclass
class Phone:
    """One USSD session; the state goes through JSON between hops, as in Redis."""

    ctx: MenuContext
    step: Step

    @classmethod
    def dial(
        cls, caller: dict[str, Any], ctx: MenuContext | None = None, language: str = "fr"
    ) -> Phone:
        ctx = ctx or context()
        return cls(ctx, ENGINE.start(ctx, language, caller))

    def type(self, *answers: str) -> Phone:
        for answer in answers:
            if isinstance(self.step.effect, RememberLanguage):
                self.resume(True)  # a language chosen is kept at once, wherever it leads
            assert self.step.effect is None, "an effect is waiting for its result"
            state = SessionState.loads(self.step.state.dumps())
            self.step = ENGINE.advance(state, answer, self.ctx)
            if isinstance(self.step.effect, FindHeadedHousehold):
                self.resume(NO_HOUSEHOLD)  # as the gateway answers for a phone new to it
        return self

    def resume(self, result: Any) -> Phone:
        assert self.step.effect is not None
        self.step = ENGINE.resume(self.step.state, result, self.ctx)
        return self

    @property
    def reply(self) -> str:
        assert self.step.reply is not None, f"an effect instead of a screen: {self.step.effect}"
        return self.step.reply

    @property
    def node(self) -> str:
        return self.step.state.node

    @property
    def state(self) -> SessionState:
        return self.step.state


# -- first screens -------------------------------------------------------------------


def test_an_unknown_caller_chooses_a_language_first() -> None:
    phone = Phone.dial(UNKNOWN)
    assert phone.node == "main.language"
    assert phone.reply == "CON Choisissez la langue / Choose the language\n1. Francais\n2. English"
    phone.type("2")
    assert phone.state.language == "en"
    # Remembered for a phone without a household too: asked on the first call only.
    assert phone.step.effect == RememberLanguage(PHONE, "en")
    phone.resume(True)
    assert phone.reply == (
        "CON Health mutual\n1. Join\n4. Check a number\n9. Langue/Language\n0 Back"
    )


def test_a_known_caller_goes_home_in_their_language() -> None:
    phone = Phone.dial(KNOWN)
    assert phone.node == "main.home"
    assert phone.reply == (
        "CON Mutuelle de santé\n1. Adhérer\n3. Mes droits\n4. Vérifier un numéro\n"
        "9. Langue/Language"
    )


def test_a_known_caller_who_changes_language_has_it_remembered() -> None:
    phone = Phone.dial(KNOWN).type("9", "2")
    assert phone.step.effect == RememberLanguage(PHONE, "en")
    phone.resume(None)
    assert phone.node == "main.home"
    assert phone.reply.startswith("CON Health mutual\n1. Join\n3. My cover")


def test_main_menu_numbers_are_the_same_for_every_caller() -> None:
    known = Phone.dial(KNOWN, context()).reply
    unknown = Phone.dial(UNKNOWN).type("1").resume(True).reply
    desk = Phone.dial({**KNOWN, "facility_id": 7}).reply
    assert "3. Mes droits\n4. Vérifier un numéro\n9. Langue" in known
    assert "1. Adhérer\n4. Vérifier un numéro\n9. Langue" in unknown  # no rights to show
    assert "4. Vérifier un numéro\n6. Vérifier un patient\n9. Langue" in desk


def test_an_entry_that_does_not_apply_says_why_and_keeps_its_number() -> None:
    phone = Phone.dial(UNKNOWN).type("1", "3")
    assert phone.node == "main.why_not"
    assert phone.reply == (
        "CON Aucun ménage inscrit avec ce téléphone. Tapez 1 pour adhérer, 4 pour vérifier"
        " un numéro de membre.\n0 Retour"
    )
    phone.type("2")  # mobile money is not set up here
    assert phone.reply.startswith("CON Paiement par téléphone pas encore ouvert.")
    phone.type("6")
    assert phone.reply.startswith("CON Réservé aux téléphones des centres de santé.")
    phone.type("4")  # what the screen says to type
    assert phone.node == "check.number"
    assert Phone.dial(UNKNOWN).type("1", "3", "1").node == "enrol.mutual"
    assert Phone.dial(UNKNOWN).type("1", "3", "0").node == "main.home"


def test_renewing_before_the_window_says_when_it_opens() -> None:
    phone = Phone.dial({**KNOWN, "renew_opens": "2027-05-01"}).type("5")
    assert phone.reply.startswith("CON Le renouvellement ouvre le 01/05/2027.")


# -- enrolment -----------------------------------------------------------------------


def enrol_family(phone: Phone) -> Phone:
    """The household of four from tests/menus/journeys/enrol_family_fr.yaml, in the engine."""
    phone.type("1")  # Adhérer
    assert phone.reply.startswith("CON Votre mutuelle:\n1. Mutuelle de santé de Kandi")
    phone.type("3")  # Parakou: the product is asked once the size says which fit
    assert phone.reply == "CON Chef de ménage: nom puis prénom(s)\nEx: HOUNGBO Afi\n0 Retour"
    phone.type("Houngbo afi  reine")
    assert phone.reply.startswith("CON Afi Reine: date de naissance\nEx: 25031985, 250385 ou 1985")
    phone.type("1990")
    assert phone.reply.startswith("CON Afi Reine: numéro NPI ou carte CIP (10 chiffres)\n")
    phone.type("123 456 7890")
    assert phone.node == "enrol.household_size"
    assert phone.reply == (
        "CON Afi Reine: combien de personnes dans votre ménage, vous compris?\n"
        "Ex: 4 (seul: 1)\n0 Retour"
    )
    phone.type("4")  # four persons, the head included: the school product takes one
    assert phone.state.data["dep_count"] == 3
    assert phone.state.data["product"] == "FAMILLE"
    assert phone.reply.startswith(
        "CON Personne 2/4: nom et prénom(s)\nNom comme le chef: prénom seul. Ex: Marc\n"
    )
    phone.type("dossou jean")
    assert phone.reply.startswith("CON Qui est Jean (2/4) pour Afi Reine?\n1. Mari\n2. Épouse\n")
    phone.type("1", "15/04/1988")  # husband: own family name, full date
    phone.type("Marc", "3", "2016")  # one word: the head's family name; a son
    phone.type("ella", "4", "010619")  # a daughter, the date in six digits
    assert phone.node == "enrol.summary"  # "Mari" told the head's sex
    for line in (
        "HOUNGBO, 4 pers., Famille:",
        "Afi Reine 1575 F",
        "Ella 1575 F",
        "Total: 6300 F/an",
        "1. Confirmer\n2. Annuler",
    ):
        assert line in phone.reply
    return phone.type("1")


HEAD = PersonDraft(
    last_name="HOUNGBO",
    first_names="Afi Reine",
    sex="F",
    birth_date="1990-01-01",
    birth_year_only=True,
    relationship="head",
    occupation=None,
    national_id="1234567890",
)
FAMILY_OF_FOUR = EnrolHousehold(
    mutual_code="MS-PARAKOU",
    product_code="FAMILLE",
    phone=PHONE,
    language="fr",
    head=HEAD,
    dependants=(
        PersonDraft("DOSSOU", "Jean", "M", "1988-04-15", False, "spouse"),
        PersonDraft("HOUNGBO", "Marc", "M", "2016-01-01", True, "child"),
        PersonDraft("HOUNGBO", "Ella", "F", "2019-06-01", False, "child"),
    ),
)


def test_enrolling_a_family_emits_one_enrol_effect_with_every_answer() -> None:
    phone = enrol_family(Phone.dial(UNKNOWN).type("1"))
    assert phone.node == "enrol.enrol"
    assert phone.step.reply is None
    assert phone.step.effect == FAMILY_OF_FOUR


def test_the_head_s_name_is_checked_against_the_phone_s_households_at_once() -> None:
    named = Phone.dial(KNOWN).type("1", "3")
    asked = ENGINE.advance(named.state, "Houngbo Afi", named.ctx)
    assert asked.effect == FindHeadedHousehold(PHONE, "HOUNGBO", "Afi")

    def answered(result: dict[str, Any]) -> Phone:
        state = SessionState.loads(asked.state.dumps())
        return Phone(named.ctx, ENGINE.resume(state, result, named.ctx))

    same = answered({"same": "100000011", "other": None})
    assert same.reply == (
        "END HOUNGBO Afi est déjà inscrit(e) avec ce téléphone. Numéro de membre: 100000011."
    )
    assert ENGINE.finished_resumable(same.state)
    other = answered({"same": None, "other": "100000023"})
    assert other.reply.startswith(
        "CON Ce téléphone a déjà le ménage 100000023. Vous pouvez inscrire un autre ménage."
        "\n1. Continuer"
    )
    assert other.type("1").node == "enrol.birth"


ENROLLED = {
    "outcome": "enrolled",
    "member_no": "100000011",
    "premium_due": 6300,
    "persons": 4,
    "opens_on": None,
}


@pytest.mark.parametrize(
    ("result", "node", "reply"),
    [
        (
            ENROLLED,
            "enrol.done",
            "END Bienvenue! Votre numéro de membre: 100000011. Cotisation due: 6300 F. "
            "Payez-la pour ouvrir vos droits.",
        ),
        (
            {**ENROLLED, "outcome": "duplicate", "member_no": "100000112"},
            "enrol.duplicate",
            "END Votre famille est déjà inscrite. Numéro de membre: 100000112.",
        ),
        (
            {**ENROLLED, "outcome": "closed", "member_no": "", "opens_on": "2027-09-01"},
            "enrol.closed",
            "END Les adhésions sont fermées. Prochaine campagne le 01/09/2027.",
        ),
        (
            {**ENROLLED, "outcome": "full", "member_no": ""},
            "enrol.refused",
            "END Adhésion impossible avec cette formule. Contactez votre mutuelle.",
        ),
        (
            {**ENROLLED, "outcome": "unknown_product", "member_no": ""},
            "enrol.refused",
            "END Adhésion impossible avec cette formule. Contactez votre mutuelle.",
        ),
    ],
)
def test_resume_routes_on_the_enrol_result(result: dict[str, Any], node: str, reply: str) -> None:
    phone = enrol_family(Phone.dial(KNOWN)).resume(result)
    assert phone.node == node
    assert phone.reply == reply
    assert phone.state.ended
    # the statistics count enrolments by the outcome marked on the node
    assert (phone.node in nodes_with(Outcome.ENROLLED)) == (result["outcome"] == "enrolled")
    assert ENGINE.resumable(phone.state) is None
    assert ENGINE.finished_resumable(phone.state)  # the host drops the phone's snapshot
    # a late copy of the last hop changes nothing once the session has ended
    assert phone.type("1").reply == reply


def test_with_payments_on_the_end_of_an_enrolment_pays_for_the_new_household() -> None:
    paying = replace(context(), payments=True)
    phone = enrol_family(Phone.dial(KNOWN, paying)).resume(ENROLLED)
    assert phone.node == "enrolled.pay_now"
    assert phone.reply == (
        "CON Bienvenue! Numéro de membre: 100000011. Cotisation due: 6300 F.\n"
        "1. Payer maintenant\n0 Retour"
    )
    assert phone.node in nodes_with(Outcome.ENROLLED)
    assert ENGINE.resumable(phone.state) is None  # nothing of the enrolment to continue
    assert phone.state.forget_resume  # and the phone's snapshot is dropped
    phone.type("1")
    assert phone.step.effect == QuoteDue("100000011")  # the new household, not the caller's


def test_resume_only_at_an_action() -> None:
    phone = Phone.dial(KNOWN)
    with pytest.raises(RuntimeError):
        ENGINE.resume(phone.state, {}, phone.ctx)


def test_an_input_at_a_pending_action_asks_for_the_effect_again() -> None:
    phone = enrol_family(Phone.dial(KNOWN))
    again = ENGINE.advance(phone.state, "1", phone.ctx)
    assert again.effect == FAMILY_OF_FOUR
    assert again.state.node == "enrol.enrol"


# Up to the household size question: Kandi (one product), the head, no NPI.
TO_HOUSEHOLD_SIZE = ("1", "1", "Agossou Rita", "1995", "2")


def test_cancel_at_the_summary_asks_again_then_records_nothing() -> None:
    phone = Phone.dial(KNOWN).type(*TO_HOUSEHOLD_SIZE, "1", "2")
    assert phone.reply.startswith("CON AGOSSOU, 1 pers., Famille:\nRita 1575 F\nTotal")
    phone.type("2")
    assert phone.node == "enrol.cancel_check"
    assert phone.reply.startswith("CON Annuler efface toutes vos réponses. Vraiment annuler?")
    phone.type("2")  # no: back to the summary, every answer kept
    assert phone.node == "enrol.summary"
    phone.type("2", "1")
    assert phone.step.effect is None
    assert phone.reply == "END Adhésion annulée. Rien n'a été enregistré."
    assert ENGINE.resumable(phone.state) is None
    assert ENGINE.finished_resumable(phone.state)


def test_a_household_of_one_enrols_the_head_alone() -> None:
    phone = Phone.dial(KNOWN).type(*TO_HOUSEHOLD_SIZE)
    assert phone.node == "enrol.household_size"
    phone.type("1")  # the head lives alone: no spouse tells the head's sex
    assert phone.node == "enrol.head_sex"
    assert phone.reply.startswith("CON Rita (1/1): homme ou femme?\n1. Homme\n2. Femme")
    phone.type("2")
    assert phone.node == "enrol.summary"
    assert phone.state.data["dep_count"] == 0
    phone.type("1")
    assert isinstance(phone.step.effect, EnrolHousehold)
    assert phone.step.effect.dependants == ()
    assert phone.step.effect.head.sex == "F"
    assert phone.step.effect.head.national_id is None  # "2": no NPI


def test_the_npi_escape_is_two_and_one_is_refused() -> None:
    phone = Phone.dial(KNOWN).type("1", "1", "Agossou Rita", "1995")
    assert "Pas de NPI: tapez 2" in phone.reply
    phone.type("1")  # no longer the escape: it read like "yes"
    assert phone.reply.startswith("CON Tapez 10 chiffres, ou 2 si pas de NPI.\nRita: numéro NPI")


def test_zero_at_the_household_size_question_means_back() -> None:
    phone = Phone.dial(KNOWN).type(*TO_HOUSEHOLD_SIZE)
    phone.type("0")
    assert phone.node == "enrol.national_id"
    assert phone.state.errors == 0
    assert "dep_count" not in phone.state.data
    phone.type("2")  # the same answer again leads to the same question
    assert phone.node == "enrol.household_size"


@pytest.mark.parametrize("wrong", ["13", "99", "-1", "1.5", "deux", "²"])
def test_the_household_size_cap_follows_the_products(wrong: str) -> None:
    phone = Phone.dial(KNOWN).type(*TO_HOUSEHOLD_SIZE)
    phone.type(wrong)
    assert phone.node == "enrol.household_size"
    assert phone.reply.startswith("CON Tapez un nombre de 1 à 12. Ex: 4\nRita: combien")
    phone.type("12")  # the product's max_members, the head included
    assert phone.state.data["dep_count"] == 11
    assert phone.reply.startswith("CON Personne 2/12: ")


def test_without_a_product_cap_a_household_is_at_most_sixteen() -> None:
    uncapped = replace(FAMILY, max_members=None)
    scheme = SchemeSnapshot(mutuals=SCHEME.mutuals[:1], products=(uncapped,))
    phone = Phone.dial(KNOWN, context(scheme)).type("1", "Agossou Rita", "1995", "2")
    assert phone.node == "enrol.household_size"
    phone.type("17")
    assert phone.reply.startswith("CON Tapez un nombre de 1 à 16. Ex: 4\n")
    phone.type("16")
    assert phone.state.data["dep_count"] == 15
    assert phone.reply.startswith("CON Personne 2/16: ")


def test_the_household_size_error_in_english() -> None:
    phone = Phone.dial(UNKNOWN).type("2", "1", "1", "Agossou Rita", "1995", "2")
    assert phone.node == "enrol.household_size"
    assert phone.reply.startswith("CON Rita: how many people in your household, you included?")
    phone.type("13")
    assert phone.reply.startswith("CON Type a number from 1 to 12. E.g. 4\nRita: how many")


def test_the_product_is_asked_when_more_than_one_fits_the_household() -> None:
    # Parakou: the family product and the school one (open September to December)
    phone = Phone.dial(KNOWN).type("1", "3", "Agossou Rita", "2012", "2", "1")
    assert phone.node == "enrol.product"
    assert "1. Famille 1575 F/pers.\n2. Scolaire 350 F/pers." in phone.reply
    phone.type("2", "2")  # the school product; a girl
    assert phone.reply.startswith("CON AGOSSOU, 1 pers., Scolaire:\nRita 350 F\n")
    phone.type("1")
    assert isinstance(phone.step.effect, EnrolHousehold)
    assert phone.step.effect.product_code == "SCOLAIRE"
    assert phone.step.effect.dependants == ()


def test_a_closed_campaign_ends_before_any_typing() -> None:
    scheme = SchemeSnapshot(mutuals=SCHEME.mutuals, products=(SCHOOL,))
    phone = Phone.dial(KNOWN, context(scheme, today=date(2027, 6, 1))).type("1", "3")
    assert phone.reply == "END Les adhésions sont fermées. Prochaine campagne le 01/09/2027."
    assert phone.state.ended


def test_a_closed_product_is_not_offered_while_another_is_open() -> None:
    phone = Phone.dial(KNOWN, context(today=date(2027, 6, 1))).type("1", "3")
    phone.type("Agossou Rita", "2012", "2", "1")
    assert phone.node == "enrol.head_sex"  # the school product is closed: nothing to choose
    assert phone.state.data["product"] == "FAMILLE"


def test_a_single_mutual_with_a_single_product_goes_straight_to_the_head() -> None:
    scheme = SchemeSnapshot(mutuals=SCHEME.mutuals[:1], products=(FAMILY,))
    phone = Phone.dial(KNOWN, context(scheme)).type("1")
    assert phone.node == "enrol.head_name"
    phone.type("Agossou Rita", "1995")
    assert phone.node == "enrol.national_id"
    phone.type("2", "1", "2", "1")  # no NPI, a household of one, a woman, confirm
    assert isinstance(phone.step.effect, EnrolHousehold)
    assert phone.step.effect.mutual_code == "MS-KANDI"
    assert phone.step.effect.head.occupation is None  # left to agents


def test_no_mutual_no_offer() -> None:
    phone = Phone.dial(KNOWN, context(SchemeSnapshot())).type("1")
    assert phone.reply == (
        "END Aucune mutuelle ne propose encore d'adhésion ici. Merci de réessayer plus tard."
    )


def test_english_enrolment() -> None:
    phone = Phone.dial(UNKNOWN).type("2", "1", "3", "Houngbo Afi", "1990", "2", "2")
    assert phone.reply.startswith("CON Person 2/2: family name and first name(s)\n")
    phone.type("Ella")
    assert phone.reply.startswith("CON Who is Ella (2/2) to Afi?\n1. Husband\n2. Wife\n")
    phone.type("4", "2019", "2")  # a daughter; the head is a woman
    assert phone.reply == (
        "CON HOUNGBO, 2 pers., Family:\nAfi 1575 F\nElla 1575 F\n"
        "Total: 3150 F/year\n1. Confirm\n2. Cancel\n0 Back"
    )
    phone.type("1")
    assert isinstance(phone.step.effect, EnrolHousehold)
    assert phone.step.effect.language == "en"
    phone.resume({**ENROLLED, "premium_due": 3150})
    assert phone.reply.startswith(
        "END Welcome! Your member number: 100000011. Premium due: 3150 F."
    )


# -- names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "family", "given"),
    [
        ("houngbo", "HOUNGBO", "Houngbo"),
        ("afi  reine", "AFI REINE", "Afi Reine"),
        ("marie-madeleine", "MARIE-MADELEINE", "Marie-Madeleine"),
        ("Dossou-Yovo", "DOSSOU-YOVO", "Dossou-Yovo"),
        ("d'almeida", "D'ALMEIDA", "D'Almeida"),
        ("sènami", "SÈNAMI", "Sènami"),
        ("Se\u0300nami", "SÈNAMI", "Sènami"),  # typed decomposed, kept composed (NFC)
        ("Ayo.", "AYO.", "Ayo."),
        ("A. Koffi", "A. KOFFI", "A. Koffi"),  # an initial, then a name
        ("ɖɔkɔ", "ƉƆKƆ", "Ɖɔkɔ"),  # Fon letters are letters
    ],
)
def test_names_the_enrolment_takes(typed: str, family: str, given: str) -> None:
    ctx, state = context(), SessionState(node="enrol.head_name", language="fr")
    assert parsers.family_name(typed, ctx, state) == family
    assert parsers.given_names(typed, ctx, state) == given


@pytest.mark.parametrize(
    ("typed", "family", "given"),
    [
        ("houngbo afi  reine", "HOUNGBO", "Afi Reine"),
        ("HOUNGBO Afi", "HOUNGBO", "Afi"),
        ("DOSSOU YOVO Marc", "DOSSOU YOVO", "Marc"),  # a family name of two words, in capitals
        ("HOUNGBO AFI", "HOUNGBO", "Afi"),
        ("d'almeida marie-madeleine", "D'ALMEIDA", "Marie-Madeleine"),
    ],
)
def test_family_name_and_first_names_on_one_screen(typed: str, family: str, given: str) -> None:
    assert split_name(typed) == (family, given)


@pytest.mark.parametrize("typed", ["Houngbo", "Houngbo2 Afi", "A Afi", "Houngbo " + "a" * 41])
def test_one_screen_names_refused(typed: str) -> None:
    with pytest.raises(Invalid):
        split_name(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "A",  # too short
        "Houngbo2",
        "Ko²",  # a superscript digit is no letter
        "Ko¹ Afi",
        "Afi--Reine",
        "Afi '-Reine",
        "Afi .Reine",
        "-Afi",
        "'Afi",
        "Afi_Reine",
        "Afi/Reine",
        "a" * (MAX_NAME + 1),
    ],
)
def test_names_the_enrolment_refuses(typed: str) -> None:
    ctx, state = context(), SessionState(node="enrol.head_name", language="fr")
    for parse in (parsers.family_name, parsers.given_names):
        with pytest.raises(Invalid) as refused:
            parse(typed, ctx, state)
        assert refused.value.reason == T("error_name")


def test_a_name_is_measured_composed_and_once_more_after_changing_case() -> None:
    ctx, state = context(), SessionState(node="enrol.head_name", language="fr")
    decomposed = "Se\u0300nami" * 6 + "Afiaa"  # 60 code points typed, 41 letters
    with pytest.raises(Invalid):
        parsers.given_names(decomposed, ctx, state)
    assert parsers.given_names(decomposed[:-1], ctx, state) == "Sènami" + "sènami" * 5 + "afia"
    # "ß" becomes "SS" in capitals, "Ss" at the start of a word: 40 letters grow to 41
    sharp = "ß" + "a" * (MAX_NAME - 1)
    assert parsers.clean_name(sharp) == sharp
    for parse in (parsers.family_name, parsers.given_names):
        with pytest.raises(Invalid):
            parse(sharp, ctx, state)
    assert parsers.family_name(sharp[:-1], ctx, state) == "SS" + "A" * (MAX_NAME - 2)


def test_names_through_the_enrolment_screens() -> None:
    phone = Phone.dial(KNOWN).type("1", "3", "Houngbo²")
    assert phone.reply.startswith(
        "CON Tapez le nom puis le(s) prénom(s), en lettres. Ex: HOUNGBO Afi\n"
    )
    phone.type("houngbo marie-madeleine  afi", "1990", "2", "3")
    phone.type("dossou marie-josée", "2", "1988")  # family name, then given names
    phone.type("jean-marc", "3", "2016", "1")  # given names alone: the head's family
    effect = phone.step.effect
    assert isinstance(effect, EnrolHousehold)
    assert (effect.head.last_name, effect.head.first_names) == ("HOUNGBO", "Marie-Madeleine Afi")
    assert effect.head.sex == "M"  # "Épouse" told it
    assert [(d.last_name, d.first_names) for d in effect.dependants] == [
        ("DOSSOU", "Marie-Josée"),
        ("HOUNGBO", "Jean-Marc"),
    ]


# -- back, home and wrong answers ----------------------------------------------------

TO_THE_COUNT = ("1", "3", "Houngbo Afi Reine", "1990", "2")


def test_back_returns_to_the_previous_dependant_and_restores_the_cursor() -> None:
    phone = Phone.dial(KNOWN).type(*TO_THE_COUNT)
    phone.type("4", "dossou jean", "1", "15/04/1988", "Marc", "3", "2016")
    assert phone.reply.startswith("CON Personne 4/4: ")
    assert phone.state.cursor == {"dep": 2}

    phone.type("0")  # back to Marc's birth date
    assert phone.node == "enrol.dep_birth"
    assert phone.state.cursor == {"dep": 1}
    phone.type("0")  # and to who Marc is
    assert phone.node == "enrol.dep_kin"
    phone.type("7", "2016")  # Marc is "another man", not a son
    assert phone.reply.startswith("CON Personne 4/4: ")
    assert phone.state.cursor == {"dep": 2}

    phone.type("0", "0", "0")  # Marc's birth, kin and name
    assert phone.node == "enrol.dep_name"
    assert phone.reply.startswith("CON Personne 3/4: ")
    assert phone.state.cursor == {"dep": 1}
    phone.type("0")
    assert phone.node == "enrol.dep_birth" and phone.state.cursor == {"dep": 0}

    phone.type("1988", "Marc", "7", "2016", "ella", "4", "2019", "1")
    effect = phone.step.effect
    assert isinstance(effect, EnrolHousehold)
    assert [(d.first_names, d.relationship, d.sex) for d in effect.dependants] == [
        ("Jean", "spouse", "M"),
        ("Marc", "other", "M"),
        ("Ella", "child", "F"),
    ]


def test_back_from_the_first_dependant_reaches_the_count_and_a_lower_count_counts() -> None:
    phone = Phone.dial(KNOWN).type(*TO_THE_COUNT)
    phone.type("3", "Jean", "1", "1988", "Ella", "4", "2019")
    assert phone.node == "enrol.summary"
    assert phone.reply.startswith("CON HOUNGBO, 3 pers., ")
    phone.type(*["0"] * 7)  # all the way back over both dependants to the count
    assert phone.node == "enrol.household_size"
    phone.type("0")  # and "0" there is back too, never "nobody"
    assert phone.node == "enrol.national_id"
    phone.type("2", "2")
    assert phone.reply.startswith("CON Personne 2/2: ")
    # what was typed for both dependants is kept; only the first dep_count count
    assert len(phone.state.data["deps"]) == 2
    phone.type("Jean", "1", "1988")
    assert phone.node == "enrol.summary"
    assert phone.reply.startswith("CON HOUNGBO, 2 pers., ")
    phone.type("1")
    effect = phone.step.effect
    assert isinstance(effect, EnrolHousehold)
    assert [d.first_names for d in effect.dependants] == ["Jean"]


def test_a_higher_count_after_going_back_asks_for_every_dependant() -> None:
    phone = Phone.dial(KNOWN).type(*TO_THE_COUNT)
    phone.type("2", "Jean", "1", "1988")
    assert phone.node == "enrol.summary"
    phone.type(*["0"] * 4)
    assert phone.node == "enrol.household_size"
    phone.type("3")
    assert phone.reply.startswith("CON Personne 2/3: ")
    phone.type("Jean", "1", "1988", "Ella", "4", "2019", "1")
    effect = phone.step.effect
    assert isinstance(effect, EnrolHousehold)
    assert [d.first_names for d in effect.dependants] == ["Jean", "Ella"]


def test_back_with_nowhere_to_go_shows_the_same_screen() -> None:
    phone = Phone.dial(UNKNOWN)
    before = phone.reply
    phone.type("0")
    assert phone.node == "main.language"
    assert phone.reply == before


def test_double_zero_goes_home_and_forgets_the_answers() -> None:
    phone = Phone.dial(KNOWN).type(*TO_THE_COUNT, "2")
    assert phone.state.data["head"]["last_name"] == "HOUNGBO"
    phone.state.data["_changing"] = True  # underscored keys are forgotten as well
    phone.state.resume = dropped_at_birth()  # and so is an offer not taken up
    phone.type("00")
    assert phone.node == "main.home"
    assert phone.reply.startswith("CON Mutuelle de santé\n1. Adhérer\n")
    assert phone.state.back == []
    assert phone.state.data == {}
    assert phone.state.resume is None
    phone.type("1")
    assert phone.node == "enrol.mutual"  # a fresh start, nothing remembered
    assert "head" not in phone.state.data


def test_double_zero_at_the_resume_offer_goes_home_and_drops_the_offer() -> None:
    phone = Phone.dial(KNOWN, context(resume=dropped_at_birth()))
    assert phone.node == "main.resume"
    assert phone.state.resume == dropped_at_birth()
    phone.type("00")
    assert phone.node == "main.home"
    assert phone.state.data == {}  # the snapshot does not ride along into a new snapshot
    assert phone.state.resume is None
    phone.type("1", "3")
    snapshot = ENGINE.resumable(phone.state)
    assert snapshot is not None
    assert snapshot["node"] == "enrol.head_name"
    assert "_resume" not in json.dumps(snapshot)


def test_double_zero_on_a_later_page_goes_home() -> None:
    phone = Phone.dial(KNOWN, context(MANY)).type("1", "4", "98")
    assert phone.state.page == 1
    phone.type("00")
    assert phone.node == "main.home"
    assert phone.state.page == 0
    assert phone.state.data == {}


@pytest.mark.parametrize(
    ("path", "wrong", "notice"),
    [
        (
            ["1", "3"],
            "Houngbo2",
            "Tapez le nom puis le(s) prénom(s), en lettres. Ex: HOUNGBO Afi",
        ),
        (
            ["1", "3", "Houngbo Afi"],
            "31021990",
            "Date non comprise. Ex: 25031985, 250385, 25/03/85 ou 1985.",
        ),
        (
            ["1", "3", "Houngbo Afi", "1990"],
            "12345",
            "Tapez 10 chiffres, ou 2 si pas de NPI.",
        ),
        (["1"], "7", "Tapez le numéro d'un choix, ex: 1"),
        (["4"], "10000001", "Le numéro de membre a 9 chiffres."),
        (["4"], "100000012", "Numéro incorrect: vérifiez les chiffres."),
    ],
)
def test_three_wrong_answers_end_the_session(path: list[str], wrong: str, notice: str) -> None:
    phone = Phone.dial(KNOWN).type(*path)
    node = phone.node
    question = phone.reply.removeprefix("CON ").split("\n")[0]
    for attempt in (1, 2):
        phone.type(wrong)
        assert phone.node == node
        assert phone.reply.startswith(f"CON {notice}\n{question}\n"), attempt
        assert not phone.state.ended
    phone.type(wrong)
    # An enrolment is kept for the next dial, and the caller is told so; a check is not.
    kept = "Rappelez dans les 10 minutes: vos réponses sont gardées."
    gone = "Merci de rappeler plus tard."
    said = kept if path[0] == "1" else gone
    assert phone.reply == f"END Trop de réponses invalides. {said}"
    assert phone.state.ended


def test_a_right_answer_resets_the_wrong_answer_count() -> None:
    phone = Phone.dial(KNOWN).type("1", "3")
    phone.type("x1", "x2", "Houngbo Afi")
    assert phone.node == "enrol.birth"
    phone.type("x1", "x2")
    assert not phone.state.ended
    assert phone.reply.startswith("CON Date non comprise")


# -- many mutuals --------------------------------------------------------------------

COMMUNES = ("Parakou", "Kandi", "N'Dali", "Nikki", "Tchaourou")
# 12 mutuals in Parakou (one per arrondissement), 2 in each other commune: 20 in all
MANY_MUTUALS = tuple(
    Mutual(f"MS-{commune[:3].upper()}-{n}", f"Mutuelle de {commune} arrondissement {n}", commune)
    for commune in COMMUNES
    for n in range(1, (12 if commune == "Parakou" else 2) + 1)
)
MANY = SchemeSnapshot(
    mutuals=MANY_MUTUALS,
    products=(replace(FAMILY, mutual_codes=frozenset(m.code for m in MANY_MUTUALS)),),
)


def test_many_mutuals_ask_the_commune_first_then_page_the_mutuals() -> None:
    assert len(MANY.mutuals) == 20
    phone = Phone.dial(KNOWN, context(MANY)).type("1")
    assert phone.node == "enrol.commune"
    assert phone.reply == (
        "CON Votre commune:\n1. Kandi\n2. N'Dali\n3. Nikki\n4. Parakou\n5. Tchaourou\n0 Retour"
    )
    phone.type("4")
    assert phone.node == "enrol.mutual"
    pages = [phone.reply]
    while phone.reply.endswith("\n98 Suite 0 Retour"):
        phone.type("98")
        pages.append(phone.reply)
    assert len(pages) > 1
    assert pages[-1].endswith("\n0 Retour 00 Menu")
    shown = [line for page in pages for line in page[4:].split("\n") if line[:1].isdigit()]
    numbered = [line for line in shown if ". " in line]
    assert numbered == [f"{n}. Mutuelle de Parakou arrondissement {n}" for n in range(1, 13)]
    assert all(len(page) <= 160 for page in pages)
    # past the last page, the last page stays
    assert phone.type("98").reply == pages[-1]
    # numbers are global: any of them is taken on any page
    phone.type("11")
    assert phone.node == "enrol.head_name"
    assert phone.state.data["mutual"] == "MS-PAR-11"


def test_zero_on_a_later_page_of_a_menu_shows_the_previous_page() -> None:
    phone = Phone.dial(KNOWN, context(MANY)).type("1", "4")
    pages = [phone.reply]
    while phone.reply.endswith("\n98 Suite 0 Retour"):
        phone.type("98")
        pages.append(phone.reply)
    assert len(pages) >= 3  # so that a middle page is walked back over too
    back = [phone.reply]
    for _ in pages[1:]:
        phone.type("0")
        assert phone.node == "enrol.mutual"  # still the same question
        back.append(phone.reply)
    assert back == pages[::-1]
    assert phone.state.page == 0
    assert phone.state.errors == 0
    assert phone.state.data.get("mutual") is None  # "0" chose nothing
    phone.type("0")  # on the first page, 0 is back to the previous question
    assert phone.node == "enrol.commune"


def test_a_wrong_answer_on_a_later_page_does_not_turn_the_page_back() -> None:
    phone = Phone.dial(KNOWN, context(MANY)).type("1", "4")
    first = phone.reply
    phone.type("98", "99")
    assert phone.node == "enrol.mutual"
    assert (phone.state.page, phone.state.errors) == (1, 1)
    phone.type("0")  # the previous page, not a wrong answer nor the previous question
    assert (phone.state.page, phone.state.errors) == (0, 1)
    assert phone.reply == first


def test_an_option_from_an_earlier_page_is_taken_on_a_later_page() -> None:
    phone = Phone.dial(KNOWN, context(MANY)).type("1", "4", "98", "2")
    assert phone.state.data["mutual"] == "MS-PAR-2"


def test_the_commune_narrows_the_mutuals() -> None:
    phone = Phone.dial(KNOWN, context(MANY)).type("1", "1")
    assert phone.reply == (
        "CON Votre mutuelle:\n1. Mutuelle de Kandi arrondissement 1\n"
        "2. Mutuelle de Kandi arrondissement 2\n0 Retour"
    )


# -- resuming a dropped session ------------------------------------------------------


def test_resumable_only_in_the_enrol_journey_at_a_question() -> None:
    phone = Phone.dial(KNOWN)
    assert ENGINE.resumable(phone.state) is None  # main menu
    phone.type("4")
    assert phone.node == "check.number"
    assert ENGINE.resumable(phone.state) is None  # not a resumable journey
    phone = Phone.dial(KNOWN).type("1", "3", "Agossou Rita")
    snapshot = ENGINE.resumable(phone.state)
    assert snapshot is not None
    assert snapshot["node"] == "enrol.birth"
    assert snapshot["language"] == "fr"
    assert snapshot["data"]["head"] == {"last_name": "AGOSSOU", "first_names": "Rita"}
    assert snapshot["data"]["mutual"] == "MS-PARAKOU"
    assert [node for node, _ in snapshot["back"]][-2:] == ["enrol.mutual", "enrol.head_name"]
    assert not ENGINE.finished_resumable(phone.state)
    phone.type("1995", "2", "1", "1", "2", "2", "1")  # cancelled, asked again
    assert phone.node == "enrol.cancelled"
    assert phone.state.ended
    assert ENGINE.resumable(phone.state) is None
    assert ENGINE.finished_resumable(phone.state)


def test_every_question_of_the_enrolment_is_resumable() -> None:
    phone = Phone.dial(KNOWN).type(*TO_THE_COUNT, "1", "1", "2")  # alone, family, a woman
    assert phone.node == "enrol.summary"
    phone = Phone.dial(KNOWN).type(*TO_THE_COUNT, "2", "Jean", "1")
    seen = {node for node, _ in phone.state.back} | {phone.node}
    assert {"enrol.mutual", "enrol.head_name", "enrol.dep_kin", "enrol.dep_birth"} <= seen
    for node in {node for node, _ in phone.state.back if node.startswith("enrol.")} | {
        "enrol.product",
        "enrol.head_sex",
        "enrol.cancel_check",
    }:
        at = SessionState(node=node, language="fr", caller=KNOWN)
        assert ENGINE.resumable(at) is not None, node
        assert not ENGINE.finished_resumable(at), node
    assert ENGINE.resumable(phone.state) is not None


def test_every_question_names_its_person_after_a_resume_too() -> None:
    phone = Phone.dial(KNOWN).type(*TO_THE_COUNT, "3", "Jean", "1")
    snapshot = json.loads(json.dumps(ENGINE.resumable(phone.state)))
    again = Phone.dial(KNOWN, context(resume=snapshot)).type("1")
    assert again.node == "enrol.dep_birth"
    assert again.reply.startswith("CON Jean (2/3): date de naissance\n")


def test_a_session_ended_by_three_wrong_answers_stays_resumable() -> None:
    phone = Phone.dial(KNOWN).type("1", "3", "Agossou Rita", "x", "y", "z")
    assert phone.reply == (
        "END Trop de réponses invalides. Rappelez dans les 10 minutes: vos réponses sont gardées."
    )
    assert phone.state.ended
    assert phone.node == "enrol.birth"
    assert not ENGINE.finished_resumable(phone.state)
    snapshot = ENGINE.resumable(phone.state)
    assert snapshot is not None
    assert snapshot["node"] == "enrol.birth"
    # the next dial continues at that question, with a clean slate of wrong answers
    again = Phone.dial(KNOWN, context(resume=json.loads(json.dumps(snapshot)))).type("1")
    assert again.node == "enrol.birth"
    assert again.reply == ("CON Rita: date de naissance\nEx: 25031985, 250385 ou 1985\n0 Retour")
    again.type("x1", "x2")
    assert not again.state.ended
    again.type("1995")
    assert again.node == "enrol.national_id"


def test_three_wrong_answers_outside_a_resumable_journey_keep_nothing() -> None:
    phone = Phone.dial(KNOWN).type("4", "1", "2", "3")
    assert phone.state.ended
    assert ENGINE.resumable(phone.state) is None
    assert not ENGINE.finished_resumable(phone.state)


def test_nothing_to_resume_at_an_outcome_or_an_action() -> None:
    scheme = SchemeSnapshot(mutuals=SCHEME.mutuals, products=(SCHOOL,))
    closed = Phone.dial(KNOWN, context(scheme, today=date(2027, 6, 1))).type("1", "3")
    assert closed.node == "enrol.closed"
    assert ENGINE.resumable(closed.state) is None
    assert ENGINE.finished_resumable(closed.state)
    no_offer = Phone.dial(KNOWN, context(SchemeSnapshot())).type("1")
    assert no_offer.node == "enrol.no_offer"
    assert ENGINE.resumable(no_offer.state) is None
    assert ENGINE.finished_resumable(no_offer.state)
    # waiting for the enrolment's result: the summary's snapshot is the one that counts
    pending = enrol_family(Phone.dial(KNOWN))
    assert pending.node == "enrol.enrol"
    assert ENGINE.resumable(pending.state) is None
    assert not ENGINE.finished_resumable(pending.state)


def test_outcomes_of_other_journeys_are_not_resumable_outcomes() -> None:
    phone = Phone.dial(KNOWN).type("4", "100000011")
    phone.resume({"found": False, "member_no": "100000011", "initial": "", "coverage": None})
    assert phone.node == "check.show"
    assert phone.state.ended
    assert ENGINE.resumable(phone.state) is None
    assert not ENGINE.finished_resumable(phone.state)
    home = Phone.dial(KNOWN)
    assert not ENGINE.finished_resumable(home.state)


def dropped_at_birth() -> dict[str, Any]:
    phone = Phone.dial(UNKNOWN).type("2", "1", "3", "Houngbo afi reine")
    assert phone.node == "enrol.birth"
    snapshot = ENGINE.resumable(phone.state)
    assert snapshot is not None
    return json.loads(json.dumps(snapshot))  # as stored in Redis


def test_a_dropped_enrolment_continues_where_it_stopped() -> None:
    phone = Phone.dial(UNKNOWN, context(resume=dropped_at_birth()))
    assert phone.node == "main.resume"
    # the snapshot's language wins over the caller's, from the very first screen
    phone.type("1")
    assert phone.state.language == "en"
    assert phone.reply == "CON Afi Reine: date of birth\nE.g. 25031985, 250385 or 1985\n0 Back"
    phone.type("1990", "123 456 7890", "4")
    phone.type("dossou jean", "1", "15/04/1988", "Marc", "3", "2016")
    phone.type("ella", "4", "01062019", "0")  # back from the summary works too
    assert phone.node == "enrol.dep_birth"
    phone.type("01062019", "1")
    assert phone.step.effect == replace(FAMILY_OF_FOUR, language="en")


def test_an_offer_saved_by_the_previous_release_can_still_be_taken_up() -> None:
    shown = Phone.dial(UNKNOWN, context(resume=dropped_at_birth()))
    saved = json.loads(shown.state.dumps())
    # That release kept the snapshot in the data, and had no fields for it.
    saved["data"] = {"_resume": saved.pop("resume")}
    del saved["forget_resume"]
    state = SessionState.loads(json.dumps(saved))
    step = ENGINE.advance(state, "1", shown.ctx)
    assert step.state.node == "enrol.birth"
    assert step.reply == "CON Afi Reine: date of birth\nE.g. 25031985, 250385 or 1985\n0 Back"


def test_the_resume_offer_is_in_the_language_the_session_started_in() -> None:
    phone = Phone.dial(KNOWN, context(resume=dropped_at_birth()))
    assert phone.reply == ("CON Vous aviez commencé une adhésion.\n1. Continuer\n2. Recommencer")


def test_a_dropped_enrolment_can_be_started_again() -> None:
    phone = Phone.dial(UNKNOWN, context(resume=dropped_at_birth())).type("2")
    # Every answer would be lost: asked once more, nothing erased yet.
    assert phone.node == "main.restart"
    assert phone.reply == "CON Effacer toutes vos réponses?\n1. Oui\n2. Non\n0 Retour"
    assert phone.state.resume is not None and not phone.state.forget_resume
    phone.type("1")
    assert phone.node == "main.language"
    assert phone.state.data == {}
    assert phone.state.resume is None and phone.state.forget_resume is True
    assert phone.state.back == [("main.resume", {}), ("main.restart", {})]


def test_no_to_erasing_continues_the_dropped_enrolment() -> None:
    phone = Phone.dial(UNKNOWN, context(resume=dropped_at_birth())).type("2", "2")
    assert phone.node == "enrol.birth"
    assert phone.state.data["head"]["last_name"] == "HOUNGBO"


def test_back_to_the_resume_offer_after_starting_again_does_not_crash() -> None:
    phone = Phone.dial(UNKNOWN, context(resume=dropped_at_birth())).type("2", "1", "0")
    phone.type("1")
    assert phone.reply.startswith("CON ")
    assert not phone.state.ended


# -- rights and member check ---------------------------------------------------------


def test_my_rights() -> None:
    phone = Phone.dial(KNOWN).type("3")
    assert phone.step.effect == ShowHouseholdRights(PHONE)
    phone.resume(
        {
            "found": True,
            "members": [
                {"member_no": "100000011", "first_names": "Afi Reine", "initial": "A"},
                {"member_no": "100000023", "first_names": "Jérôme", "initial": "J"},
            ],
            "coverage": {
                "status": "active",
                "start": "2026-02-09",
                "end": "2027-02-08",
                "amount_due": 0,
            },
        }
    )
    assert phone.reply == (
        "END Statut: couvert\nValable jusqu'au 08/02/2027\n100000011 Afi Reine\n100000023 Jérome"
    )


def test_check_a_member_number() -> None:
    phone = Phone.dial(KNOWN).type("4", "100 000 011")
    assert phone.step.effect == ShowMemberStatus("100000011")
    phone.resume(
        {
            "found": True,
            "member_no": "100000011",
            "initial": "A",
            "coverage": {
                "status": "waiting",
                "start": "2026-12-23",
                "end": "2027-12-22",
                "amount_due": 1575,
            },
        }
    )
    # someone else's number: status and dates, never what the household owes (its size)
    assert phone.reply == (
        "END Membre 100000011 (A.)\nStatut: délai avant les soins\n"
        "Soins couverts à partir du 23/12/2026"
    )
    assert "FCFA" not in phone.reply


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("status", ["pending_payment", "active", "grace", "lapsed"])
def test_checking_a_number_never_shows_the_amount_due(language: str, status: str) -> None:
    phone = Phone.dial({**KNOWN, "language": language}).type("4", "100000011")
    phone.resume(
        {
            "found": True,
            "member_no": "100000011",
            "initial": "A",
            "coverage": {
                "status": status,
                "start": "2026-02-09",
                "end": "2027-02-08",
                "amount_due": 4725,
            },
        }
    )
    assert phone.node == "check.show"
    assert "4725" not in phone.reply
    assert "Reste à payer" not in phone.reply and "Left to pay" not in phone.reply


def test_my_rights_still_show_what_my_household_owes() -> None:
    phone = Phone.dial(KNOWN).type("3")
    phone.resume(
        {
            "found": True,
            "members": [{"member_no": "100000011", "first_names": "Afi", "initial": "A"}],
            "coverage": {
                "status": "pending_payment",
                "start": None,
                "end": None,
                "amount_due": 1575,
            },
        }
    )
    assert "Reste à payer: 1575 F" in phone.reply.split("\n")


@pytest.mark.parametrize("ground", ["under_five", "pregnancy", "indigent"])
def test_a_check_says_a_sponsor_pays_never_why(ground: str) -> None:
    phone = Phone.dial(KNOWN).type("4", "100000011")
    phone.resume(
        {
            "found": True,
            "member_no": "100000011",
            "initial": "A",
            "coverage": {
                "status": "active",
                "start": "2026-02-09",
                "end": "2027-02-08",
                "amount_due": 0,
            },
            "ground": ground,
        }
    )
    assert phone.reply.endswith("Cotisation prise en charge (gratuité).")
    assert "grossesse" not in phone.reply and "indigent" not in phone.reply


def test_my_rights_say_who_is_in_free_care() -> None:
    phone = Phone.dial(KNOWN).type("3")
    phone.resume(
        {
            "found": True,
            "members": [
                {
                    "member_no": "100000011",
                    "first_names": "Afi",
                    "initial": "A",
                    "ground": "member",
                },
                {
                    "member_no": "100000022",
                    "first_names": "Ella",
                    "initial": "A",
                    "ground": "under_five",
                },
                {
                    "member_no": "100000033",
                    "first_names": "Awa",
                    "initial": "A",
                    "ground": "pregnancy",
                },
            ],
            "coverage": {
                "status": "active",
                "start": "2026-02-09",
                "end": "2027-02-08",
                "amount_due": 0,
            },
        }
    )
    lines = phone.reply.split("\n")
    assert "100000011 Afi" in lines
    assert "100000022 Ella: gratuité -5 ans" in lines
    assert "100000033 Awa: gratuité grossesse" in lines


def test_a_journey_node_defined_twice_is_refused() -> None:
    twice = Journey(
        "twice", (Say("hello", lines=[T("home_title")]), Say("hello", lines=[T("no_offer")]))
    )
    with pytest.raises(JourneyError, match=r"^journey 'twice', node 'hello': defined twice$"):
        Engine([*all_journeys(), twice], CATALOGUES)
