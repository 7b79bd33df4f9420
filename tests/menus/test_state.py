"""menus/state.py: a session as Redis keeps it, between hops and across releases."""

from __future__ import annotations

import json

from menus.state import SessionState

SNAPSHOT = {
    "node": "enrol.birth",
    "language": "en",
    "data": {"mutual": "MS-PARAKOU", "head": {"last_name": "HOUNGBO"}},
    "cursor": {},
    "back": [["main.home", {}], ["enrol.sex", {}]],
}


def test_the_resume_offer_and_its_refusal_survive_a_hop() -> None:
    state = SessionState(node="main.resume", language="fr", resume=SNAPSHOT)
    again = SessionState.loads(state.dumps())
    assert again == state
    state.forget_resume = True
    assert SessionState.loads(state.dumps()).forget_resume is True


def test_a_session_saved_before_the_typed_fields_still_loads() -> None:
    # Written by the release that kept the offer in the data under "_resume".
    old = {
        "node": "main.resume",
        "language": "fr",
        "data": {"_resume": SNAPSHOT},
        "cursor": {},
        "consumed": "",
        "page": 0,
        "errors": 0,
        "back": [],
        "reply": "CON Vous aviez commencé une adhésion.\n1. Continuer\n2. Recommencer",
        "ended": False,
        "caller": {"phone": "+2290197000109"},
        "owns_resume": False,
    }
    state = SessionState.loads(json.dumps(old))
    assert state.resume == SNAPSHOT
    assert state.data == {}
    assert state.forget_resume is False
    assert state.node == "main.resume" and state.caller == {"phone": "+2290197000109"}
