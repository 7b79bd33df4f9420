"""Whether a field agent is calling, read from the session's caller in one place.

The gateway puts `agent_id` and `agent_mutual` in the caller of an agent's phone
(gateway/callers.py); the agent's PIN, checked in this session, adds `agent_ok`.
Journeys ask `field_agent` rather than spelling those keys each time.
"""

from __future__ import annotations

from dataclasses import dataclass

from menus.state import SessionState


@dataclass(frozen=True)
class FieldAgent:
    id: int
    mutual: str  # the mutual's code: the agent registers and collects for it only
    signed_in: bool  # gave the right PIN (or set one) in this session


def field_agent(state: SessionState) -> FieldAgent | None:
    """The agent whose phone this is; None for anyone else's."""
    caller = state.caller
    if not caller.get("agent_id"):
        return None
    return FieldAgent(
        id=int(caller["agent_id"]),
        mutual=str(caller["agent_mutual"]),
        signed_in=bool(caller.get("agent_ok")),
    )


def sign_in(state: SessionState) -> None:
    """The agent proved who they are: their own menu is open for the rest of the session."""
    state.caller["agent_ok"] = True
