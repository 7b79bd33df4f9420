"""Join a mutual with the household: head first, then each dependant, then confirm.

Every answer is kept in the session (and in the resume snapshot) so a dropped call
costs nothing typed; the household is written only by the final `EnrolHousehold`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from menus import parsers
from menus.caller import FieldAgent, field_agent
from menus.context import MenuContext, Product
from menus.effects import EnrolHousehold, PersonDraft
from menus.identifiers import PhoneNumberError, normalise_phone
from menus.nodes import (
    Act,
    Ask,
    Branch,
    Entry,
    Invalid,
    Journey,
    Menu,
    Option,
    Outcome,
    Say,
    routes_to,
)
from menus.state import SessionState
from menus.text import Money, T, Text
from menus.values import Channel, Relationship

# More mutuals than this and the caller picks a commune first.
MUTUALS_BEFORE_COMMUNES = 6
# Without a product cap, a household bigger than this is a typing mistake.
MAX_PERSONS = 16

SEXES = (Option(T("sex_male"), "M"), Option(T("sex_female"), "F"))
RELATIONSHIPS = (
    Option(T("relation_spouse"), Relationship.SPOUSE),
    Option(T("relation_child"), Relationship.CHILD),
    Option(T("relation_parent"), Relationship.PARENT),
    Option(T("relation_other"), Relationship.OTHER),
)


def _product(ctx: MenuContext, state: SessionState) -> Product:
    product = ctx.scheme.product(state.data["product"])
    assert product is not None, "scheme changed under a session"
    return product


def _dependant(state: SessionState) -> dict[str, Any]:
    deps: list[dict[str, Any]] = state.data.setdefault("deps", [])
    index = state.cursor.get("dep", 0)
    while len(deps) <= index:
        deps.append({})
    return deps[index]


def _head(state: SessionState) -> dict[str, Any]:
    head: dict[str, Any] = state.data.setdefault("head", {})
    return head


def _save_head(field: str) -> Callable[[SessionState, Any], None]:
    def save(state: SessionState, value: Any) -> None:
        _head(state)[field] = value

    return save


def _save_dependant(field: str) -> Callable[[SessionState, Any], None]:
    def save(state: SessionState, value: Any) -> None:
        _dependant(state)[field] = value

    return save


def _registering_agent(state: SessionState) -> FieldAgent | None:
    """The signed-in agent registering this household for someone else, if any."""
    agent = field_agent(state)
    return agent if agent is not None and agent.signed_in else None


# -- where to join ---------------------------------------------------------------


@routes_to("household_phone", "no_offer", "product_pick", "commune", "mutual")
def _start(ctx: MenuContext, state: SessionState) -> str:
    agent = _registering_agent(state)
    if agent is not None:
        # An agent registers for someone else, in the agent's own mutual only.
        state.data["mutual"] = agent.mutual
        return "household_phone"
    mutuals = ctx.scheme.mutuals
    if not mutuals:
        return "no_offer"
    if len(mutuals) == 1:
        state.data["mutual"] = mutuals[0].code
        return "product_pick"
    return "commune" if len(mutuals) > MUTUALS_BEFORE_COMMUNES else "mutual"


def _communes(ctx: MenuContext, state: SessionState) -> list[Option]:
    return [Option(parsers.display_name(c), c) for c in ctx.scheme.communes()]


def _mutuals(ctx: MenuContext, state: SessionState) -> list[Option]:
    commune = state.data.get("commune")
    return [
        Option(parsers.display_name(m.name), m.code)
        for m in ctx.scheme.mutuals
        if commune is None or m.commune == commune
    ]


@routes_to("no_offer", "product_check", "product")
def _product_pick(ctx: MenuContext, state: SessionState) -> str:
    products = ctx.scheme.products_of(state.data["mutual"])
    if not products:
        return "no_offer"
    if len(products) == 1:
        state.data["product"] = products[0].code
        return "product_check"
    return "product"


def _products(ctx: MenuContext, state: SessionState) -> list[Option]:
    lang = state.language
    return [
        Option(
            T(
                "product_label",
                {"name": p.names.get(lang, p.code), "price": Money(p.premium_per_person)},
            )
            if p.household_premium is None
            else T(
                "product_label_household",
                {"name": p.names.get(lang, p.code), "price": Money(p.household_premium)},
            ),
            p.code,
        )
        for p in ctx.scheme.products_of(state.data["mutual"])
    ]


@routes_to("last_name", "closed")
def _product_check(ctx: MenuContext, state: SessionState) -> str:
    return "last_name" if _product(ctx, state).is_open(ctx.today) else "closed"


def _closed(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    return [T("campaign_closed", {"date": _product(ctx, state).next_opening(ctx.today)})]


# -- the household ---------------------------------------------------------------


def _occupations(ctx: MenuContext, state: SessionState) -> list[Option]:
    return [
        Option(parsers.display_name(o.names.get(state.language, o.code)), o.code)
        for o in ctx.scheme.occupations
    ]


@routes_to("occupation", "national_id")
def _after_birth(ctx: MenuContext, state: SessionState) -> str:
    return "occupation" if ctx.scheme.occupations else "national_id"


def _largest_household(ctx: MenuContext, state: SessionState) -> int:
    cap = _product(ctx, state).max_members
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
    """`NOM Prenom(s)`; a single word is a first name sharing the head's family name."""
    words = parsers.clean_name(text).split(" ")
    if len(words) == 1:
        last_name, first_names = _head(state)["last_name"], parsers.capitalised(words[0])
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


def _summary(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    product = _product(ctx, state)
    persons = state.data["dep_count"] + 1
    head = _head(state)
    return [
        T(
            "enrol_summary",
            {
                "name": parsers.display_name(f"{head['last_name']} {head['first_names']}"),
                "persons": persons,
                "product": parsers.display_name(product.names.get(state.language, product.code)),
                "total": Money(product.member_share(persons)),
            },
        )
    ]


def _draft(person: dict[str, Any], relationship: str) -> PersonDraft:
    return PersonDraft(
        last_name=person["last_name"],
        first_names=person["first_names"],
        sex=person["sex"],
        birth_date=person["birth"]["date"],
        birth_year_only=person["birth"]["year_only"],
        relationship=relationship,
        occupation=person.get("occupation"),
        national_id=person.get("national_id"),
    )


def _household_phone(text: str, ctx: MenuContext, state: SessionState) -> str:
    try:
        return normalise_phone(text, ctx.country)
    except PhoneNumberError:
        raise Invalid(T("error_phone")) from None


def _enrol(ctx: MenuContext, state: SessionState) -> EnrolHousehold:
    head = _head(state)
    deps = state.data.get("deps", [])[: state.data["dep_count"]]
    agent = _registering_agent(state)
    return EnrolHousehold(
        mutual_code=state.data["mutual"],
        product_code=state.data["product"],
        # Registered by an agent: the household's own phone gets its SMS, not the agent's.
        phone=state.data["household_phone"] if agent else state.caller["phone"],
        language=state.language,
        head=_draft(head, Relationship.HEAD),
        dependants=tuple(_draft({**d, **d["name"]}, d["relationship"]) for d in deps),
        channel=Channel.AGENT if agent else Channel.USSD,
        agent_id=agent.id if agent else None,
    )


@routes_to("done", "duplicate", "closed", "refused")
def _after_enrol(ctx: MenuContext, state: SessionState) -> str:
    outcome = state.data["result"]["outcome"]
    return {"enrolled": "done", "duplicate": "duplicate", "closed": "closed"}.get(
        outcome, "refused"
    )


def _done(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    result = state.data["result"]
    params = {"member_no": result["member_no"], "amount": Money(result["premium_due"])}
    if _registering_agent(state) is not None:
        return [T("agent_enrol_done", params)]
    return [T("enrol_done", params)]


def _duplicate(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    params = {"member_no": state.data["result"]["member_no"]}
    if _registering_agent(state) is not None:
        return [T("agent_enrol_duplicate", params)]
    return [T("enrol_duplicate", params)]


def _closed_now(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    opens_on = state.data.get("result", {}).get("opens_on")
    if opens_on:
        return [T("campaign_closed", {"date": date.fromisoformat(opens_on)})]
    return _closed(ctx, state)


JOURNEY = Journey(
    name="enrol",
    entry=Entry(T("menu_enrol"), order=10),
    resumable=True,
    nodes=(
        Branch("start", next=_start),
        Ask(
            "household_phone",
            prompt=[T("ask_household_phone")],
            parse=_household_phone,
            save="household_phone",
            next="product_pick",
        ),
        Menu(
            "commune", prompt=[T("ask_commune")], options=_communes, next="mutual", save="commune"
        ),
        Menu(
            "mutual", prompt=[T("ask_mutual")], options=_mutuals, next="product_pick", save="mutual"
        ),
        Branch("product_pick", next=_product_pick),
        Menu(
            "product",
            prompt=[T("ask_product")],
            options=_products,
            next="product_check",
            save="product",
        ),
        Branch("product_check", next=_product_check),
        Ask(
            "last_name",
            prompt=[T("ask_head_last_name")],
            parse=parsers.family_name,
            save=_save_head("last_name"),
            next="first_names",
        ),
        Ask(
            "first_names",
            prompt=[T("ask_head_first_names")],
            parse=parsers.given_names,
            save=_save_head("first_names"),
            next="sex",
        ),
        Menu(
            "sex", prompt=[T("ask_head_sex")], options=SEXES, next="birth", save=_save_head("sex")
        ),
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
        Menu(
            "summary",
            prompt=_summary,
            options=(
                Option(T("confirm"), True, next="enrol"),
                Option(T("cancel"), False, next="cancelled"),
            ),
            next="enrol",
        ),
        Act("enrol", effect=_enrol, save="result", next=_after_enrol),
        Say("done", lines=_done, outcome=Outcome.ENROLLED),
        Say("duplicate", lines=_duplicate),
        Say("closed", lines=_closed_now),
        Say("refused", lines=[T("enrol_refused")]),
        Say("cancelled", lines=[T("enrol_cancelled")]),
        Say("no_offer", lines=[T("no_offer")]),
    ),
)
