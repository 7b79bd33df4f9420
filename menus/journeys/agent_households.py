"""A household of the agent's mutual, found by its member number: the first step of
adding a member, taking cash and looking a household up, with the heading each of
them shows it under. The look-up itself is here too: it is that step and a screen.
"""

from __future__ import annotations

from collections.abc import Sequence

from menus import parsers
from menus.context import MenuContext
from menus.effects import FindHousehold
from menus.journeys.agent_phone import calling_agent_id
from menus.journeys.coverage_lines import coverage_lines
from menus.nodes import Act, Ask, Node, Route, Say, routes_to
from menus.state import SessionState
from menus.text import T, Text


def find_household(ctx: MenuContext, state: SessionState) -> FindHousehold:
    return FindHousehold(calling_agent_id(state), state.data["member_no"])


def household_found(next_node: str) -> Route:
    """Where a household looked up by number leads: `next_node` once found."""

    @routes_to(next_node, "unknown", "other_mutual", "disabled")
    def route(ctx: MenuContext, state: SessionState) -> str:
        outcome = state.data["household"]["outcome"]
        if outcome == "found":
            return next_node
        return {"unknown_member": "unknown", "other_mutual": "other_mutual"}.get(
            outcome, "disabled"
        )

    return route


def household_heading(state: SessionState) -> Text:
    found = state.data["household"]
    last, first = found["head_last_name"], found["head_first_names"]
    name: Text = (
        parsers.shown_name(last, first)
        if parsers.name_pending(last) or parsers.name_pending(first)
        else parsers.display_name(f"{last} {first[:1]}.")
    )
    return T(
        "agent_household",
        {
            "member_no": found["member_no"],
            "name": name,
            "persons": found["persons"],
        },
    )


def _lookup_lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    found = state.data["household"]
    lines: list[Text] = [household_heading(state), *coverage_lines(found["coverage"])]
    lines += [
        T(
            "member_line",
            {"member_no": m["member_no"], "name": parsers.shown_name(m["first_names"])},
        )
        for m in found["members"]
    ]
    return lines


LOOKUP_NODES: tuple[Node, ...] = (
    Ask(
        "look_no",
        prompt=[T("agent_ask_member_no")],
        parse=parsers.member_no,
        save="member_no",
        next="look_find",
    ),
    Act("look_find", effect=find_household, save="household", next=household_found("look_show")),
    Say("look_show", lines=_lookup_lines),
)
