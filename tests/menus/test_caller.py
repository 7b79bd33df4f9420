"""menus/caller.py: who is calling, as the journeys read it."""

from __future__ import annotations

from menus.caller import FieldAgent, field_agent, sign_in
from menus.state import SessionState


def test_a_member_is_no_agent() -> None:
    state = SessionState(node="main.start", language="fr", caller={"phone": "+2290197000101"})
    assert field_agent(state) is None


def test_an_agent_is_signed_in_by_the_pin_only() -> None:
    caller = {"phone": "+2290197000401", "agent_id": 7, "agent_mutual": "MS-PARAKOU"}
    state = SessionState(node="main.start", language="fr", caller=caller)
    assert field_agent(state) == FieldAgent(id=7, mutual="MS-PARAKOU", signed_in=False)
    sign_in(state)
    assert field_agent(state) == FieldAgent(id=7, mutual="MS-PARAKOU", signed_in=True)
    # Kept with the session: the next hop, read back from Redis, is still signed in.
    again = SessionState.loads(state.dumps())
    assert field_agent(again) == FieldAgent(id=7, mutual="MS-PARAKOU", signed_in=True)
