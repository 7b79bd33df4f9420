"""A field agent's menu: PIN first, then register a household for someone else, add a
member, take a cash premium, look up a member, see one's figures, change the PIN.

The gateway recognises an agent's phone (see `menus.caller.field_agent`); the PIN signs
the agent in for the session. A PIN is read by a secret question and handed to an
effect in the same hop: the session keeps neither the PIN nor its answer in the
aggregator's text (see `Ask.secret`).

Registering a household is the enrolment journey itself, which knows a signed-in agent:
it asks the household's phone and keeps to the agent's mutual.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from menus import parsers
from menus.caller import FieldAgent, field_agent, sign_in
from menus.context import MenuContext
from menus.effects import (
    AddMember,
    AgentStatus,
    FindHousehold,
    HoldNewPin,
    PersonDraft,
    RecordCash,
    SetAgentPin,
    ShowAgentFigures,
    VerifyAgentPin,
)
from menus.journeys.coverage_lines import coverage_lines
from menus.journeys.enrol import RELATIONSHIPS, SEXES
from menus.nodes import Act, Ask, Branch, Invalid, Journey, Menu, Option, Route, Say, routes_to
from menus.state import SessionState
from menus.text import Money, T, Text

PIN_LENGTHS = range(4, 7)


def _agent(state: SessionState) -> FieldAgent:
    agent = field_agent(state)
    assert agent is not None, "the agent's menu is reached from an agent's phone only"
    return agent


def _agent_id(state: SessionState) -> int:
    return _agent(state).id


# -- the PIN ---------------------------------------------------------------------


@routes_to("pin", "new_pin", "locked", "disabled")
def _after_status(ctx: MenuContext, state: SessionState) -> str:
    outcome = state.data["pin_check"]["outcome"]
    return {"ok": "pin", "no_pin": "new_pin", "locked": "locked"}.get(outcome, "disabled")


def _pin(text: str, ctx: MenuContext, state: SessionState) -> str:
    pin = text.strip()
    if not (pin.isascii() and pin.isdigit() and len(pin) in PIN_LENGTHS):
        raise Invalid(T("agent_pin_format"))
    return pin


def trivial_pin(pin: str, phone: str) -> bool:
    """Guessed first by anyone holding the phone: one digit repeated, a run up or down,
    or the phone number's own last digits."""
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    digits = re.sub(r"\D", "", phone)
    return len(set(pin)) == 1 or steps in ({1}, {-1}) or digits.endswith(pin)


def _new_pin(text: str, ctx: MenuContext, state: SessionState) -> str:
    pin = _pin(text, ctx, state)
    if trivial_pin(pin, str(state.caller.get("phone", ""))):
        raise Invalid(T("agent_pin_trivial"))
    return pin


def _take_pin(state: SessionState) -> str:
    # Popped as the effect is made, in the same hop it was typed: never stored.
    return str(state.data.pop("_pin", ""))


@routes_to("new_pin", "main.resume", "menu", "pin_again", "locked", "disabled")
def _after_check(ctx: MenuContext, state: SessionState) -> str:
    check = state.data["pin_check"]
    outcome = check["outcome"]
    if outcome == "ok":
        if state.data.pop("_changing", False):
            return "new_pin"
        sign_in(state)
        return "main.resume" if state.resume is not None else "menu"
    if outcome == "wrong":
        return "pin_again"
    if outcome == "no_pin":  # reset by staff while this session was open
        return "new_pin"
    return {"locked": "locked", "disabled": "disabled"}.get(outcome, "disabled")


def _wrong_pin(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    return [
        T("agent_pin_wrong", {"left": state.data["pin_check"]["attempts_left"]}),
        T("agent_ask_pin"),
    ]


def _locked(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    return [T("agent_locked", {"time": state.data["pin_check"]["locked_until"] or "?"})]


def _new_pin_prompt(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    if _agent(state).signed_in:
        return [T("agent_choose_new_pin")]
    return [T("agent_welcome"), T("agent_choose_pin")]


@routes_to("pin_saved", "pin_mismatch", "pin", "new_pin", "disabled")
def _after_pin_set(ctx: MenuContext, state: SessionState) -> str:
    outcome = state.data.pop("pin_set")["outcome"]
    if outcome == "set":
        sign_in(state)
        return "pin_saved"
    if outcome == "mismatch":
        return "pin_mismatch"
    if outcome == "already_set":
        return "pin"
    if outcome == "trivial":
        return "new_pin"
    return "disabled"


# -- the menu --------------------------------------------------------------------


MENU = (
    Option(T("agent_menu_register"), "register", next="enrol.start"),
    Option(T("agent_menu_add_member"), "add", next="add_no"),
    Option(T("agent_menu_cash"), "cash", next="cash_no"),
    Option(T("agent_menu_lookup"), "lookup", next="look_no"),
    Option(T("agent_menu_figures"), "figures", next="figures"),
    Option(T("agent_menu_pin"), "pin", next="change_pin"),
)


def _find(ctx: MenuContext, state: SessionState) -> FindHousehold:
    return FindHousehold(_agent_id(state), state.data["member_no"])


def _found(next_node: str) -> Route:
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


def _household_heading(state: SessionState) -> Text:
    found = state.data["household"]
    name = f"{found['head_last_name']} {found['head_first_names'][:1]}."
    return T(
        "agent_household",
        {
            "member_no": found["member_no"],
            "name": parsers.display_name(name),
            "persons": found["persons"],
        },
    )


# -- add a member ----------------------------------------------------------------


@routes_to("full", "add_name")
def _can_add(ctx: MenuContext, state: SessionState) -> str:
    found = state.data["household"]
    if found["max_persons"] is not None and found["persons"] >= found["max_persons"]:
        return "full"
    return "add_name"


def _add_name_prompt(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    return [_household_heading(state), T("agent_ask_new_member_name")]


def _new_member_name(text: str, ctx: MenuContext, state: SessionState) -> dict[str, str]:
    """`NOM Prenom(s)`; one word is a first name with the head's family name."""
    words = parsers.clean_name(text).split(" ")
    if len(words) == 1:
        last, first = state.data["household"]["head_last_name"], parsers.capitalised(words[0])
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
                "amount": Money(state.data["household"]["premium_per_added"]),
            },
        )
    ]


def _add(ctx: MenuContext, state: SessionState) -> AddMember:
    person = state.data["new"]
    return AddMember(
        _agent_id(state),
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


def _save_new(field: str) -> Any:
    def save(state: SessionState, value: Any) -> None:
        state.data.setdefault("new", {})[field] = value

    return save


# -- cash ------------------------------------------------------------------------


@routes_to("cash_amount", "nothing_due", "unknown", "other_mutual", "disabled")
def _cash_route(ctx: MenuContext, state: SessionState) -> str:
    route = _found("cash_amount")(ctx, state)
    if route == "cash_amount" and _due(state) <= 0:
        return "nothing_due"
    return route


def _due(state: SessionState) -> int:
    coverage = state.data["household"]["coverage"]
    return int(coverage["amount_due"]) if coverage else 0


def _cash_prompt(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    return [
        _household_heading(state),
        T("amount_due", {"amount": Money(_due(state))}),
        T("agent_ask_cash"),
    ]


def _cash_amount(text: str, ctx: MenuContext, state: SessionState) -> int:
    """Whole francs, more than nothing and at most what the household owes."""
    return parsers.whole_francs(text, _due(state))


def _payer_name(text: str, ctx: MenuContext, state: SessionState) -> str:
    return parsers.within_limit(parsers.capitalised(parsers.clean_name(text)))


def _cash_summary(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    # One line each, so that a long payer's name pages instead of being cut.
    return [
        T("agent_cash_confirm", {"amount": Money(state.data["amount"])}),
        T("agent_cash_payer", {"payer": parsers.display_name(state.data["payer"])}),
        T("agent_cash_household", {"member_no": state.data["member_no"]}),
    ]


def _record(ctx: MenuContext, state: SessionState) -> RecordCash:
    return RecordCash(
        _agent_id(state), state.data["member_no"], state.data["amount"], state.data["payer"]
    )


@routes_to(
    "cash_done", "nothing_due", "cash_above_due", "other_mutual", "unknown", "disabled", "refused"
)
def _after_cash(ctx: MenuContext, state: SessionState) -> str:
    outcome = state.data["cash"]["outcome"]
    return {
        "recorded": "cash_done",
        "nothing_due": "nothing_due",
        "above_due": "cash_above_due",
        "other_mutual": "other_mutual",
        "unknown_member": "unknown",
        "disabled": "disabled",
    }.get(outcome, "refused")


def _cash_done(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    cash = state.data["cash"]
    return [
        T(
            "agent_cash_done",
            {
                "amount": Money(cash["amount"]),
                "receipt_no": cash["receipt_no"],
                "due": Money(cash["amount_due"]),
            },
        )
    ]


# -- look up, figures ------------------------------------------------------------


def _lookup_lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    found = state.data["household"]
    lines: list[Text] = [_household_heading(state), *coverage_lines(found["coverage"])]
    lines += [
        T(
            "member_line",
            {"member_no": m["member_no"], "name": parsers.display_name(m["first_names"])},
        )
        for m in found["members"]
    ]
    return lines


def _figures(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    f = state.data["figures"]
    return [
        T(
            "agent_figures_today",
            {
                "households": f["households_today"],
                "members": f["members_today"],
                "cash": Money(f["cash_today"]),
            },
        ),
        T(
            "agent_figures_campaign",
            {
                "households": f["households_campaign"],
                "members": f["members_campaign"],
                "cash": Money(f["cash_campaign"]),
            },
        ),
        T("agent_figures_held", {"cash": Money(f["cash_held"])}),
    ]


@routes_to("old_pin")
def _change(ctx: MenuContext, state: SessionState) -> str:
    state.data["_changing"] = True
    return "old_pin"


JOURNEY = Journey(
    name="agent",
    nodes=(
        Act(
            "start",
            effect=lambda ctx, state: AgentStatus(_agent_id(state)),
            save="pin_check",
            next=_after_status,
        ),
        Ask(
            "pin", prompt=[T("agent_ask_pin")], parse=_pin, save="_pin", next="verify", secret=True
        ),
        Ask("pin_again", prompt=_wrong_pin, parse=_pin, save="_pin", next="verify", secret=True),
        Act(
            "verify",
            effect=lambda ctx, state: VerifyAgentPin(_agent_id(state), _take_pin(state)),
            save="pin_check",
            next=_after_check,
        ),
        Say("locked", lines=_locked),
        Say("disabled", lines=[T("agent_disabled")]),
        # A new PIN, typed twice; between the two hops the account holds the first's hash.
        Ask(
            "new_pin",
            prompt=_new_pin_prompt,
            parse=_new_pin,
            save="_pin",
            next="hash_pin",
            secret=True,
        ),
        Act(
            "hash_pin",
            effect=lambda ctx, state: HoldNewPin(_agent_id(state), _take_pin(state)),
            save="_held",
            next="pin_twice",
        ),
        Ask(
            "pin_twice",
            prompt=[T("agent_confirm_pin")],
            parse=_pin,
            save="_pin",
            next="set_pin",
            secret=True,
        ),
        Act(
            "set_pin",
            effect=lambda ctx, state: SetAgentPin(
                _agent_id(state),
                _take_pin(state),
                replacing=_agent(state).signed_in,
            ),
            save="pin_set",
            next=_after_pin_set,
        ),
        Ask(
            "pin_mismatch",
            prompt=[T("agent_pin_mismatch"), T("agent_choose_pin")],
            parse=_new_pin,
            save="_pin",
            next="hash_pin",
            secret=True,
        ),
        Menu("pin_saved", prompt=[T("agent_pin_saved")], options=MENU, next="menu"),
        Branch("change_pin", next=_change),
        Ask(
            "old_pin",
            prompt=[T("agent_ask_old_pin")],
            parse=_pin,
            save="_pin",
            next="verify",
            secret=True,
        ),
        Menu("menu", prompt=[T("agent_menu_title")], options=MENU, next="menu"),
        # Add a member to a household of the mutual.
        Ask(
            "add_no",
            prompt=[T("agent_ask_member_no")],
            parse=parsers.member_no,
            save="member_no",
            next="add_find",
        ),
        Act("add_find", effect=_find, save="household", next=_found("add_check")),
        Branch("add_check", next=_can_add),
        Ask(
            "add_name",
            prompt=_add_name_prompt,
            parse=_new_member_name,
            save=_save_new("name"),
            next="add_sex",
        ),
        Menu(
            "add_sex",
            prompt=[T("ask_dependant_sex")],
            options=SEXES,
            next="add_birth",
            save=_save_new("sex"),
        ),
        Ask(
            "add_birth",
            prompt=[T("ask_dependant_birth")],
            parse=parsers.birth_date,
            save=_save_new("birth"),
            next="add_relation",
        ),
        Menu(
            "add_relation",
            prompt=[T("ask_relationship")],
            options=RELATIONSHIPS,
            next="add_confirm",
            save=_save_new("relationship"),
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
        # Cash.
        Ask(
            "cash_no",
            prompt=[T("agent_ask_member_no")],
            parse=parsers.member_no,
            save="member_no",
            next="cash_find",
        ),
        Act("cash_find", effect=_find, save="household", next=_cash_route),
        Ask(
            "cash_amount", prompt=_cash_prompt, parse=_cash_amount, save="amount", next="cash_payer"
        ),
        Ask(
            "cash_payer",
            prompt=[T("agent_ask_payer")],
            parse=_payer_name,
            save="payer",
            next="cash_confirm",
        ),
        Menu(
            "cash_confirm",
            prompt=_cash_summary,
            options=(
                Option(T("confirm"), True, next="cash_save"),
                Option(T("cancel"), False, next="cancelled"),
            ),
            next="cash_save",
        ),
        Act("cash_save", effect=_record, save="cash", next=_after_cash),
        Say("cash_done", lines=_cash_done),
        Say("cash_above_due", lines=[T("agent_cash_above_due")]),
        Say("nothing_due", lines=[T("pay_nothing_due")]),
        # Look up a member.
        Ask(
            "look_no",
            prompt=[T("agent_ask_member_no")],
            parse=parsers.member_no,
            save="member_no",
            next="look_find",
        ),
        Act("look_find", effect=_find, save="household", next=_found("look_show")),
        Say("look_show", lines=_lookup_lines),
        # My figures.
        Act(
            "figures",
            effect=lambda ctx, state: ShowAgentFigures(_agent_id(state)),
            save="figures",
            next="figures_show",
        ),
        Say("figures_show", lines=_figures),
        # Outcomes shared by the actions.
        Say(
            "unknown",
            lines=lambda ctx, state: [T("member_unknown", {"member_no": state.data["member_no"]})],
        ),
        Say("other_mutual", lines=[T("agent_other_mutual")]),
        Say("refused", lines=[T("agent_refused")]),
        Say("cancelled", lines=[T("agent_cancelled")]),
    ),
)
