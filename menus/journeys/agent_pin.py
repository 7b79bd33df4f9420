"""The PIN that signs a field agent in for the session: asked first on every dial,
chosen (typed twice) once the one-time activation code staff gave has been typed,
changed from the menu, and answered with how many tries are left or until when the
account is locked. Wrong codes count toward the lock like wrong PINs.

A PIN is read by a secret question and handed to an effect in the same hop: the
session keeps neither the PIN nor its answer in the aggregator's text (see
`Ask.secret`). `PIN_LENGTHS` and `trivial_pin` are the rules the gateway checks a new
PIN against too (`gateway.agents.pins`), so the menu and the store cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

from menus.caller import sign_in
from menus.context import MenuContext
from menus.effects import (
    AgentStatus,
    HoldNewPin,
    SetAgentPin,
    VerifyActivationCode,
    VerifyAgentPin,
)
from menus.journeys.agent_phone import calling_agent, calling_agent_id
from menus.nodes import Act, Ask, Branch, Invalid, Node, Say, routes_to
from menus.state import SessionState
from menus.text import T, Text

PIN_LENGTHS = range(4, 7)
CODE_DIGITS = 8  # gateway.agents.activation.DIGITS
# Where each account standing leads, whichever effect reported it.
STANDING = {
    "locked": "locked",
    "blocked": "blocked",
    "no_pin": "code",
    "no_code": "no_code",
    "code_expired": "code_expired",
}


@routes_to("pin", "code", "locked", "blocked", "no_code", "code_expired", "disabled")
def _after_status(ctx: MenuContext, state: SessionState) -> str:
    outcome = state.data["pin_check"]["outcome"]
    return "pin" if outcome == "ok" else STANDING.get(outcome, "disabled")


def _code(text: str, ctx: MenuContext, state: SessionState) -> str:
    code = "".join(text.split())
    if not (code.isascii() and code.isdigit() and len(code) == CODE_DIGITS):
        raise Invalid(T("agent_code_format"))
    return code


@routes_to("new_pin", "pin", "code_again", *STANDING.values(), "disabled")
def _after_code(ctx: MenuContext, state: SessionState) -> str:
    check = state.data["pin_check"]
    outcome = check["outcome"]
    if outcome == "ok":
        # Kept until the PIN is set: it names the code, not the code itself.
        state.data["_grant"] = check.pop("grant")
        return "new_pin"
    if outcome == "wrong":
        return "code_again"
    if outcome == "already_set":  # chosen in another session meanwhile
        return "pin"
    return STANDING.get(outcome, "disabled")


def _wrong_code(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    return [
        T("agent_code_wrong", {"left": state.data["pin_check"]["attempts_left"]}),
        T("agent_ask_code"),
    ]


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


@routes_to("new_pin", "main.resume", "menu", "pin_again", *STANDING.values(), "disabled")
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
    # no_pin...: reset by staff while this session was open; the new code is needed.
    return STANDING.get(outcome, "disabled")


def _wrong_pin(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    return [
        T("agent_pin_wrong", {"left": state.data["pin_check"]["attempts_left"]}),
        T("agent_ask_pin"),
    ]


def _locked(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    return [T("agent_locked", {"time": state.data["pin_check"]["locked_until"] or "?"})]


def _new_pin_prompt(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    if calling_agent(state).signed_in:
        return [T("agent_choose_new_pin")]
    return [T("agent_code_right"), T("agent_choose_pin")]


@routes_to("pin_saved", "pin_mismatch", "pin", "new_pin", "start", "disabled")
def _after_pin_set(ctx: MenuContext, state: SessionState) -> str:
    outcome = state.data.pop("pin_set")["outcome"]
    if outcome == "set":
        state.data.pop("_grant", None)
        sign_in(state)
        return "pin_saved"
    if outcome == "mismatch":
        return "pin_mismatch"
    if outcome == "already_set":
        return "pin"
    if outcome == "trivial":
        return "new_pin"
    if outcome == "no_code":  # the code was used or replaced meanwhile: look again
        state.data.pop("_grant", None)
        return "start"
    return "disabled"


@routes_to("old_pin")
def _change(ctx: MenuContext, state: SessionState) -> str:
    state.data["_changing"] = True
    return "old_pin"


# The journey's first node is "start": signing in comes before anything else.
SIGN_IN_NODES: tuple[Node, ...] = (
    Act(
        "start",
        effect=lambda ctx, state: AgentStatus(calling_agent_id(state)),
        save="pin_check",
        next=_after_status,
    ),
    Ask("pin", prompt=[T("agent_ask_pin")], parse=_pin, save="_pin", next="verify", secret=True),
    Ask("pin_again", prompt=_wrong_pin, parse=_pin, save="_pin", next="verify", secret=True),
    Act(
        "verify",
        effect=lambda ctx, state: VerifyAgentPin(calling_agent_id(state), _take_pin(state)),
        save="pin_check",
        next=_after_check,
    ),
    Say("locked", lines=_locked),
    Say("blocked", lines=[T("agent_blocked")]),
    # Also where any action ends once staff have disabled the account.
    Say("disabled", lines=[T("agent_disabled")]),
    # No PIN yet: the activation code staff gave, then a new PIN.
    Say("no_code", lines=[T("agent_no_code")]),
    Say("code_expired", lines=[T("agent_code_expired")]),
    Ask(
        "code",
        prompt=[T("agent_welcome"), T("agent_ask_code")],
        parse=_code,
        save="_code",
        next="check_code",
        secret=True,
    ),
    Ask(
        "code_again", prompt=_wrong_code, parse=_code, save="_code", next="check_code", secret=True
    ),
    Act(
        "check_code",
        effect=lambda ctx, state: VerifyActivationCode(
            calling_agent_id(state), str(state.data.pop("_code", ""))
        ),
        save="pin_check",
        next=_after_code,
    ),
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
        effect=lambda ctx, state: HoldNewPin(calling_agent_id(state), _take_pin(state)),
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
            calling_agent_id(state),
            _take_pin(state),
            replacing=calling_agent(state).signed_in,
            grant=state.data.get("_grant"),
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
)

# Changing the PIN from the menu: the old one first, then a new one as above.
CHANGE_PIN_NODES: tuple[Node, ...] = (
    Branch("change_pin", next=_change),
    Ask(
        "old_pin",
        prompt=[T("agent_ask_old_pin")],
        parse=_pin,
        save="_pin",
        next="verify",
        secret=True,
    ),
)
