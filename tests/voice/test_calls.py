"""Calls as data (tests/voice/calls/*.yaml): what the caller presses, what must be said.

Each file is one caller's story, placed by the local Africa's Talking Voice against the
gateway over HTTP, on the real Redis and database of the run.

Story keys: `phone` (the caller), `household` (enrolled before the story from
`phone`, or from its own `phone:`; `persons`, `language`; its head's member number is
`{member_no}`, and `{member_said}` as the greeting says it), `recordings` (language ->
names of prompt files made before the call),
`sql` (single values checked once it is over).
Step actions: `call` (a new call), `press` (keys during the GetDigits), `speak` (words
during the Record), `silence` (nothing: the reply plays to its end, then the provider
hangs up), `hang_up`, `lost` (the provider goes on with a call the gateway does not
know). Checks: `heard` (exactly what was said, in order), `hear` / `not_hear`
(substrings), `end` (no question left), `wants` (keys or speech).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.orm import Session

from gateway.enrolment.service import EnrolmentService
from tests.peers.at_voice import Call
from tests.support.households import enrol_household
from tests.voice.conftest import VoiceGateway

CALLS = Path(__file__).parent / "calls"
FILES = sorted(CALLS.glob("*.yaml"))
STORY_KEYS = {"name", "phone", "household", "recordings", "steps", "sql"}
ACTIONS = {"call", "press", "speak", "silence", "hang_up", "lost"}
CHECKS = {"heard", "hear", "not_hear", "end", "wants"}
SILENT = {"hang_up", "lost"}  # actions with nothing heard to check


def mistakes(story: dict[str, Any]) -> list[str]:
    found = [f"unknown key {key!r}" for key in sorted(set(story) - STORY_KEYS)]
    for number, step in enumerate(story.get("steps") or [], start=1):
        keys = set(step)
        found += [f"step {number}: unknown key {key!r}" for key in sorted(keys - ACTIONS - CHECKS)]
        actions = sorted(keys & ACTIONS)
        if len(actions) != 1:
            found.append(f"step {number}: needs one action, has {actions}")
        elif actions[0] in SILENT and keys & CHECKS:
            found.append(f"step {number}: {actions[0]} has nothing to check")
    return found


def test_the_runner_refuses_what_it_would_not_read() -> None:
    story = {
        "phone": "+2290197000899",
        "househld": {},
        "steps": [{"call": "", "her": ["x"]}, {"press": "1", "call": ""}, {"lost": True, "end": 1}],
    }
    assert mistakes(story) == [
        "unknown key 'househld'",
        "step 1: unknown key 'her'",
        "step 2: needs one action, has ['call', 'press']",
        "step 3: lost has nothing to check",
    ]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_call(
    path: Path,
    voice_gateway: VoiceGateway,
    phone: Callable[[str], Call],
    enrolment: EnrolmentService,
    db: Session,
) -> None:
    story: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
    assert mistakes(story) == [], path.name
    kept: dict[str, str] = {}
    household = story.get("household")
    if household is not None:
        kept["member_no"] = await enrol_household(
            enrolment,
            household.get("phone", story["phone"]),
            persons=household.get("persons", 3),
            language=household.get("language", "fr"),
        )
        # As the greeting says it: in groups of three digits.
        number = kept["member_no"]
        kept["member_said"] = f"{number[:3]} {number[3:6]} {number[6:]}"
    made = [
        _record(voice_gateway.prompts / language / f"{name}.mp3")
        for language, names in (story.get("recordings") or {}).items()
        for name in names
    ]
    try:
        await _tell(story, path, phone, kept)
    finally:
        for file in made:
            file.unlink()
    for query, expected in (story.get("sql") or {}).items():
        value = db.execute(text(query)).scalar_one()
        assert value == expected, f"{path.name}: {query} gave {value!r}, expected {expected!r}"


async def _tell(
    story: dict[str, Any], path: Path, phone: Callable[[str], Call], kept: dict[str, str]
) -> None:
    call = phone(story["phone"])
    for number, step in enumerate(story["steps"], start=1):
        where = f"{path.name} step {number} {step}"
        ends = False
        if "call" in step:
            call = phone(story["phone"])
            turn = await call.dial()
        elif "press" in step:
            turn = await call.press(str(step["press"]).format(**kept))
        elif "speak" in step:
            turn = await call.speak(str(step["speak"]).encode())
        elif "silence" in step:
            heard, ends = await call.stay_silent(), True
        elif "hang_up" in step:
            await call.hang_up()
            continue
        else:
            call.session_id += "_forgotten"
            continue
        if not ends:
            heard, ends = turn.heard, turn.ends
            if "wants" in step:
                assert turn.wants == step["wants"], f"{where}: the gateway wants {turn.wants}"
        assert ends == bool(step.get("end") or "silence" in step), f"{where}: heard {heard}"
        said = " ".join(heard)
        if "heard" in step:
            assert heard == [line.format(**kept) for line in step["heard"]], where
        for expected in step.get("hear", []):
            assert expected.format(**kept) in said, f"{where}: {expected!r} not in {heard}"
        for unexpected in step.get("not_hear", []):
            assert unexpected.format(**kept) not in said, f"{where}: {unexpected!r} in {heard}"


def _record(file: Path) -> Path:
    """A prompt as a mutual would record it (the bytes do not matter to the gateway)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + file.stem.encode())
    return file
