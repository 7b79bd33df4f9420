"""What the register sync tests share: a clock they move, a switch that takes a register
peer down and back, a register that remembers the order of its pushes, and the outbox as
the database holds it."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from adapters.register import CentralRegister, PushResult, RegisterEligibility, RegisterPerson
from adapters.register.events import RegisterEvent
from tests.support.clock import ZONE


class Switch:
    """An ASGI app in front of a peer: "up" passes every request through; "503" answers
    every request so, without the peer seeing it; "bad-gzip" lets the peer do the work and
    then answers a body announced as gzip that is not."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.mode: Literal["up", "503", "bad-gzip"] = "up"
        self.refused = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.mode == "up":
            await self.app(scope, receive, send)
            return
        if self.mode == "503":
            self.refused += 1
            body = b'{"detail": "down for maintenance"}'
            await _answer(send, 503, body, [(b"content-type", b"application/json")])
            return

        async def swallow(message: dict[str, Any]) -> None:
            return None  # the peer's own answer is lost on the way

        await self.app(scope, receive, swallow)
        headers = [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")]
        await _answer(send, 200, b"this is not gzip", headers)


async def _answer(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Push:
    event_id: str
    household: str  # the gateway's household reference
    kind: str
    started: int
    ended: int | None = None
    outcome: str | None = None


@dataclass
class Recording:
    """A register that hands every push to the real adapter and remembers when each began
    and ended, to check the order of a household's pushes and that none overlap."""

    register: CentralRegister
    pushes: list[Push] = field(default_factory=list)
    ticks: Any = field(default_factory=lambda: itertools.count())

    async def push(self, event: RegisterEvent) -> PushResult:
        push = Push(event.event_id, event.household.reference, event.kind.value, next(self.ticks))
        self.pushes.append(push)
        try:
            result = await self.register.push(event)
        except Exception as error:
            push.outcome = type(error).__name__
            raise
        finally:
            push.ended = next(self.ticks)
        push.outcome = "ok"
        return result

    async def find_person(
        self, national_id: str | None, member_no: str | None
    ) -> RegisterPerson | None:
        return await self.register.find_person(national_id, member_no)

    async def check_eligibility(self, member_no: str, on: dt.date) -> RegisterEligibility:
        return await self.register.check_eligibility(member_no, on)

    async def aclose(self) -> None:
        await self.register.aclose()


def overlapping(pushes: list[Push]) -> list[tuple[str, str]]:
    """Pairs of pushes of one household that were in flight at the same time."""
    found = []
    for a, b in itertools.combinations(pushes, 2):
        if a.household != b.household:
            continue
        assert a.ended is not None and b.ended is not None
        if a.started < b.ended and b.started < a.ended:
            found.append((a.event_id, b.event_id))
    return found


@dataclass(frozen=True)
class Event:
    id: int
    household_id: int
    kind: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    claimed_until: dt.datetime | None
    last_error: str | None
    pushed_at: dt.datetime | None


def events(db: Session) -> list[Event]:
    """Every register event, oldest first, with aware times (SQLite hands back naive ones,
    stored in the clock's zone)."""
    db.expire_all()
    rows = db.execute(
        text(
            "SELECT id, household_id, kind, status, attempts, next_attempt_at, claimed_until,"
            " last_error, pushed_at FROM register_events ORDER BY id"
        )
    ).all()
    return [
        Event(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            _aware(r[5]),
            _aware(r[6]) if r[6] else None,
            r[7],
            _aware(r[8]) if r[8] else None,
        )
        for r in rows
    ]


def _aware(value: dt.datetime | str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZONE)


def links(db: Session) -> dict[int, dict[str, str]]:
    """The register ids kept for each household."""
    import json

    db.expire_all()
    rows = db.execute(text("SELECT household_id, register_ids FROM register_links")).all()
    return {r[0]: (json.loads(r[1]) if isinstance(r[1], str) else dict(r[1])) for r in rows}


def households(db: Session) -> dict[str, int]:
    """Head's member number -> household id."""
    db.expire_all()
    rows = db.execute(
        text("SELECT member_no, household_id FROM members WHERE relationship_to_head = 'head'")
    ).all()
    return {r[0]: r[1] for r in rows}


def members(db: Session) -> dict[int, list[str]]:
    """Household id -> its member numbers, head first."""
    db.expire_all()
    rows = db.execute(
        text(
            "SELECT household_id, member_no FROM members"
            " ORDER BY household_id, relationship_to_head <> 'head', id"
        )
    ).all()
    found: dict[int, list[str]] = {}
    for household_id, member_no in rows:
        found.setdefault(household_id, []).append(member_no)
    return found
