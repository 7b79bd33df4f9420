"""Pay the premium by mobile money: all of it or a part, for one's own household or a
relative's, from this phone or another. The session ends at once: the payer confirms
the prompt on the phone, and the gateway hears back from the provider later.

One debt, one payment: while a prompt of the household's period awaits its payer, a new
"pay" shows it (amount, masked number) and offers to wait or to cancel it, never a
second prompt for the same money."""

from __future__ import annotations

from collections.abc import Sequence

from menus import parsers
from menus.context import MenuContext
from menus.effects import CancelPayment, PendingPayment, QuoteDue, StartPayment
from menus.identifiers import PhoneNumberError, normalise_phone
from menus.journeys import entries, part_payment
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


@routes_to("whose", "other_household")
def _start(ctx: MenuContext, state: SessionState) -> str:
    return "whose" if state.caller.get("member_no") else "other_household"


@options_to("quote", "other_household")
def _whose(ctx: MenuContext, state: SessionState) -> list[Option]:
    return [
        Option(T("pay_mine"), state.caller.get("member_no"), next="quote"),
        Option(T("pay_other_household"), None, next="other_household"),
    ]


@routes_to("unknown", "pending", "amount", "nothing_due")
def _after_quote(ctx: MenuContext, state: SessionState) -> str:
    due = state.data["due"]
    if not due["found"]:
        return "unknown"
    if due.get("pending"):
        return "pending"
    return "amount" if due["amount_due"] > 0 else "nothing_due"


def _pending(state: SessionState) -> PendingPayment:
    """The payment in flight, as the last answer showed it (a start refused, or the quote)."""
    started = state.data.get("started") or {}
    pending: PendingPayment = started.get("pending") or state.data["due"]["pending"]
    return pending


def _pending_lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    pending = _pending(state)
    lines: list[Text] = [
        T("pay_pending", {"amount": Money(pending["amount"]), "phone": pending["payer"]})
    ]
    # What is due less what the prompt asks: never the same money twice.
    left = state.data["due"]["amount_due"] if not state.data.get("started") else 0
    if left > 0:
        lines.append(T("pay_pending_left", {"amount": Money(left)}))
    return lines


@routes_to("pending_cancelled", "cancel_not_yours", "pending_settled")
def _after_cancel(ctx: MenuContext, state: SessionState) -> str:
    return {
        "cancelled": "pending_cancelled",
        "not_yours": "cancel_not_yours",
    }.get(state.data["cancel"]["outcome"], "pending_settled")


def _due_lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    due = state.data["due"]
    params = {
        "member_no": due["member_no"],
        "initial": due["initial"],
        "amount": Money(due["amount_due"]),
    }
    # A name still to transcribe has no initial yet: the number alone.
    return [T("pay_due", params) if due["initial"] else T("pay_due_unnamed", params)]


def _save_amount(state: SessionState, everything: bool) -> None:
    if everything:
        state.data["amount"] = state.data["due"]["amount_due"]


def _minimum(state: SessionState) -> int:
    # A quote saved before the product had a minimum (a session resumed across an
    # upgrade) takes the scheme's default.
    return int(state.data["due"].get("min_part", part_payment.DEFAULT_MINIMUM))


def _part(text: str, ctx: MenuContext, state: SessionState) -> int:
    """Whole francs from the product's least to what is due: instalments are normal,
    a 1 F prompt or overpaying by USSD is not."""
    return part_payment.amount(text, state.data["due"]["amount_due"], _minimum(state))


@options_to("confirm", "payer_phone")
def _payers(ctx: MenuContext, state: SessionState) -> list[Option]:
    return [
        Option(T("pay_this_phone"), state.caller["phone"], next="confirm"),
        Option(T("pay_other_phone"), None, next="payer_phone"),
    ]


def _payer_phone(text: str, ctx: MenuContext, state: SessionState) -> str:
    try:
        return normalise_phone(text, ctx.country)
    except PhoneNumberError:
        raise Invalid(T("error_phone")) from None


def _confirm_lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    return [T("pay_confirm", {"amount": Money(state.data["amount"]), "phone": state.data["payer"]})]


@routes_to("prompted", "pending", "no_provider", "nothing_due", "above_limit", "refused")
def _after_start(ctx: MenuContext, state: SessionState) -> str:
    outcome = state.data["started"]["outcome"]
    return {
        "started": "prompted",
        "pending": "pending",
        "no_provider": "no_provider",
        "nothing_due": "nothing_due",
        "above_limit": "above_limit",
    }.get(outcome, "refused")


JOURNEY = Journey(
    name="pay",
    entry=Entry(
        T("menu_pay"),
        number=entries.PAY,
        shown=lambda ctx, state: ctx.payments,
        why_not=entries.pay_why_not,
    ),
    nodes=(
        Branch("start", next=_start),
        Menu("whose", prompt=[T("pay_whose")], options=_whose, next="quote", save="member_no"),
        Ask(
            "other_household",
            prompt=[T("ask_member_no")],
            parse=parsers.member_no,
            save="member_no",
            next="quote",
        ),
        Act(
            "quote",
            effect=lambda ctx, state: QuoteDue(state.data["member_no"]),
            save="due",
            next=_after_quote,
        ),
        Menu(
            "amount",
            prompt=_due_lines,
            options=(
                Option(T("pay_all"), True, next="payer"),
                Option(T("pay_part"), False, next="part"),
            ),
            next="payer",
            save=_save_amount,
        ),
        Ask(
            "part",
            prompt=lambda ctx, state: [
                part_payment.ask(state.data["due"]["amount_due"], _minimum(state))
            ],
            parse=_part,
            save="amount",
            next="payer",
        ),
        Menu("payer", prompt=[T("pay_from")], options=_payers, next="confirm", save="payer"),
        Ask(
            "payer_phone",
            prompt=[T("ask_payer_phone")],
            parse=_payer_phone,
            save="payer",
            next="confirm",
        ),
        Menu(
            "confirm",
            prompt=_confirm_lines,
            options=(
                Option(T("confirm"), True, next="open"),
                Option(T("cancel"), False, next="cancelled"),
            ),
            next="open",
        ),
        Act(
            "open",
            effect=lambda ctx, state: StartPayment(
                state.data["member_no"], state.data["amount"], state.data["payer"]
            ),
            save="started",
            next=_after_start,
        ),
        Menu(
            "pending",
            prompt=_pending_lines,
            options=(
                Option(T("pay_wait"), True, next="waiting"),
                Option(T("pay_cancel_pending"), False, next="cancel"),
            ),
            next="waiting",
        ),
        Act(
            "cancel",
            effect=lambda ctx, state: CancelPayment(
                _pending(state)["reference"], state.caller["phone"]
            ),
            save="cancel",
            next=_after_cancel,
        ),
        Say(
            "waiting",
            lines=lambda ctx, state: [
                T(
                    "pay_waiting",
                    {"amount": Money(_pending(state)["amount"]), "phone": _pending(state)["payer"]},
                )
            ],
        ),
        Say(
            "pending_cancelled",
            lines=lambda ctx, state: [
                T("pay_pending_cancelled", {"amount": Money(_pending(state)["amount"])})
            ],
        ),
        Say("cancel_not_yours", lines=[T("pay_cancel_not_yours")]),
        Say("pending_settled", lines=[T("pay_pending_settled")]),
        Say(
            "prompted",
            lines=lambda ctx, state: [T("pay_prompted", {"amount": Money(state.data["amount"])})],
            outcome=Outcome.PAYMENT_STARTED,
        ),
        Say(
            "unknown",
            lines=lambda ctx, state: [T("member_unknown", {"member_no": state.data["member_no"]})],
        ),
        Say("nothing_due", lines=[T("pay_nothing_due")]),
        Say("no_provider", lines=[T("pay_no_provider")]),
        Say("above_limit", lines=[T("pay_above_limit")]),
        Say("refused", lines=[T("pay_refused")]),
        Say("cancelled", lines=[T("pay_cancelled")]),
    ),
)
