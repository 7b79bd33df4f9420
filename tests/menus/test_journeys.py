"""Journeys as data: what the phone types, what it must see (tests/menus/journeys/*.yaml).

Each file is one person's story, sent through the HTTP endpoint with the Africa's
Talking protocol, against the real Redis and database of the run.

Step keys: `dial` (a new session; its value is the dial string's extra digits),
`type` (an answer), `repeat` (the aggregator resends the last hop), `phone` (switch
phones), `days` (the gateway's day moves on that many days: a year later, to renew).
Checks: `see` / `not_see` (substrings), `end` (END instead of CON),
`same` (the same reply as the step before), `keep` (a regex whose group is saved
for `{name}` in later steps). `database` counts rows once the story is over.
`answers_at_most` bounds the answers typed from the first dial to the first END screen
(every `type`, and every answer a dial string carries: `1*3` is two).
`agents` (phone, name, mutual, optional pin) exist before the story starts, and so do
`desks` (phones of one health facility's desk, which check patients); an agent's
`code: name` keeps the activation code staff were given as `{name}`. `sql` checks single
values once it is over (`query: expected`). `payments: momo` runs the story on a gateway
that collects through a local server speaking MTN MoMo's protocol (the pay menu is
shown); the worker does not run, so payments stay pending.

Any other key, in the story or in a step, fails the story before it runs: a check
misspelt (`se:`) would otherwise pass by checking nothing.
"""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from gateway.register.capability import Register
from gateway.settings import Settings
from gateway.ussd.capability import Ussd
from menus import gsm
from tests.conftest import JOURNEYS, Clock
from tests.payments.test_momo_flow import momo_environ
from tests.peers.momo import MomoPeer
from tests.support.agents import new_agent
from tests.support.gateway import part, shared
from tests.support.http_server import serve
from tests.support.paying import Now, paying_gateway
from tests.support.ussd_phone import Phone

FILES = sorted(JOURNEYS.glob("*.yaml"))
STORY_KEYS = {
    "name",
    "phone",
    "agents",
    "desks",
    "today",
    "steps",
    "database",
    "sql",
    "payments",
    "answers_at_most",
}
ACTIONS = {"dial", "type", "repeat", "phone", "days"}  # one a step
CHECKS = {"see", "not_see", "end", "same", "keep"}  # on the reply of a dial, type or repeat


def mistakes(story: dict[str, Any]) -> list[str]:
    """What the runner would not read as written: unknown keys, a step doing nothing or
    two things, checks on a step that gets no reply."""
    found = [f"unknown key {key!r}" for key in sorted(set(story) - STORY_KEYS)]
    for number, step in enumerate(story.get("steps") or [], start=1):
        keys = set(step)
        found += [f"step {number}: unknown key {key!r}" for key in sorted(keys - ACTIONS - CHECKS)]
        actions = sorted(keys & ACTIONS)
        if len(actions) != 1:
            found.append(
                f"step {number}: needs one of dial, type, repeat, phone, days, has {actions}"
            )
        elif actions in (["phone"], ["days"]) and keys & CHECKS:
            found.append(f"step {number}: a {actions[0]} step gets no reply to check")
    return found


def test_the_runner_refuses_what_it_would_not_read() -> None:
    story = {
        "name": "typos",
        "phone": "+2290197000101",
        "step": [],
        "steps": [
            {"dial": "", "se": ["Mutuelle"]},
            {"type": "1", "dial": ""},
            {"phone": "+2290197000102", "see": ["Mutuelle"]},
            {"see": ["Mutuelle"]},
            {"days": 365, "end": True},
        ],
    }
    assert mistakes(story) == [
        "unknown key 'step'",
        "step 1: unknown key 'se'",
        "step 2: needs one of dial, type, repeat, phone, days, has ['dial', 'type']",
        "step 3: a phone step gets no reply to check",
        "step 4: needs one of dial, type, repeat, phone, days, has []",
        "step 5: a days step gets no reply to check",
    ]


def answers_to_first_end(story: dict[str, Any]) -> int:
    """What the phone typed from the first dial to the first END screen."""
    typed = 0
    for step in story["steps"]:
        if "dial" in step and str(step["dial"]):
            typed += len(str(step["dial"]).split("*"))
        elif "type" in step:
            typed += 1
        if step.get("end"):
            return typed
    raise AssertionError("the story never reaches an END screen")


def test_answers_are_counted_to_the_first_end() -> None:
    story = {"steps": [{"dial": "1*3"}, {"type": "x"}, {"type": "1", "end": True}, {"dial": ""}]}
    assert answers_to_first_end(story) == 4


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_journey(
    path: Path,
    client: httpx.AsyncClient,
    clock: Clock,
    db: Session,
    app: Starlette,
    settings: Settings,
) -> None:
    story: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
    assert mistakes(story) == [], path.name
    if "answers_at_most" in story:
        typed = answers_to_first_end(story)
        assert typed <= story["answers_at_most"], f"{path.name}: {typed} answers"
    async with AsyncExitStack() as stack:
        now = None
        if story.get("payments") == "momo":
            momo = MomoPeer()
            environ = momo_environ((momo, stack.enter_context(serve(momo.app))))
            app, client, now = await stack.enter_async_context(
                paying_gateway(settings, "momo", environ)
            )
            own_day = shared(app).today  # that gateway's own day, which `days` moves
            assert isinstance(own_day, Clock)
            clock = own_day
        else:
            assert "payments" not in story, f"{path.name}: payments can only be momo"
        await tell(story, path, client, clock, db, app, now)


async def tell(
    story: dict[str, Any],
    path: Path,
    client: httpx.AsyncClient,
    clock: Clock,
    db: Session,
    app: Starlette,
    now: Now | None = None,
) -> None:
    """Send the story's steps and check every reply, then the database. `now`: the
    paying gateway's time of day, moved with `clock` by `days`."""
    kept: dict[str, str] = {}
    if story.get("desks"):
        facilities = part(app, Register).facilities
        await facilities.add("CS-TEST", "CS Test", list(story["desks"]), by="cli:test")
        part(app, Ussd).service.callers.forget_known_phones()
    for agent in story.get("agents", []):
        code_name = agent.pop("code", None)
        added = await new_agent(app, **agent)
        if code_name is not None:
            kept[code_name] = added.code
    if "today" in story:
        clock.day = (
            story["today"]
            if isinstance(story["today"], date)
            else date.fromisoformat(story["today"])
        )
    phone = Phone(client, story["phone"])
    previous = ""
    for number, step in enumerate(story["steps"], start=1):
        where = f"{path.name} step {number} {step}"
        if "phone" in step:
            phone = Phone(client, step["phone"])
            continue
        if "days" in step:
            clock.day += timedelta(days=int(step["days"]))
            if now is not None:
                now.at += timedelta(days=int(step["days"]))
            continue
        if "dial" in step:
            reply = await phone.dial(str(step["dial"]).format(**kept))
        elif "type" in step:
            reply = await phone.type(str(step["type"]).format(**kept))
        elif step.get("repeat"):
            reply = await phone.repeat()
        else:
            raise AssertionError(f"{where}: a step needs dial, type, repeat or phone")
        prefix = "END " if step.get("end") else "CON "
        assert reply.startswith(prefix), f"{where}: expected {prefix!r}, got {reply!r}"
        assert gsm.fits(reply, 160), f"{where}: reply too long for a screen: {reply!r}"
        for expected in step.get("see", []):
            assert expected.format(**kept) in reply, f"{where}: {expected!r} not in {reply!r}"
        for unexpected in step.get("not_see", []):
            assert unexpected.format(**kept) not in reply, f"{where}: {unexpected!r} in {reply!r}"
        if step.get("same"):
            assert reply == previous, f"{where}: a repeated hop got another reply"
        for name, pattern in (step.get("keep") or {}).items():
            found = re.search(pattern, reply)
            assert found, f"{where}: {pattern!r} not found in {reply!r}"
            kept[name] = found.group(1)
        previous = reply
    for table, count in (story.get("database") or {}).items():
        rows = db.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
        assert rows == count, f"{path.name}: {table} has {rows} rows, expected {count}"
    for query, expected in (story.get("sql") or {}).items():
        value = db.execute(text(query.format(**kept))).scalar_one()
        assert value == expected, f"{path.name}: {query} gave {value!r}, expected {expected!r}"
