"""Renew: the household's next cover year, its members brought up to date, then payment.

Offered in the main menu to a household whose renewal window is open, or whose rights
lapsed (the gateway puts the day the window opens in the caller: `renew_opens`). The
household's own phone sees its members next year (paged), keeps them all, removes one
(left, died: a new head is asked when the head leaves) or adds a newborn; the premium
with sponsors' shares applied comes next, then the year is opened (`RenewHousehold`)
and the session goes straight on to the payment journey. Someone else, by a member
number, sees no names and changes nobody: they renew the household as it is and pay.

Field agents come here from their menu (`renew_agent`), for a household of their
mutual found by member number or phone, and go on to take the premium in cash; their
list of the mutual's households due for renewal is here too (`due`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from menus import parsers
from menus.caller import field_agent
from menus.context import MenuContext
from menus.effects import (
    HouseholdsDue,
    MemberRemoval,
    PersonDraft,
    RenewalChanges,
    RenewalOffer,
    RenewHousehold,
)
from menus.identifiers import PhoneNumberError, normalise_phone
from menus.journeys import entries
from menus.journeys.agent_members import save_new
from menus.journeys.agent_phone import calling_agent_id
from menus.journeys.enrol_household import SEXES
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
    options_to,
    routes_to,
)
from menus.state import SessionState
from menus.text import Money, T, Text
from menus.values import Channel, Relationship


def renewal_due(ctx: MenuContext, state: SessionState) -> bool:
    """The caller's household may renew today: its window is open, or its rights lapsed."""
    opens = state.caller.get("renew_opens")
    return bool(opens) and date.fromisoformat(str(opens)) <= ctx.today


def _agent_id(state: SessionState) -> int | None:
    agent = field_agent(state)
    return agent.id if agent is not None and agent.signed_in else None


def _own(state: SessionState) -> bool:
    """Members are shown and changed by the household's own phone or an agent only."""
    return _agent_id(state) is not None or state.data.get("member_no") == state.caller.get(
        "member_no"
    )


def _changes(state: SessionState) -> RenewalChanges:
    return RenewalChanges(
        removed=tuple(
            MemberRemoval(r["member_no"], r["reason"]) for r in state.data.get("removed", [])
        ),
        added=tuple(
            PersonDraft(
                last_name=a["name"]["last_name"],
                first_names=a["name"]["first_names"],
                sex=a["sex"],
                birth_date=a["birth"]["date"],
                birth_year_only=a["birth"]["year_only"],
                relationship=Relationship.CHILD,
            )
            for a in state.data.get("added", [])
        ),
        new_head=state.data.get("new_head"),
    )


def _offer(ctx: MenuContext, state: SessionState) -> RenewalOffer:
    return RenewalOffer(
        state.data.get("member_no") or "",
        _changes(state),
        agent_id=_agent_id(state),
        phone=state.data.get("household_phone"),
    )


@routes_to("whose", "other_no")
def _start(ctx: MenuContext, state: SessionState) -> str:
    return "whose" if state.caller.get("member_no") else "other_no"


@options_to("offer", "other_no")
def _whose(ctx: MenuContext, state: SessionState) -> list[Option]:
    return [
        Option(T("pay_mine"), state.caller.get("member_no"), next="offer"),
        Option(T("pay_other_household"), None, next="other_no"),
    ]


def _household_ref(text: str, ctx: MenuContext, state: SessionState) -> str:
    """An agent names the household by a member number or by its phone."""
    try:
        found = parsers.member_no(text, ctx, state)
        state.data.pop("household_phone", None)
        return found
    except Invalid as not_a_number:
        try:
            state.data["household_phone"] = normalise_phone(text, ctx.country)
        except PhoneNumberError:
            raise not_a_number from None
        return ""


@routes_to(
    "members",
    "not_yet",
    "already",
    "no_cover",
    "unknown",
    "other_mutual",
    "disabled",
    "full",
    "nobody_left",
    "agent.refused",
)
def _after_offer(ctx: MenuContext, state: SessionState) -> str:
    offer = state.data["offer"]
    outcome = offer["outcome"]
    if outcome in ("open", "lapsed"):
        state.data["member_no"] = offer["member_no"] or state.data.get("member_no")
        state.data.pop("household_phone", None)  # found: its number names it from now on
        return "members"
    return {
        "not_yet": "not_yet",
        "renewed": "already",
        "no_cover": "no_cover",
        "unknown_member": "unknown",
        "other_mutual": "other_mutual",
        "disabled": "disabled",
        "full": "full",
        "nobody_left": "nobody_left",
    }.get(outcome, "agent.refused")


def _heading(state: SessionState) -> list[Text]:
    """The household next year; first, that a lapse brings a new waiting period."""
    offer = state.data["offer"]
    lines: list[Text] = []
    if offer["outcome"] == "lapsed":
        lines.append(T("renew_lapsed"))
    lines.append(T("renew_heading", {"member_no": offer["member_no"], "persons": offer["persons"]}))
    return lines


def _members_lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    lines = _heading(state)
    if _own(state):
        for m in state.data["offer"]["members"]:
            name = {"name": parsers.shown_name(m["first_names"])}
            lines.append(T("renew_member_head", name) if m["head"] else T("renew_member", name))
    return lines


@options_to("summary", "remove_who", "add_name")
def _member_options(ctx: MenuContext, state: SessionState) -> list[Option]:
    options = [Option(T("renew_keep"), "keep", next="summary")]
    if _own(state):
        options.append(Option(T("renew_remove"), "remove", next="remove_who"))
        if not ctx.by_voice:  # a name cannot be keyed on a call: an agent adds the newborn
            options.append(Option(T("renew_add"), "add", next="add_name"))
    return options


def _removable(ctx: MenuContext, state: SessionState) -> list[Option]:
    return [
        Option(parsers.shown_name(m["first_names"]), m["member_no"])
        for m in state.data["offer"]["members"]
        if m["member_no"]  # one added in this session is not yet a member to remove
    ]


LEFT_REASONS = (Option(T("renew_left"), "left"), Option(T("renew_died"), "died"))


def _save_reason(state: SessionState, reason: str) -> None:
    removing = state.data.pop("removing")
    removed: list[dict[str, Any]] = state.data.setdefault("removed", [])
    removed.append({"member_no": removing, "reason": reason})
    head = next((m for m in state.data["offer"]["members"] if m["head"]), None)
    state.data["head_left"] = head is not None and head["member_no"] == removing


@routes_to("new_head", "offer", "nobody_left")
def _after_reason(ctx: MenuContext, state: SessionState) -> str:
    if not state.data.pop("head_left", False):
        return "offer"
    # A newborn cannot head a household: with nobody else, there is nobody to renew.
    return "new_head" if _heads(ctx, state) else "nobody_left"


def _heads(ctx: MenuContext, state: SessionState) -> list[Option]:
    gone = {r["member_no"] for r in state.data.get("removed", [])}
    return [
        Option(parsers.shown_name(m["first_names"]), m["member_no"])
        for m in state.data["offer"]["members"]
        if m["member_no"] and m["member_no"] not in gone
    ]


@routes_to("offer", "nobody_left")
def _after_head(ctx: MenuContext, state: SessionState) -> str:
    return "offer" if state.data.get("new_head") else "nobody_left"


def _newborn_name(text: str, ctx: MenuContext, state: SessionState) -> dict[str, str]:
    """`NOM Prenom(s)`; one word is a first name with the head's family name."""
    words = parsers.clean_name(text).split(" ")
    if len(words) == 1:
        head_last_name = state.data["offer"]["head_last_name"]
        if parsers.name_pending(head_last_name):  # said on a call, not yet transcribed
            raise Invalid(T("agent_error_full_name"))
        last, first = head_last_name, parsers.capitalised(words[0])
    else:
        last, first = words[0].upper(), parsers.capitalised(" ".join(words[1:]))
    return {"last_name": parsers.within_limit(last), "first_names": parsers.within_limit(first)}


def _newborn_added(state: SessionState, birth: Any) -> None:
    new = state.data.pop("new")
    new["birth"] = birth
    state.data.setdefault("added", []).append(new)


def _summary_lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    # The household and the lapse were on the screen before: the money alone here, so
    # that confirm and cancel fit on the first page.
    offer = state.data["offer"]
    lines: list[Text] = [T("renew_premium", {"amount": Money(offer["premium"])})]
    if offer["sponsors"]:
        lines.append(T("renew_sponsors", {"amount": Money(offer["sponsors"])}))
    if offer["carried"]:
        lines.append(T("renew_carried", {"amount": Money(offer["carried"])}))
    lines.append(T("renew_due", {"amount": Money(offer["amount_due"])}))
    return lines


def _renew(ctx: MenuContext, state: SessionState) -> RenewHousehold:
    agent_id = _agent_id(state)
    return RenewHousehold(
        state.data["member_no"],
        _changes(state),
        channel=Channel.AGENT if agent_id is not None else Channel.USSD,
        agent_id=agent_id,
    )


@routes_to(
    "agent.cash_find",
    "pay.quote",
    "renewed",
    "renewed_paid",
    "not_yet",
    "no_cover",
    "unknown",
    "other_mutual",
    "disabled",
    "full",
    "nobody_left",
    "agent.refused",
)
def _after_renew(ctx: MenuContext, state: SessionState) -> str:
    renewed = state.data["renewed"]
    if renewed["outcome"] != "renewed":
        return {
            "not_yet": "not_yet",
            "no_cover": "no_cover",
            "unknown_member": "unknown",
            "other_mutual": "other_mutual",
            "disabled": "disabled",
            "full": "full",
            "nobody_left": "nobody_left",
        }.get(renewed["outcome"], "agent.refused")
    state.data["member_no"] = renewed["member_no"]  # the head may have changed
    if renewed["amount_due"] <= 0:
        return "renewed_paid"
    if _agent_id(state) is not None:
        return "agent.cash_find"  # the agent takes the premium in cash
    return "pay.quote" if ctx.payments else "renewed"


def _renewed_lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    renewed = state.data["renewed"]
    lines: list[Text] = [
        T("renew_done", {"member_no": renewed["member_no"]}),
        T("amount_due", {"amount": Money(renewed["amount_due"])}),
    ]
    if renewed["lapsed"]:
        lines.append(T("renew_waiting"))
    return lines


def _due_lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    households = state.data["due"]["households"]
    if not households:
        return [T("renew_none_due")]
    return [T("renew_due_title")] + [
        T(
            "renew_due_line",
            {
                "member_no": h["member_no"],
                "name": parsers.display_name(h["name"]),
                "phone": h["phone"],
                "date": date.fromisoformat(h["ends_on"]),
            },
        )
        for h in households
    ]


JOURNEY = Journey(
    name="renew",
    entry=Entry(
        T("menu_renew"), number=entries.RENEW, shown=renewal_due, why_not=entries.renew_why_not
    ),
    nodes=(
        Branch("start", next=_start),
        Menu("whose", prompt=[T("renew_whose")], options=_whose, next="offer", save="member_no"),
        Ask(
            "other_no",
            prompt=[T("ask_member_no")],
            parse=parsers.member_no,
            save="member_no",
            next="offer",
        ),
        # A field agent, from their menu: a member number or the household's phone.
        Ask(
            "agent_no",
            prompt=[T("renew_agent_ask")],
            parse=_household_ref,
            save="member_no",
            next="offer",
        ),
        Act("offer", effect=_offer, save="offer", next=_after_offer),
        Menu("members", prompt=_members_lines, options=_member_options, next="summary"),
        Menu(
            "remove_who",
            prompt=[T("renew_remove_who")],
            options=_removable,
            next="remove_why",
            save="removing",
        ),
        Menu(
            "remove_why",
            prompt=[T("renew_remove_why")],
            options=LEFT_REASONS,
            next=_after_reason,
            save=_save_reason,
        ),
        Menu(
            "new_head",
            prompt=[T("renew_new_head")],
            options=_heads,
            next=_after_head,
            save="new_head",
        ),
        Ask(
            "add_name",
            prompt=[T("renew_add_name")],
            parse=_newborn_name,
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
            save=_newborn_added,
            next="offer",
        ),
        Menu(
            "summary",
            prompt=_summary_lines,
            options=(
                Option(T("confirm"), True, next="renew"),
                Option(T("cancel"), False, next="cancelled"),
            ),
            next="renew",
        ),
        Act("renew", effect=_renew, save="renewed", next=_after_renew),
        Say("renewed", lines=_renewed_lines, outcome=Outcome.RENEWED),
        Say(
            "renewed_paid",
            lines=lambda ctx, state: [
                T("renew_done", {"member_no": state.data["renewed"]["member_no"]}),
                T("renew_nothing_due"),
            ],
            outcome=Outcome.RENEWED,
        ),
        Say(
            "not_yet",
            lines=lambda ctx, state: (
                [T("renew_not_yet", {"date": date.fromisoformat(state.data["offer"]["opens_on"])})]
                if state.data.get("offer", {}).get("opens_on")
                else [T("renew_not_open")]
            ),
        ),
        Say("already", lines=[T("renew_already")]),
        Say("no_cover", lines=[T("renew_no_cover")]),
        Say(
            "unknown",
            lines=lambda ctx, state: [
                T("member_unknown", {"member_no": state.data.get("member_no") or "-"})
            ],
        ),
        Say("other_mutual", lines=[T("agent_other_mutual")]),
        Say("disabled", lines=[T("agent_disabled")]),
        Say("full", lines=[T("agent_household_full")]),
        Say("nobody_left", lines=[T("renew_nobody_left")]),
        Say("cancelled", lines=[T("renew_cancelled")]),
        # The agent's list of the mutual's households due.
        Act(
            "due",
            effect=lambda ctx, state: HouseholdsDue(calling_agent_id(state)),
            save="due",
            next="due_show",
        ),
        Say("due_show", lines=_due_lines),
    ),
)
