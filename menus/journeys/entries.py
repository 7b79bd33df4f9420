"""The main menu's numbers, the same for every caller, and what its entries say to a
caller they do not apply to.

The numbers are a contract with the field: trainers teach "tapez 3 pour vos droits",
and journey tests, dial strings (`*384*22*3#`) and the wording review are written with
them. An entry that does not apply to a caller keeps its number; typing it gives a
short screen that says why and what to type instead (`Entry.why_not`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from menus import parsers
from menus.context import MenuContext
from menus.state import SessionState
from menus.text import T, Text

JOIN = 1
PAY = 2
MY_COVER = 3
CHECK_NUMBER = 4
RENEW = 5
CHECK_PATIENT = 6  # desk phones of health facilities
LANGUAGE = 9


def households(state: SessionState) -> list[dict[str, Any]]:
    """The households this phone heads, the latest first (`gateway.ussd.callers`)."""
    return list(state.caller.get("households") or [])


def household_count(count: int) -> T:
    """ "1 ménage", "2 ménages": the plural right in every language (none is singular
    in French, plural in English: a key of its own)."""
    if count == 0:
        return T("count_no_household", {"count": count})
    if count == 1:
        return T("count_household", {"count": count})
    return T("count_households", {"count": count})


def readable_member_no(member_no: str) -> str:
    """A member number as people read it aloud and copy it: in groups of three."""
    return " ".join(member_no[i : i + 3] for i in range(0, len(member_no), 3))


# A head's name beyond this is cut: the greeting and the list of households must leave
# the menu its room on one screen.
NAME_ROOM = 20


def household_name(household: dict[str, Any]) -> Text:
    name = parsers.shown_name(str(household.get("name") or ""))
    if isinstance(name, str) and len(name) > NAME_ROOM:
        return name[: NAME_ROOM - 2].rstrip() + ".."
    return name


def join_label(ctx: MenuContext, state: SessionState) -> T:
    """An enrolled phone may enrol another household (a relative's): the menu says so."""
    return T("menu_enrol_another") if households(state) else T("menu_enrol")


def pay_why_not(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    # Mobile money is not configured here: the agent takes cash.
    return [T("why_not_pay")]


def my_cover_why_not(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    return [T("why_not_my_cover")]


def renew_why_not(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    opens = state.caller.get("renew_opens")
    if opens:
        return [T("why_not_renew_yet", {"date": date.fromisoformat(str(opens))})]
    if households(state):
        return [T("why_not_renew_none")]
    return [T("why_not_my_cover")]


def check_patient_why_not(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    return [T("why_not_check_patient")]
