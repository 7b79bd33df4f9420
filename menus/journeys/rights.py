"""My household's rights: each member and where the coverage stands."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from menus import parsers
from menus.context import MenuContext
from menus.effects import ShowHouseholdRights
from menus.journeys.coverage_lines import FREE_CARE_GROUNDS, coverage_lines
from menus.nodes import Act, Entry, Journey, Say
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


JOURNEY = Journey(
    name="rights",
    entry=Entry(T("menu_my_rights"), order=20, shown=_known),
    nodes=(
        Act(
            "load",
            effect=lambda ctx, state: ShowHouseholdRights(state.caller["phone"]),
            save="rights",
            next="show",
        ),
        Say("show", lines=_lines),
    ),
)
