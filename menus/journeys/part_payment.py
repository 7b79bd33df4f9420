"""A part payment's least amount, said where the amount is typed and checked when it is
read, for the mobile-money journey and the agent's cash alike.

The product sets the least (`min_part_payment`); the whole rest due is always taken,
however small, so a household owing 300 F is never stuck below a 500 F minimum.
"""

from __future__ import annotations

from menus import parsers
from menus.nodes import Invalid
from menus.text import Money, T, Text

# What a product without its own minimum takes (db.models.scheme.DEFAULT_MIN_PART_PAYMENT;
# the menus import nothing from the database).
DEFAULT_MINIMUM = 500


def least(due: int, minimum: int) -> int:
    """The smallest amount this household may pay now."""
    return max(1, min(minimum, due))


def ask(due: int, minimum: int, *, agent: bool = False) -> Text:
    """The question with its bounds ("Montant (minimum 500 F, au plus 4725 F):"), or the
    rest alone when it is below the minimum; the agent's words say the cash received."""
    low = least(due, minimum)
    if low == due:
        rest = {"max": Money(due), "example": str(due)}
        return T("agent_ask_cash_part_rest", rest) if agent else T("ask_part_amount_rest", rest)
    bounds = {"min": Money(low), "max": Money(due)}
    return T("agent_ask_cash_part", bounds) if agent else T("ask_part_amount", bounds)


def amount(text: str, due: int, minimum: int) -> int:
    """Whole francs from the least to what is due; a refusal says what to type."""
    low = least(due, minimum)
    try:
        typed = parsers.whole_francs(text, due)
    except Invalid:
        typed = 0
    if low <= typed <= due:
        return typed
    if low == due:
        raise Invalid(T("error_part_rest", {"max": Money(due), "example": str(due)}))
    raise Invalid(
        T("error_part_amount", {"min": Money(low), "max": Money(due), "example": str(low)})
    )
