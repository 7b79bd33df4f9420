"""Check a member number: status and validity only, with no name beyond an initial."""

from __future__ import annotations

from collections.abc import Sequence

from menus import parsers
from menus.context import MenuContext
from menus.effects import ShowMemberStatus
from menus.journeys import entries
from menus.journeys.coverage_lines import FREE_CARE_GROUNDS, coverage_lines
from menus.nodes import Act, Ask, Entry, Journey, Say
from menus.state import SessionState
from menus.text import T, Text


def _lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    status = state.data["status"]
    if not status["found"]:
        return [T("member_unknown", {"member_no": status["member_no"]})]
    params = {"member_no": status["member_no"], "initial": status["initial"]}
    return [
        # A name still to transcribe has no initial yet: the number alone.
        T("member_heading", params) if status["initial"] else T("member_heading_unnamed", params),
        *coverage_lines(status["coverage"], show_amount=False),
        # Someone else's number: that a sponsor pays, never why (a pregnancy, indigence).
        *([T("covered_free")] if status.get("ground") in FREE_CARE_GROUNDS else []),
    ]


JOURNEY = Journey(
    name="check",
    entry=Entry(T("menu_check_member"), number=entries.CHECK_NUMBER),
    nodes=(
        Ask(
            "number",
            prompt=[T("ask_member_no")],
            parse=parsers.member_no,
            save="member_no",
            next="load",
        ),
        Act(
            "load",
            effect=lambda ctx, state: ShowMemberStatus(state.data["member_no"]),
            save="status",
            next="show",
        ),
        Say("show", lines=_lines),
    ),
)
