"""Every journey the gateway offers. A new journey is a new module listed here."""

from __future__ import annotations

from functools import cache

from menus.journeys import agent, check, enrol, facility, main, pay, renew, rights
from menus.nodes import Journey, Outcome, Say, checked_nodes


def all_journeys() -> list[Journey]:
    """The journeys, every target of every node checked (`JourneyError` otherwise)."""
    offered = [
        facility.JOURNEY,
        enrol.JOURNEY,
        renew.JOURNEY,
        pay.JOURNEY,
        rights.JOURNEY,
        check.JOURNEY,
    ]
    # The agent's menu has no entry in the main menu: an agent's phone goes straight to it.
    journeys = [main.build(offered), *offered, enrol.ENROLLED, agent.JOURNEY]
    checked_nodes(journeys)
    return journeys


@cache
def nodes_with(outcome: Outcome) -> frozenset[str]:
    """The nodes ("enrol.done") a session has achieved `outcome` by ending on."""
    return frozenset(
        f"{journey.name}.{node.id}"
        for journey in all_journeys()
        for node in journey.nodes
        if isinstance(node, Say) and node.outcome is outcome
    ) | _MENU_OUTCOMES.get(outcome, frozenset())


# Screens that wait for an answer yet mark an outcome: the end of an enrolment that offers
# to pay at once ("enrolled.pay_now"; a caller who pays on ends on "pay.prompted").
_MENU_OUTCOMES = {Outcome.ENROLLED: frozenset({"enrolled.pay_now"})}
