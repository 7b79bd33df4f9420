"""Every journey the gateway offers. A new journey is a new module listed here."""

from __future__ import annotations

from menus.journeys import agent, check, enrol, facility, main, pay, rights
from menus.nodes import Journey


def all_journeys() -> list[Journey]:
    offered = [facility.JOURNEY, enrol.JOURNEY, pay.JOURNEY, rights.JOURNEY, check.JOURNEY]
    # The agent's menu has no entry in the main menu: an agent's phone goes straight to it.
    return [main.build(offered), *offered, agent.JOURNEY]
