"""The household's persons: the head's questions, how many they are, then each
dependant's in turn.

Answers are kept in the session as they are typed (`head`, `deps`, `dep_count`), so a
dropped call costs nothing typed. Dependants typed before the caller went back stay in
`deps`; only the first `dep_count` are enrolled. The sex and relationship choices are
the agent's too, when adding a member to a household (`agent_members`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from menus import parsers, recorded
from menus.context import MenuContext
from menus.journeys.enrol_offer import chosen_product
from menus.nodes import Ask, Branch, Invalid, Menu, Node, Option, routes_to
from menus.state import SessionState
from menus.text import T, Text
from menus.values import Relationship

# Without a product cap, a household bigger than this is a typing mistake.
MAX_PERSONS = 16

SEXES = (Option(T("sex_male"), "M"), Option(T("sex_female"), "F"))
RELATIONSHIPS = (
    Option(T("relation_spouse"), Relationship.SPOUSE),
    Option(T("relation_child"), Relationship.CHILD),
    Option(T("relation_parent"), Relationship.PARENT),
    Option(T("relation_other"), Relationship.OTHER),
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


def _save_head(field: str) -> Callable[[SessionState, Any], None]:
    def save(state: SessionState, value: Any) -> None:
        head_answers(state)[field] = value

    return save


def _save_dependant(field: str) -> Callable[[SessionState, Any], None]:
    def save(state: SessionState, value: Any) -> None:
        _dependant(state)[field] = value

    return save


def _occupations(ctx: MenuContext, state: SessionState) -> list[Option]:
    return [
        Option(parsers.display_name(o.names.get(state.language, o.code)), o.code)
        for o in ctx.scheme.occupations
    ]


@routes_to("occupation", "national_id")
def _after_birth(ctx: MenuContext, state: SessionState) -> str:
    return "occupation" if ctx.scheme.occupations else "national_id"


def _largest_household(ctx: MenuContext, state: SessionState) -> int:
    cap = chosen_product(ctx, state).max_members
    return MAX_PERSONS if cap is None else cap


def _household_size(text: str, ctx: MenuContext, state: SessionState) -> int:
    """Persons in the household, the head included, so that "0" always means back."""
    largest = _largest_household(ctx, state)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= largest:
        raise Invalid(T("error_household_size", {"max": largest}))
    return int(text) - 1


@routes_to("household_size", "dep_name", "summary")
def _after_national_id(ctx: MenuContext, state: SessionState) -> str:
    if _largest_household(ctx, state) > 1:
        return "household_size"
    state.data["dep_count"] = 0  # a one-person product (a pupil): nobody to add
    return _after_count(ctx, state)


@routes_to("dep_name", "summary")
def _after_count(ctx: MenuContext, state: SessionState) -> str:
    # Dependants typed before going back stay in `deps`; only the first `dep_count` count.
    state.cursor["dep"] = 0
    return "dep_name" if state.data["dep_count"] else "summary"


def _dependant_name(text: str, ctx: MenuContext, state: SessionState) -> dict[str, str]:
    """`NOM Prenom(s)`; a single word is a first name sharing the head's family name.
    Spoken, the one recording stands for both until staff transcribe it."""
    if recorded.recording_of(text) is not None:
        return {"last_name": text, "first_names": text}
    words = parsers.clean_name(text).split(" ")
    if len(words) == 1:
        last_name, first_names = head_answers(state)["last_name"], parsers.capitalised(words[0])
    else:
        last_name, first_names = words[0].upper(), parsers.capitalised(" ".join(words[1:]))
    return {
        "last_name": parsers.within_limit(last_name),
        "first_names": parsers.within_limit(first_names),
    }


def _dependant_prompt(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    number = state.cursor.get("dep", 0) + 2  # the head is person 1
    return [T("ask_dependant_name", {"n": number, "total": state.data["dep_count"] + 1})]


@routes_to("dep_name", "summary")
def _next_dependant(ctx: MenuContext, state: SessionState) -> str:
    state.cursor["dep"] = state.cursor.get("dep", 0) + 1
    return "dep_name" if state.cursor["dep"] < state.data["dep_count"] else "summary"


# From the product's check ("last_name") to the summary, which confirms them all.
HOUSEHOLD_NODES: tuple[Node, ...] = (
    Ask(
        "last_name",
        prompt=[T("ask_head_last_name")],
        parse=parsers.or_recorded(parsers.family_name),
        save=_save_head("last_name"),
        next="first_names",
        spoken=True,
    ),
    Ask(
        "first_names",
        prompt=[T("ask_head_first_names")],
        parse=parsers.or_recorded(parsers.given_names),
        save=_save_head("first_names"),
        next="sex",
        spoken=True,
    ),
    Menu("sex", prompt=[T("ask_head_sex")], options=SEXES, next="birth", save=_save_head("sex")),
    Ask(
        "birth",
        prompt=[T("ask_head_birth")],
        parse=parsers.birth_date,
        save=_save_head("birth"),
        next=_after_birth,
    ),
    Menu(
        "occupation",
        prompt=[T("ask_occupation")],
        options=_occupations,
        next="national_id",
        save=_save_head("occupation"),
    ),
    Ask(
        "national_id",
        prompt=[T("ask_national_id")],
        parse=parsers.national_id,
        save=_save_head("national_id"),
        next=_after_national_id,
    ),
    Ask(
        "household_size",
        prompt=[T("ask_household_size")],
        parse=_household_size,
        save="dep_count",
        next=_after_count,
    ),
    Ask(
        "dep_name",
        prompt=_dependant_prompt,
        parse=_dependant_name,
        save=_save_dependant("name"),
        next="dep_sex",
        spoken=True,
    ),
    Menu(
        "dep_sex",
        prompt=[T("ask_dependant_sex")],
        options=SEXES,
        next="dep_birth",
        save=_save_dependant("sex"),
    ),
    Ask(
        "dep_birth",
        prompt=[T("ask_dependant_birth")],
        parse=parsers.birth_date,
        save=_save_dependant("birth"),
        next="dep_relation",
    ),
    Menu(
        "dep_relation",
        prompt=[T("ask_relationship")],
        options=RELATIONSHIPS,
        next="dep_next",
        save=_save_dependant("relationship"),
    ),
    Branch("dep_next", next=_next_dependant),
)
