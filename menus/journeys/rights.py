"""My household's rights: each member and where the coverage stands."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from menus import parsers
from menus.context import MenuContext
from menus.effects import ShowHouseholdRights
from menus.journeys import entries
from menus.journeys.coverage_lines import FREE_CARE_GROUNDS, coverage_lines
from menus.journeys.entries import (
    household_count,
    household_name,
    households,
    readable_member_no,
)
from menus.nodes import Act, Branch, Entry, Journey, Menu, Option, Say, routes_to
from menus.state import SessionState
from menus.text import Money, T, Text


def _known(ctx: MenuContext, state: SessionState) -> bool:
    return bool(state.caller.get("member_no"))


def _lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    rights = state.data["rights"]
    if not rights["found"]:
        return [T("rights_none")]
    lines = coverage_lines(rights["coverage"])
    upcoming = rights.get("next")
    if upcoming and upcoming["start"] and upcoming["end"]:
        dates = {
            "start": date.fromisoformat(upcoming["start"]),
            "end": date.fromisoformat(upcoming["end"]),
        }
        lines.append(T("rights_next_paid", dates))
    elif upcoming:
        lines.append(T("rights_next_due", {"amount": Money(upcoming["amount_due"])}))
    lines += [_member(m) for m in rights["members"]]
    return lines


def _member(member: dict[str, Any]) -> Text:
    """One member; someone whose premium a free-care sponsor pays says on what ground."""
    params = {"member_no": member["member_no"], "name": parsers.shown_name(member["first_names"])}
    ground = member.get("ground")
    if ground in FREE_CARE_GROUNDS:
        return T("member_line_ground", {**params, "ground": T(f"ground_{ground}")})
    return T("member_line", params)


def _households(ctx: MenuContext, state: SessionState) -> list[Option]:
    return [
        Option(
            T(
                "rights_household",
                {"name": household_name(h), "member_no": readable_member_no(h["member_no"])},
            ),
            h["member_no"],
        )
        for h in households(state)
    ]


@routes_to("which", "load")
def _start(ctx: MenuContext, state: SessionState) -> str:
    """A phone that heads several households picks one (listed, paged if need be)."""
    return "which" if len(households(state)) > 1 else "load"


@routes_to("show", "show_one_of")
def _after_load(ctx: MenuContext, state: SessionState) -> str:
    # One of several: "0 Retour" leads back to the list, for the next household.
    return "show_one_of" if len(households(state)) > 1 else "show"


JOURNEY = Journey(
    name="rights",
    entry=Entry(
        T("menu_my_rights"), number=entries.MY_COVER, shown=_known, why_not=entries.my_cover_why_not
    ),
    nodes=(
        Branch("start", next=_start),
        Menu(
            "which",
            prompt=lambda ctx, state: [
                T("rights_which", {"households": household_count(len(households(state)))})
            ],
            options=_households,
            save="member_no",
            next="load",
        ),
        Act(
            "load",
            effect=lambda ctx, state: ShowHouseholdRights(
                state.caller["phone"], state.data.get("member_no")
            ),
            save="rights",
            next=_after_load,
        ),
        Say("show", lines=_lines),
        Say("show_one_of", lines=_lines, end=False),
    ),
)
