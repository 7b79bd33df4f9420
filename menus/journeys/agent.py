"""A field agent's menu: PIN first, then register a household for someone else, add a
member, take a cash premium, look up a member, see one's figures, change the PIN.

The gateway recognises an agent's phone (see `menus.caller.field_agent`); the PIN signs
the agent in for the session (`agent_pin`). Each action of the menu is a module of its
own (`agent_members`, `agent_cash`, `agent_households` for the look-up); this one holds
the menu, the agent's figures and the outcomes the actions share, and puts the journey
together. Its node ids stay as they are: sessions and the USSD funnel store them.

Registering a household is the enrolment journey itself, which knows a signed-in agent:
it asks the household's phone and keeps to the agent's mutual.
"""

from __future__ import annotations

from collections.abc import Sequence

from menus.context import MenuContext
from menus.effects import ShowAgentFigures
from menus.journeys.agent_cash import CASH_NODES
from menus.journeys.agent_households import LOOKUP_NODES
from menus.journeys.agent_members import ADD_MEMBER_NODES
from menus.journeys.agent_phone import calling_agent_id
from menus.journeys.agent_pin import CHANGE_PIN_NODES, PIN_LENGTHS, SIGN_IN_NODES, trivial_pin
from menus.journeys.entries import household_count
from menus.nodes import Act, Journey, Menu, Option, Say
from menus.state import SessionState
from menus.text import Money, T, Text

__all__ = [
    "JOURNEY",
    "MENU",
    # The PIN's rules, which the gateway checks a new PIN against too (gateway.agents.pins).
    "PIN_LENGTHS",
    "trivial_pin",
]

# Fixed numbers, whatever the agent's state, on one screen; "0" leaves (it never goes
# back to the PIN, which the agent already gave).
MENU = (
    Option(T("agent_menu_register"), "register", number=1, next="enrol.start"),
    Option(T("agent_menu_add_member"), "add", number=2, next="add_no"),
    Option(T("agent_menu_cash"), "cash", number=3, next="cash_no"),
    Option(T("agent_menu_lookup"), "lookup", number=4, next="look_no"),
    Option(T("agent_menu_figures"), "figures", number=5, next="figures"),
    Option(T("agent_menu_pin"), "pin", number=6, next="change_pin"),
    Option(T("agent_menu_renew"), "renew", number=7, next="renew.agent_no"),
    Option(T("agent_menu_due"), "due", number=8, next="renew.due"),
    Option(T("agent_menu_quit"), "quit", number=0, next="bye"),
)


def _figures(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    f = state.data["figures"]
    return [
        T(
            "agent_figures_today",
            {
                "households": household_count(f["households_today"]),
                "members": f["members_today"],
                "cash": Money(f["cash_today"]),
            },
        ),
        T(
            "agent_figures_campaign",
            {
                "households": household_count(f["households_campaign"]),
                "members": f["members_campaign"],
                "cash": Money(f["cash_campaign"]),
            },
        ),
        T("agent_figures_held", {"cash": Money(f["cash_held"])}),
    ]


JOURNEY = Journey(
    name="agent",
    nodes=(
        *SIGN_IN_NODES,
        Menu("pin_saved", prompt=[T("agent_pin_saved")], options=MENU, next="menu"),
        *CHANGE_PIN_NODES,
        Menu("menu", prompt=[T("agent_menu_title")], options=MENU, next="menu"),
        # Add a member to a household of the mutual.
        *ADD_MEMBER_NODES,
        # Cash.
        *CASH_NODES,
        # Look up a member.
        *LOOKUP_NODES,
        # My figures.
        Act(
            "figures",
            effect=lambda ctx, state: ShowAgentFigures(calling_agent_id(state)),
            save="figures",
            next="figures_show",
        ),
        Say("figures_show", lines=_figures),
        Say("bye", lines=[T("agent_bye")]),
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
