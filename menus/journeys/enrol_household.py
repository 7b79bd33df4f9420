"""The household's persons: the head's name (checked at once against the households this
phone already heads), birth date and NPI, how many they are, the product that fits that
size, then each dependant in turn, and the head's sex when no spouse told it.

Every question names the person it is about ("Marc (3/4): ..."), from the answers kept in
the session, so it does after a resume too. Answers are kept as they are typed (`head`,
`deps`, `dep_count`), so a dropped call costs nothing typed. Dependants typed before the
caller went back stay in `deps`; only the first `dep_count` are enrolled.

Fewer answers for people on a slow keypad: family name and first names on one screen,
sex and relationship one choice ("Mari", "Fille"...), the occupation left to agents, the
product asked only when more than one fits the household, and the head's sex taken from
a spouse's ("Mari": the head is a woman). The sex and relationship choices are the
agent's too, when adding a member to a household (`agent_members`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from menus import parsers, recorded
from menus.context import MenuContext, Product
from menus.effects import FindHeadedHousehold
from menus.journeys.enrol_offer import (
    open_products,
    product_label,
    registering_agent,
)
from menus.nodes import Act, Ask, Branch, Invalid, Menu, Node, Option, routes_to
from menus.state import SessionState
from menus.text import T, Text
from menus.values import Relationship

# Without a product cap, a household bigger than this is a typing mistake.
MAX_PERSONS = 16
# Typed at the NPI question by those who have none: "2" reads as "no" (1 yes, 2 no), is
# no NPI (those have 10 digits) and none of the navigation keys (0, 00, 98).
NO_NATIONAL_ID = "2"

SEXES = (Option(T("sex_male"), "M"), Option(T("sex_female"), "F"))
RELATIONSHIPS = (
    Option(T("relation_spouse"), Relationship.SPOUSE),
    Option(T("relation_child"), Relationship.CHILD),
    Option(T("relation_parent"), Relationship.PARENT),
    Option(T("relation_other"), Relationship.OTHER),
)
# A dependant's relationship and sex in one answer: (relationship, sex).
KINSHIPS = (
    Option(T("kin_husband"), (Relationship.SPOUSE, "M")),
    Option(T("kin_wife"), (Relationship.SPOUSE, "F")),
    Option(T("kin_son"), (Relationship.CHILD, "M")),
    Option(T("kin_daughter"), (Relationship.CHILD, "F")),
    Option(T("kin_father"), (Relationship.PARENT, "M")),
    Option(T("kin_mother"), (Relationship.PARENT, "F")),
    Option(T("kin_other_man"), (Relationship.OTHER, "M")),
    Option(T("kin_other_woman"), (Relationship.OTHER, "F")),
)


def _dependant(state: SessionState) -> dict[str, Any]:
    deps: list[dict[str, Any]] = state.data.setdefault("deps", [])
    index = state.cursor.get("dep", 0)
    while len(deps) <= index:
        deps.append({})
    return deps[index]


def head_answers(state: SessionState) -> dict[str, Any]:
    """What the head of the household answered so far."""
    head: dict[str, Any] = state.data.setdefault("head", {})
    return head


def enrolled_dependants(state: SessionState) -> list[dict[str, Any]]:
    """The dependants to enrol: the first `dep_count` typed."""
    deps: list[dict[str, Any]] = state.data.get("deps", [])
    return deps[: state.data.get("dep_count", 0)]


def _save_head(field: str) -> Callable[[SessionState, Any], None]:
    def save(state: SessionState, value: Any) -> None:
        head_answers(state)[field] = value

    return save


def _save_dependant(field: str) -> Callable[[SessionState, Any], None]:
    def save(state: SessionState, value: Any) -> None:
        _dependant(state)[field] = value

    return save


def _save_kinship(state: SessionState, value: tuple[str, str]) -> None:
    dependant = _dependant(state)
    dependant["relationship"], dependant["sex"] = value


# -- whom a question is about ---------------------------------------------------


def _persons(state: SessionState) -> int | None:
    count = state.data.get("dep_count")
    return None if count is None else count + 1


def _who(state: SessionState, first_names: str, number: int) -> Text:
    """Names the person a question is about: "Marc (3/4)" once the household's size is
    known, "Marc" before."""
    name = parsers.shown_name(first_names)
    total = _persons(state)
    if total is None:
        return name
    return T("person_of", {"name": name, "n": number, "total": total})


def _head(state: SessionState) -> Text:
    return _who(state, head_answers(state).get("first_names", ""), 1)


def _current(state: SessionState) -> Text:
    return _who(state, _dependant(state)["name"]["first_names"], state.cursor.get("dep", 0) + 2)


# -- the head -------------------------------------------------------------------


def split_name(text: str) -> tuple[str, str]:
    """`NOM Prenom(s)` typed on one screen: the family name is its leading words in
    capitals ("DOSSOU YOVO Marc"), else its first word ("houngbo afi"); each part is
    checked as a name on its own (letters, 2 to 40). Raises `Invalid` with no reason of
    its own: the question says what to type."""
    words = text.split()
    family = 0
    while family < len(words) - 1 and words[family].isupper():
        family += 1
    family = family or 1
    if len(words) < 2:
        raise Invalid(T("error_name"))
    last_name = parsers.clean_name(" ".join(words[:family]))
    first_names = parsers.clean_name(" ".join(words[family:]))
    return (
        parsers.within_limit(last_name.upper()),
        parsers.within_limit(parsers.capitalised(first_names)),
    )


def _head_name(text: str, ctx: MenuContext, state: SessionState) -> dict[str, str]:
    """Family name and first names on one screen. On a call the family name is said
    alone (a recording cannot be split in two): the first names are asked next."""
    if ctx.by_voice and recorded.recording_of(text) is not None:
        return {"last_name": text}
    try:
        last_name, first_names = split_name(text)
    except Invalid:
        raise Invalid(T("error_head_name")) from None
    return {"last_name": last_name, "first_names": first_names}


def _save_head_name(state: SessionState, name: dict[str, str]) -> None:
    head = head_answers(state)
    head.pop("first_names", None)  # typed again with the family name, or asked next
    head.update(name)


@routes_to("head_first_names", "headed")
def _after_head_name(ctx: MenuContext, state: SessionState) -> str:
    return "headed" if "first_names" in head_answers(state) else "head_first_names"


def _head_name_prompt(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    # Speaking costs no keypad presses: on a call, the family name and the first names
    # are two recordings, as staff transcribe them.
    return [T("ask_head_last_name")] if ctx.by_voice else [T("ask_head_name")]


def household_phone(state: SessionState) -> str:
    """The phone the household is enrolled with: the caller's, or the one an agent typed."""
    phone: str = (
        state.data["household_phone"] if registering_agent(state) else state.caller["phone"]
    )
    return phone


def _find_headed(ctx: MenuContext, state: SessionState) -> FindHeadedHousehold:
    head = head_answers(state)
    return FindHeadedHousehold(household_phone(state), head["last_name"], head["first_names"])


@routes_to("already", "another", "birth")
def _after_headed(ctx: MenuContext, state: SessionState) -> str:
    """A phone that already heads a household of this name is told so at once; one that
    heads another household may enrol this one too, and is told that."""
    headed = state.data["headed"]
    if headed.get("same"):
        return "already"
    return "another" if headed.get("other") else "birth"


def already_lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    head = head_answers(state)
    params = {
        "name": parsers.shown_name(head["last_name"], head["first_names"]),
        "member_no": state.data["headed"]["same"],
    }
    return [T("enrol_already", params)]


def _national_id(text: str, ctx: MenuContext, state: SessionState) -> str | None:
    if text.strip() == NO_NATIONAL_ID:
        return None
    parsed = ctx.national_id.parse(text)
    if parsed is None:
        raise Invalid(T("error_npi", {"digits": ctx.national_id.length, "none": NO_NATIONAL_ID}))
    return parsed


def _national_id_prompt(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    params = {"who": _head(state), "digits": ctx.national_id.length, "none": NO_NATIONAL_ID}
    return [T("ask_npi", params)]


# -- the household's size and its product ----------------------------------------


def _largest_household(ctx: MenuContext, state: SessionState) -> int:
    caps = [p.max_members for p in open_products(ctx, state)]
    if not caps or None in caps:
        return MAX_PERSONS
    return max(cap for cap in caps if cap is not None)


def _household_size(text: str, ctx: MenuContext, state: SessionState) -> int:
    """Persons in the household, the head included, so that "0" always means back."""
    largest = _largest_household(ctx, state)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= largest:
        raise Invalid(T("error_household_size", {"max": largest}))
    return int(text) - 1


def _occupations(ctx: MenuContext, state: SessionState) -> list[Option]:
    return [
        Option(parsers.display_name(o.names.get(state.language, o.code)), o.code)
        for o in ctx.scheme.occupations
    ]


@routes_to("occupation", "household_size", "product_pick")
def _after_national_id(ctx: MenuContext, state: SessionState) -> str:
    # An agent at the door asks the occupation; the public form leaves it to them.
    if registering_agent(state) is not None and ctx.scheme.occupations:
        return "occupation"
    return _after_occupation(ctx, state)


@routes_to("household_size", "product_pick")
def _after_occupation(ctx: MenuContext, state: SessionState) -> str:
    if _largest_household(ctx, state) > 1:
        return "household_size"
    state.data["dep_count"] = 0  # only one-person products (a pupil): nobody to add
    return "product_pick"


def _fitting(ctx: MenuContext, state: SessionState) -> list[Product]:
    persons = state.data["dep_count"] + 1
    return [
        p for p in open_products(ctx, state) if p.max_members is None or persons <= p.max_members
    ]


@routes_to("product", "dep_name", "head_sex_check")
def _product_pick(ctx: MenuContext, state: SessionState) -> str:
    fitting = _fitting(ctx, state)
    if len(fitting) == 1:  # nothing to choose
        state.data["product"] = fitting[0].code
        return _after_product(ctx, state)
    return "product"


def _products(ctx: MenuContext, state: SessionState) -> list[Option]:
    return [Option(product_label(p, state.language), p.code) for p in _fitting(ctx, state)]


@routes_to("dep_name", "head_sex_check")
def _after_product(ctx: MenuContext, state: SessionState) -> str:
    # Dependants typed before going back stay in `deps`; only the first `dep_count` count.
    state.cursor["dep"] = 0
    return "dep_name" if state.data["dep_count"] else "head_sex_check"


# -- each dependant ---------------------------------------------------------------


def _dependant_name(text: str, ctx: MenuContext, state: SessionState) -> dict[str, str]:
    """`NOM Prenom(s)`; a single word is a first name sharing the head's family name.
    Spoken, the one recording stands for both until staff transcribe it."""
    if recorded.recording_of(text) is not None:
        return {"last_name": text, "first_names": text}
    try:
        if len(text.split()) == 1:
            first_names = parsers.capitalised(parsers.clean_name(text))
            last_name = head_answers(state)["last_name"]
            return {"last_name": last_name, "first_names": parsers.within_limit(first_names)}
        last_name, first_names = split_name(text)
    except Invalid:
        raise Invalid(T("error_dependant_name")) from None
    return {"last_name": last_name, "first_names": first_names}


def _dependant_name_prompt(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    head = head_answers(state)
    params = {
        "n": state.cursor.get("dep", 0) + 2,  # the head is person 1
        "total": state.data["dep_count"] + 1,
        "family": parsers.shown_name(head["last_name"]),
    }
    return [T("ask_person_name", params)]


def _kinship_prompt(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    first_names = head_answers(state)["first_names"]
    return [T("ask_kinship", {"who": _current(state), "head": parsers.shown_name(first_names)})]


def _dependant_birth_prompt(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    return [T("ask_birth", {"who": _current(state)})]


@routes_to("dep_name", "head_sex_check")
def _next_dependant(ctx: MenuContext, state: SessionState) -> str:
    state.cursor["dep"] = state.cursor.get("dep", 0) + 1
    return "dep_name" if state.cursor["dep"] < state.data["dep_count"] else "head_sex_check"


# -- the head's sex, unless a spouse told it ----------------------------------------


def sex_from_spouses(state: SessionState) -> str | None:
    """A husband makes the head a woman, a wife a man; None when no spouse (or spouses
    of both sexes) says it."""
    told = {
        "F" if d.get("sex") == "M" else "M"
        for d in enrolled_dependants(state)
        if d.get("relationship") == Relationship.SPOUSE
    }
    return told.pop() if len(told) == 1 else None


@routes_to("head_sex", "headed_again")
def _head_sex_check(ctx: MenuContext, state: SessionState) -> str:
    told = sex_from_spouses(state)
    if told is None:
        return "head_sex"
    head_answers(state)["sex"] = told
    return "headed_again"


@routes_to("already", "summary")
def _after_headed_again(ctx: MenuContext, state: SessionState) -> str:
    """Checked once more before the summary: a session resumed from an earlier call, or
    one running beside another, may have had its household enrolled meanwhile."""
    return "already" if state.data["headed"].get("same") else "summary"


def _head_sex_prompt(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    return [T("ask_sex", {"who": _head(state)})]


# From the mutual's offer ("head_name") to the summary, which confirms them all.
HOUSEHOLD_NODES: tuple[Node, ...] = (
    Ask(
        "head_name",
        prompt=_head_name_prompt,
        parse=_head_name,
        save=_save_head_name,
        next=_after_head_name,
        spoken=True,
    ),
    Ask(
        "head_first_names",
        prompt=[T("ask_head_first_names")],
        parse=parsers.or_recorded(parsers.given_names),
        save=_save_head("first_names"),
        next="headed",
        spoken=True,
    ),
    Act("headed", effect=_find_headed, save="headed", next=_after_headed),
    Menu(
        "another",
        prompt=lambda ctx, state: [
            T("enrol_another_household", {"member_no": state.data["headed"]["other"]})
        ],
        options=(Option(T("enrol_continue"), True),),
        next="birth",
    ),
    Ask(
        "birth",
        prompt=lambda ctx, state: [T("ask_birth", {"who": _head(state)})],
        parse=parsers.birth_date,
        save=_save_head("birth"),
        next="national_id",
    ),
    Ask(
        "national_id",
        prompt=_national_id_prompt,
        parse=_national_id,
        save=_save_head("national_id"),
        next=_after_national_id,
    ),
    Menu(
        "occupation",
        prompt=lambda ctx, state: [T("ask_occupation_of", {"who": _head(state)})],
        options=_occupations,
        next=_after_occupation,
        save=_save_head("occupation"),
    ),
    Ask(
        "household_size",
        prompt=lambda ctx, state: [T("ask_persons", {"who": _head(state)})],
        parse=_household_size,
        save="dep_count",
        next="product_pick",
    ),
    Branch("product_pick", next=_product_pick),
    Menu(
        "product",
        prompt=[T("ask_product")],
        options=_products,
        next=_after_product,
        save="product",
    ),
    Ask(
        "dep_name",
        prompt=_dependant_name_prompt,
        parse=_dependant_name,
        save=_save_dependant("name"),
        next="dep_kin",
        spoken=True,
    ),
    Menu("dep_kin", prompt=_kinship_prompt, options=KINSHIPS, next="dep_birth", save=_save_kinship),
    Ask(
        "dep_birth",
        prompt=_dependant_birth_prompt,
        parse=parsers.birth_date,
        save=_save_dependant("birth"),
        next="dep_next",
    ),
    Branch("dep_next", next=_next_dependant),
    Branch("head_sex_check", next=_head_sex_check),
    Menu(
        "head_sex",
        prompt=_head_sex_prompt,
        options=SEXES,
        next="headed_again",
        save=_save_head("sex"),
    ),
    Act("headed_again", effect=_find_headed, save="headed", next=_after_headed_again),
)
