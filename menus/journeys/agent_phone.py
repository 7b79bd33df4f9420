"""The field agent whose phone is calling: every part of the agent's journey (the PIN,
members, cash, look-ups, figures) acts for them, so each asks here rather than
repeating the check that the caller is an agent."""

from __future__ import annotations

from menus.caller import FieldAgent, field_agent
from menus.state import SessionState


def calling_agent(state: SessionState) -> FieldAgent:
    agent = field_agent(state)
    assert agent is not None, "the agent's menu is reached from an agent's phone only"
    return agent


def calling_agent_id(state: SessionState) -> int:
    return calling_agent(state).id
