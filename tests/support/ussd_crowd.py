"""Phones dialling the short code of a running `alafia serve` over HTTP, without pause,
each answer sorted by kind: a CON or END screen, or anything else (an error status, an
empty or malformed body), which a phone must never get."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field

import httpx

CODE = "*384*22#"
_sessions = itertools.count()
# Each session dials from a number not seen before: its first hop reads the database
# (a phone seen lately is answered from the callers' cache in Redis, and its language
# choice touches no table, so a known phone's menu goes on while PostgreSQL is down).
_callers = itertools.count()


@dataclass
class Crowd:
    base_url: str
    token: str
    phones: int = 8
    phase: str = "before"
    screens: Counter[tuple[str, str]] = field(default_factory=Counter)  # (phase, kind)
    wrong: list[str] = field(default_factory=list)  # what a phone should never have seen
    ends: Counter[tuple[str, str]] = field(default_factory=Counter)  # (phase, END screen)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def count(self, phase: str, kind: str) -> int:
        return self.screens[(phase, kind)]

    def start(self) -> None:
        for _ in range(self.phones):
            self._tasks.append(asyncio.create_task(self._phone()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def until(self, phase: str, kind: str, at_least: int, patience: float = 60.0) -> None:
        """Wait for answers of `kind` in `phase`; fails, saying so, after `patience`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        while self.count(phase, kind) < at_least:
            if loop.time() > deadline:
                raise AssertionError(
                    f"never got {at_least} {kind} screens {phase}: {dict(self.screens)}"
                    f" wrong: {self.wrong[:5]}"
                )
            await asyncio.sleep(0.02)

    async def _phone(self) -> None:
        timeout = httpx.Timeout(30.0)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=timeout) as http:
            while True:
                session = f"ATUid_fault_{next(_sessions)}"
                number = f"+2290196{next(_callers) % 1_000_000:06d}"
                # A new session, then the menu's first choice: both read Redis and the database.
                for text in ("", "1"):
                    phase = self.phase  # the phase the hop was sent in
                    try:
                        response = await http.post(
                            "/ussd",
                            params={"token": self.token},
                            data={
                                "sessionId": session,
                                "serviceCode": CODE,
                                "phoneNumber": number,
                                "networkCode": "61603",
                                "text": text,
                            },
                        )
                    except httpx.HTTPError as error:
                        self.wrong.append(f"{phase}: {type(error).__name__}")
                        continue
                    kind = _kind(response)
                    if kind is None:
                        self.wrong.append(f"{phase}: {response.status_code} {response.text[:80]!r}")
                        continue
                    self.screens[(phase, kind)] += 1
                    if kind == "END":
                        self.ends[(phase, response.text)] += 1
                    if kind == "END":
                        break


def _kind(response: httpx.Response) -> str | None:
    if response.status_code != 200 or not response.headers.get("content-type", "").startswith(
        "text/plain"
    ):
        return None
    kind, _, screen = response.text.partition(" ")
    return kind if kind in ("CON", "END") and screen.strip() else None
