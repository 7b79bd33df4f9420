"""Where a household joins: the mutual (a commune first when there are many), the
product, and whether its campaign is open today.

A signed-in field agent registering a household for someone else is not offered the
choice of mutual: the agent's own is the only one, and the household's phone is asked
instead of taking the caller's. The rest of the journey asks here which product was
chosen and who is registering.
"""

from __future__ import annotations

from collections.abc import Sequence

from menus import parsers
from menus.caller import FieldAgent, field_agent
from menus.context import MenuContext, Product
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


@routes_to("household_phone", "no_offer", "product_pick", "commune", "mutual")
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
        return "product_pick"
    return "commune" if len(mutuals) > MUTUALS_BEFORE_COMMUNES else "mutual"


def _household_phone(text: str, ctx: MenuContext, state: SessionState) -> str:
    try:
        return normalise_phone(text, ctx.country)
    except PhoneNumberError:
        raise Invalid(T("error_phone")) from None


def _communes(ctx: MenuContext, state: SessionState) -> list[Option]:
    return [Option(parsers.display_name(c), c) for c in ctx.scheme.communes()]


def _mutuals(ctx: MenuContext, state: SessionState) -> list[Option]:
    commune = state.data.get("commune")
    return [
        Option(parsers.display_name(m.name), m.code)
        for m in ctx.scheme.mutuals
        if commune is None or m.commune == commune
    ]


@routes_to("no_offer", "product_check", "product")
def _product_pick(ctx: MenuContext, state: SessionState) -> str:
    products = ctx.scheme.products_of(state.data["mutual"])
    if not products:
        return "no_offer"
    if len(products) == 1:
        state.data["product"] = products[0].code
        return "product_check"
    return "product"


def _products(ctx: MenuContext, state: SessionState) -> list[Option]:
    lang = state.language
    return [
        Option(
            T(
                "product_label",
                {"name": p.names.get(lang, p.code), "price": Money(p.premium_per_person)},
            )
            if p.household_premium is None
            else T(
                "product_label_household",
                {"name": p.names.get(lang, p.code), "price": Money(p.household_premium)},
            ),
            p.code,
        )
        for p in ctx.scheme.products_of(state.data["mutual"])
    ]


@routes_to("last_name", "closed")
def _product_check(ctx: MenuContext, state: SessionState) -> str:
    return "last_name" if chosen_product(ctx, state).is_open(ctx.today) else "closed"


def closed_lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    """When the chosen product's campaign opens next."""
    return [T("campaign_closed", {"date": chosen_product(ctx, state).next_opening(ctx.today)})]


# The journey's first node is "start": where to join comes before anything else.
OFFER_NODES: tuple[Node, ...] = (
    Branch("start", next=_start),
    Ask(
        "household_phone",
        prompt=[T("ask_household_phone")],
        parse=_household_phone,
        save="household_phone",
        next="product_pick",
    ),
    Menu("commune", prompt=[T("ask_commune")], options=_communes, next="mutual", save="commune"),
    Menu("mutual", prompt=[T("ask_mutual")], options=_mutuals, next="product_pick", save="mutual"),
    Branch("product_pick", next=_product_pick),
    Menu(
        "product",
        prompt=[T("ask_product")],
        options=_products,
        next="product_check",
        save="product",
    ),
    Branch("product_check", next=_product_check),
)
