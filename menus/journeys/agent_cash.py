"""A premium paid in cash to the agent: at most what the household owes, with the
payer's name for the receipt. The gateway records it as a cash payment the agent took
and holds until handing it over (`RecordCash`), and answers with the receipt number and
what is still due.
"""

from __future__ import annotations

from collections.abc import Sequence

from menus import parsers
from menus.context import MenuContext
from menus.effects import RecordCash
from menus.journeys import part_payment
from menus.journeys.agent_households import find_household, household_found, household_heading
from menus.journeys.agent_phone import calling_agent_id
from menus.nodes import Act, Ask, Menu, Node, Option, Say, routes_to
from menus.state import SessionState
from menus.text import Money, T, Text


@routes_to("cash_amount", "nothing_due", "unknown", "other_mutual", "disabled")
def _cash_route(ctx: MenuContext, state: SessionState) -> str:
    route = household_found("cash_amount")(ctx, state)
    if route == "cash_amount" and _due(state) <= 0:
        return "nothing_due"
    return route


def _due(state: SessionState) -> int:
    coverage = state.data["household"]["coverage"]
    return int(coverage["amount_due"]) if coverage else 0


def _cash_prompt(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    lines = [household_heading(state), T("amount_due", {"amount": Money(_due(state))})]
    pending = state.data["household"].get("pending_mobile", 0)
    if pending:
        # Cash is still taken (the prompt may never be confirmed), but the agent knows: if
        # both are paid, what the period no longer needs is held for refund.
        lines.append(T("agent_cash_pending", {"amount": Money(pending)}))
    return [*lines, part_payment.ask(_due(state), _minimum(ctx, state), agent=True)]


def _minimum(ctx: MenuContext, state: SessionState) -> int:
    """The household's product's least part payment, as the scheme sets it."""
    product = ctx.scheme.product(state.data["household"].get("product_code", ""))
    return product.min_part_payment if product else part_payment.DEFAULT_MINIMUM


def _cash_amount(text: str, ctx: MenuContext, state: SessionState) -> int:
    """Whole francs, from the product's least part to what the household owes."""
    return part_payment.amount(text, _due(state), _minimum(ctx, state))


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
        calling_agent_id(state), state.data["member_no"], state.data["amount"], state.data["payer"]
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


CASH_NODES: tuple[Node, ...] = (
    Ask(
        "cash_no",
        prompt=[T("agent_ask_member_no")],
        parse=parsers.member_no,
        save="member_no",
        next="cash_find",
    ),
    Act("cash_find", effect=find_household, save="household", next=_cash_route),
    Ask("cash_amount", prompt=_cash_prompt, parse=_cash_amount, save="amount", next="cash_payer"),
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
)
