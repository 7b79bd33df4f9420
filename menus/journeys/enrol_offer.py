"""Where a household joins: the mutual (a commune first when there are many, skipped
when the commune has one), and whether a campaign of it is open today. The product is
asked later, once the household's size says which products fit (`enrol_household`).

A signed-in field agent registering a household for someone else is not offered the
choice of mutual: the agent's own is the only one, and the household's phone is asked
instead of taking the caller's. The rest of the journey asks here which product was
chosen and who is registering.
"""

from __future__ import annotations

from collections.abc import Sequence

from menus import parsers
from menus.caller import FieldAgent, field_agent
from menus.context import MenuContext, Mutual, Product
from menus.identifiers import PhoneNumberError, normalise_phone
from menus.nodes import Ask, Branch, Invalid, Menu, Node, Option, routes_to
from menus.state import SessionState
from menus.text import Money, T, Text

# More mutuals than this and the caller picks a commune first.
MUTUALS_BEFORE_COMMUNES = 6


def chosen_product(ctx: MenuContext, state: SessionState) -> Product:
    product = ctx.scheme.product(state.data["product"])
    assert product is not None, "scheme changed under a session"
    return product


def registering_agent(state: SessionState) -> FieldAgent | None:
    """The signed-in agent registering this household for someone else, if any."""
    agent = field_agent(state)
    return agent if agent is not None and agent.signed_in else None


@routes_to("household_phone", "no_offer", "offer_check", "commune", "mutual")
def _start(ctx: MenuContext, state: SessionState) -> str:
    agent = registering_agent(state)
    if agent is not None:
        # An agent registers for someone else, in the agent's own mutual only.
        state.data["mutual"] = agent.mutual
        return "household_phone"
    mutuals = ctx.scheme.mutuals
    if not mutuals:
        return "no_offer"
    if len(mutuals) == 1:
        state.data["mutual"] = mutuals[0].code
        return "offer_check"
    return "commune" if len(mutuals) > MUTUALS_BEFORE_COMMUNES else "mutual"


def _household_phone(text: str, ctx: MenuContext, state: SessionState) -> str:
    try:
        return normalise_phone(text, ctx.country)
    except PhoneNumberError:
        raise Invalid(T("error_phone")) from None


def _communes(ctx: MenuContext, state: SessionState) -> list[Option]:
    return [Option(parsers.display_name(c), c) for c in ctx.scheme.communes()]


def _in_commune(ctx: MenuContext, state: SessionState) -> list[Mutual]:
    commune = state.data.get("commune")
    return [m for m in ctx.scheme.mutuals if commune is None or m.commune == commune]


def _mutuals(ctx: MenuContext, state: SessionState) -> list[Option]:
    return [Option(parsers.display_name(m.name), m.code) for m in _in_commune(ctx, state)]


@routes_to("mutual", "offer_check")
def _after_commune(ctx: MenuContext, state: SessionState) -> str:
    mutuals = _in_commune(ctx, state)
    if len(mutuals) == 1:  # one mutual in the commune: nothing to choose
        state.data["mutual"] = mutuals[0].code
        return "offer_check"
    return "mutual"


def open_products(ctx: MenuContext, state: SessionState) -> list[Product]:
    """The mutual's products whose campaign is open today."""
    return [p for p in ctx.scheme.products_of(state.data["mutual"]) if p.is_open(ctx.today)]


@routes_to("no_offer", "closed", "head_name")
def _offer_check(ctx: MenuContext, state: SessionState) -> str:
    """Before any name is typed: is there anything to join here today? The product itself
    is asked once the household's size says which fit."""
    if not ctx.scheme.products_of(state.data["mutual"]):
        return "no_offer"
    return "head_name" if open_products(ctx, state) else "closed"


def product_label(product: Product, language: str) -> T:
    name = product.names.get(language, product.code)
    if product.household_premium is None:
        return T("product_label", {"name": name, "price": Money(product.premium_per_person)})
    return T("product_label_household", {"name": name, "price": Money(product.household_premium)})


def closed_lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    """When the mutual's next campaign opens."""
    products = ctx.scheme.products_of(state.data["mutual"])
    opening = min(p.next_opening(ctx.today) for p in products if p.window is not None)
    return [T("campaign_closed", {"date": opening})]


# The journey's first node is "start": where to join comes before anything else.
OFFER_NODES: tuple[Node, ...] = (
    Branch("start", next=_start),
    Ask(
        "household_phone",
        prompt=[T("ask_household_phone")],
        parse=_household_phone,
        save="household_phone",
        next="offer_check",
    ),
    Menu(
        "commune", prompt=[T("ask_commune")], options=_communes, next=_after_commune, save="commune"
    ),
    Menu("mutual", prompt=[T("ask_mutual")], options=_mutuals, next="offer_check", save="mutual"),
    Branch("offer_check", next=_offer_check),
)
