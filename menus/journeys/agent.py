"""A field agent's menu: PIN first, then register a household for someone else, add a
member, take a cash premium, look up a member, see one's figures, change the PIN.

The gateway recognises an agent's phone and puts `agent_id` and `agent_mutual` in the
session's caller; the PIN unlocks `agent_ok` there. A PIN is
read by a secret question and handed to an effect in the same hop: the session keeps
neither the PIN nor its answer in the aggregator's text (see `Ask.secret`).

Registering a household is the enrolment journey itself, which reads `agent_ok`: it
asks the household's phone and keeps to the agent's mutual.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from menus import parsers
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
from menus.nodes import Act, Ask, Branch, Invalid, Journey, Menu, Option, Say
from menus.state import SessionState
from menus.text import Money, T, Text

PIN_LENGTHS = range(4, 7)


def is_agent(state: SessionState) -> bool:
    return bool(state.caller.get("agent_id"))


def _agent_id(state: SessionState) -> int:
    return int(state.caller["agent_id"])


# -- the PIN ---------------------------------------------------------------------


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


def _after_check(ctx: MenuContext, state: SessionState) -> str:
    check = state.data["pin_check"]
    outcome = check["outcome"]
    if outcome == "ok":
        if state.data.pop("_changing", False):
            return "new_pin"
        state.caller["agent_ok"] = True
        return "main.resume" if "_resume" in state.data else "menu"
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
    if state.caller.get("agent_ok"):
        return [T("agent_choose_new_pin")]
    return [T("agent_welcome"), T("agent_choose_pin")]


def _after_pin_set(ctx: MenuContext, state: SessionState) -> str:
    outcome = state.data.pop("pin_set")["outcome"]
    if outcome == "set":
        state.caller["agent_ok"] = True
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


def _found(next_node: str) -> Any:
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


def _change(ctx: MenuContext, state: SessionState) -> str:
    state.data["_changing"] = True
    return "old_pin"


JOURNEY = Journey(
    name="agent",
    nodes=(
        Act("start", lambda ctx, state: AgentStatus(_agent_id(state)), "pin_check", _after_status),
        Ask("pin", [T("agent_ask_pin")], _pin, "_pin", "verify", secret=True),
        Ask("pin_again", _wrong_pin, _pin, "_pin", "verify", secret=True),
        Act(
            "verify",
            lambda ctx, state: VerifyAgentPin(_agent_id(state), _take_pin(state)),
            "pin_check",
            _after_check,
        ),
        Say("locked", _locked),
        Say("disabled", [T("agent_disabled")]),
        # A new PIN, typed twice; between the two hops the account holds the first's hash.
        Ask("new_pin", _new_pin_prompt, _new_pin, "_pin", "hash_pin", secret=True),
        Act(
            "hash_pin",
            lambda ctx, state: HoldNewPin(_agent_id(state), _take_pin(state)),
            "_held",
            "pin_twice",
        ),
        Ask("pin_twice", [T("agent_confirm_pin")], _pin, "_pin", "set_pin", secret=True),
        Act(
            "set_pin",
            lambda ctx, state: SetAgentPin(
                _agent_id(state),
                _take_pin(state),
                replacing=bool(state.caller.get("agent_ok")),
            ),
            "pin_set",
            _after_pin_set,
        ),
        Ask(
            "pin_mismatch",
            [T("agent_pin_mismatch"), T("agent_choose_pin")],
            _new_pin,
            "_pin",
            "hash_pin",
            secret=True,
        ),
        Menu("pin_saved", [T("agent_pin_saved")], MENU, "menu"),
        Branch("change_pin", _change),
        Ask("old_pin", [T("agent_ask_old_pin")], _pin, "_pin", "verify", secret=True),
        Menu("menu", [T("agent_menu_title")], MENU, "menu"),
        # Add a member to a household of the mutual.
        Ask("add_no", [T("agent_ask_member_no")], parsers.member_no, "member_no", "add_find"),
        Act("add_find", _find, "household", _found("add_check")),
        Branch("add_check", _can_add),
        Ask("add_name", _add_name_prompt, _new_member_name, _save_new("name"), "add_sex"),
        Menu("add_sex", [T("ask_dependant_sex")], SEXES, "add_birth", save=_save_new("sex")),
        Ask(
            "add_birth",
            [T("ask_dependant_birth")],
            parsers.birth_date,
            _save_new("birth"),
            "add_relation",
        ),
        Menu(
            "add_relation",
            [T("ask_relationship")],
            RELATIONSHIPS,
            "add_confirm",
            save=_save_new("relationship"),
        ),
        Menu(
            "add_confirm",
            _add_summary,
            (Option(T("confirm"), True, "add_save"), Option(T("cancel"), False, "cancelled")),
            "add_save",
        ),
        Act("add_save", _add, "added", _after_add),
        Say(
            "added",
            lambda ctx, state: [
                T(
                    "agent_member_added",
                    {
                        "member_no": state.data["added"]["member_no"],
                        "amount": Money(state.data["added"]["amount_due"]),
                    },
                )
            ],
        ),
        Say("add_duplicate", [T("agent_member_duplicate")]),
        Say("full", [T("agent_household_full")]),
        # Cash.
        Ask("cash_no", [T("agent_ask_member_no")], parsers.member_no, "member_no", "cash_find"),
        Act("cash_find", _find, "household", _cash_route),
        Ask("cash_amount", _cash_prompt, _cash_amount, "amount", "cash_payer"),
        Ask("cash_payer", [T("agent_ask_payer")], _payer_name, "payer", "cash_confirm"),
        Menu(
            "cash_confirm",
            _cash_summary,
            (Option(T("confirm"), True, "cash_save"), Option(T("cancel"), False, "cancelled")),
            "cash_save",
        ),
        Act("cash_save", _record, "cash", _after_cash),
        Say("cash_done", _cash_done),
        Say("cash_above_due", [T("agent_cash_above_due")]),
        Say("nothing_due", [T("pay_nothing_due")]),
        # Look up a member.
        Ask("look_no", [T("agent_ask_member_no")], parsers.member_no, "member_no", "look_find"),
        Act("look_find", _find, "household", _found("look_show")),
        Say("look_show", _lookup_lines),
        # My figures.
        Act(
            "figures",
            lambda ctx, state: ShowAgentFigures(_agent_id(state)),
            "figures",
            "figures_show",
        ),
        Say("figures_show", _figures),
        # Outcomes shared by the actions.
        Say(
            "unknown",
            lambda ctx, state: [T("member_unknown", {"member_no": state.data["member_no"]})],
        ),
        Say("other_mutual", [T("agent_other_mutual")]),
        Say("refused", [T("agent_refused")]),
        Say("cancelled", [T("agent_cancelled")]),
    ),
)
