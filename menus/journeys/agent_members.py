"""Adding a member to a household of the agent's mutual: found by its number, refused
when the product's cap is reached, then the same questions as for a dependant at
enrolment. The gateway writes the member (`AddMember`) and says what is now due.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from menus import parsers
from menus.context import MenuContext
from menus.effects import AddMember, PersonDraft
from menus.journeys.agent_households import find_household, household_found, household_heading
from menus.journeys.agent_phone import calling_agent_id
from menus.journeys.enrol_household import RELATIONSHIPS, SEXES
from menus.nodes import Act, Ask, Branch, Invalid, Menu, Node, Option, Say, routes_to
from menus.state import SessionState
from menus.text import Money, T, Text


@routes_to("full", "add_name")
def _can_add(ctx: MenuContext, state: SessionState) -> str:
    found = state.data["household"]
    if found["max_persons"] is not None and found["persons"] >= found["max_persons"]:
        return "full"
    return "add_name"


def _add_name_prompt(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    return [household_heading(state), T("agent_ask_new_member_name")]


def _new_member_name(text: str, ctx: MenuContext, state: SessionState) -> dict[str, str]:
    """`NOM Prenom(s)`; one word is a first name with the head's family name."""
    words = parsers.clean_name(text).split(" ")
    if len(words) == 1:
        head_last_name = state.data["household"]["head_last_name"]
        if parsers.name_pending(head_last_name):  # said on a call, not yet transcribed
            raise Invalid(T("agent_error_full_name"))
        last, first = head_last_name, parsers.capitalised(words[0])
    else:
        last, first = words[0].upper(), parsers.capitalised(" ".join(words[1:]))
    return {"last_name": parsers.within_limit(last), "first_names": parsers.within_limit(first)}


def _add_summary(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    person = state.data["new"]
    return [
        T(
            "agent_add_summary",
            {
                "name": parsers.display_name(
                    f"{person['name']['last_name']} {person['name']['first_names']}"
                ),
                "household": state.data["household"]["member_no"],
                "amount": Money(_added_price(ctx, state)),
            },
        )
    ]


def _added_price(ctx: MenuContext, state: SessionState) -> int:
    """What the newcomer adds: their own price by age (a child's band, free care for a
    baby) on a product priced per person; one more share of the count otherwise."""
    household = state.data["household"]
    product = ctx.scheme.product(household.get("product_code", ""))
    if product is None or product.household_premium is not None:
        return int(household["premium_per_added"])
    born = date.fromisoformat(state.data["new"]["birth"]["date"])
    return product.premium_of([born], ctx.today)


def _add(ctx: MenuContext, state: SessionState) -> AddMember:
    person = state.data["new"]
    return AddMember(
        calling_agent_id(state),
        state.data["member_no"],
        PersonDraft(
            last_name=person["name"]["last_name"],
            first_names=person["name"]["first_names"],
            sex=person["sex"],
            birth_date=person["birth"]["date"],
            birth_year_only=person["birth"]["year_only"],
            relationship=person["relationship"],
        ),
    )


@routes_to("added", "add_duplicate", "full", "other_mutual", "unknown", "disabled", "refused")
def _after_add(ctx: MenuContext, state: SessionState) -> str:
    outcome = state.data["added"]["outcome"]
    return {
        "added": "added",
        "duplicate": "add_duplicate",
        "full": "full",
        "other_mutual": "other_mutual",
        "unknown_member": "unknown",
        "disabled": "disabled",
    }.get(outcome, "refused")


def save_new(field: str) -> Callable[[SessionState, Any], None]:
    """Saves an answer about the person being added (a newcomer, a newborn)."""

    def save(state: SessionState, value: Any) -> None:
        state.data.setdefault("new", {})[field] = value

    return save


ADD_MEMBER_NODES: tuple[Node, ...] = (
    Ask(
        "add_no",
        prompt=[T("agent_ask_member_no")],
        parse=parsers.member_no,
        save="member_no",
        next="add_find",
    ),
    Act("add_find", effect=find_household, save="household", next=household_found("add_check")),
    Branch("add_check", next=_can_add),
    Ask(
        "add_name",
        prompt=_add_name_prompt,
        parse=_new_member_name,
        save=save_new("name"),
        next="add_sex",
    ),
    Menu(
        "add_sex",
        prompt=[T("ask_dependant_sex")],
        options=SEXES,
        next="add_birth",
        save=save_new("sex"),
    ),
    Ask(
        "add_birth",
        prompt=[T("ask_dependant_birth")],
        parse=parsers.birth_date,
        save=save_new("birth"),
        next="add_relation",
    ),
    Menu(
        "add_relation",
        prompt=[T("ask_relationship")],
        options=RELATIONSHIPS,
        next="add_confirm",
        save=save_new("relationship"),
    ),
    Menu(
        "add_confirm",
        prompt=_add_summary,
        options=(
            Option(T("confirm"), True, next="add_save"),
            Option(T("cancel"), False, next="cancelled"),
        ),
        next="add_save",
    ),
    Act("add_save", effect=_add, save="added", next=_after_add),
    Say(
        "added",
        lines=lambda ctx, state: [
            T(
                "agent_member_added",
                {
                    "member_no": state.data["added"]["member_no"],
                    "amount": Money(state.data["added"]["amount_due"]),
                },
            )
        ],
    ),
    Say("add_duplicate", lines=[T("agent_member_duplicate")]),
    Say("full", lines=[T("agent_household_full")]),
)
