"""A health facility's desk phone checks a patient's cover before care.

Shown only to phones registered for a facility (`alafia facilities add --phone`): the
gateway puts the facility in the session's caller, never the person typing.
"""

from __future__ import annotations

from collections.abc import Sequence

from menus import parsers
from menus.context import MenuContext
from menus.effects import CheckEligibility
from menus.journeys import entries
from menus.nodes import Act, Ask, Entry, Journey, Menu, Option, Say
from menus.state import SessionState
from menus.text import T, Text
from menus.values import NO_PERIOD, CheckOutcome, CheckSource, CoverageStatus

# Why a patient is not covered, as the screen says it; "not_covered" when the central
# register answered without saying why.
NOT_COVERED_REASONS = (
    CoverageStatus.PENDING_PAYMENT,
    CoverageStatus.LAPSED,
    CoverageStatus.CANCELLED,
    NO_PERIOD,
    CheckOutcome.NOT_COVERED,
)


def _desk(ctx: MenuContext, state: SessionState) -> bool:
    return bool(state.caller.get("facility_id"))


def _check(ctx: MenuContext, state: SessionState) -> CheckEligibility:
    return CheckEligibility(state.data["member_no"], int(state.caller["facility_id"]))


def _lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    answer = state.data["answer"]
    outcome, member_no = answer["outcome"], answer["member_no"]
    if outcome == CheckOutcome.UNKNOWN_MEMBER:
        return [T("member_unknown", {"member_no": member_no})]
    if outcome == CheckOutcome.REGISTER_UNAVAILABLE:
        return [T("facility_register_down")]
    # The central register gives no name: the number alone, not an empty " . (...)".
    who: Text = member_no
    if answer["first_name"]:
        # In GSM-7 like every name on a screen: one other letter halves the room.
        named = {
            "first_name": parsers.display_name(answer["first_name"]),
            "initial": parsers.display_name(answer["initial"]),
            "member_no": member_no,
        }
        who = T("facility_patient", named)
    lines: list[Text] = [who]
    status = answer["status"] or NO_PERIOD
    if outcome == CheckOutcome.COVERED:
        # In its grace period a cover is honoured until the grace ends, not its own end.
        until = answer.get("grace_until") if status == CoverageStatus.GRACE else None
        lines.append(T("facility_covered", {"end": _day(until or answer["end"])}))
        if answer["copay_percent"] is not None:  # unknown (the register's answer): not "0%"
            lines.append(T("facility_copay", {"percent": answer["copay_percent"]}))
    elif status == CoverageStatus.WAITING:
        lines.append(T("facility_waiting", {"until": _day(answer["waiting_until"])}))
    else:
        reason = status if status in NOT_COVERED_REASONS else CheckOutcome.NOT_COVERED
        lines.append(T(f"facility_not_covered_{reason}"))
    if answer["source"] == CheckSource.REGISTER:
        lines.append(T("facility_from_register"))
    return lines


def _day(iso: str | None) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}" if iso else "?"


JOURNEY = Journey(
    name="facility",
    entry=Entry(
        T("menu_facility_check"),
        number=entries.CHECK_PATIENT,
        shown=_desk,
        why_not=entries.check_patient_why_not,
    ),
    nodes=(
        Ask(
            "number",
            prompt=[T("ask_patient_member_no")],
            parse=parsers.member_no,
            save="member_no",
            next="load",
        ),
        Act("load", effect=_check, save="answer", next="show"),
        # A desk sees patients one after another: the next in the same call.
        Menu(
            "show",
            prompt=_lines,
            options=(
                Option(T("facility_again"), True, number=1, next="number"),
                Option(T("facility_quit"), False, number=0, next="bye"),
            ),
            next="bye",
        ),
        Say("bye", lines=[T("facility_bye")]),
    ),
)
