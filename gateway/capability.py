"""The one contract every capability of the gateway keeps.

A capability is a package (payments, sms, register, ...) that says, through one
`Capability` subclass in its `capability.py`, what it adds to the three programs: HTTP
routes to `alafia serve`, jobs to `alafia worker`, commands to the CLI, and what it does
when the process starts and stops. The app, the worker and the CLI only loop over
`gateway.capabilities.CAPABILITIES`; adding a capability is one package and one line there.

A capability is built once per process, in the order of that list, from the shared
infrastructure and the capabilities built before it (`Built.get`). Building does no I/O:
connections are made in `start`, after every capability has been built.

    class Receipts(Capability):
        name = "receipts"

        def __init__(self, shared: Shared, built: Built) -> None:
            self.service = ReceiptService(shared.sessions, built.get(Sms).outbox, shared.now)

        def routes(self) -> Sequence[BaseRoute]:
            return [Route("/receipts/{number}", self.receipt, methods=["GET"])]

        def jobs(self) -> Sequence[Job]:
            return [Job("receipts.send", self.service.work, time_limit=60)]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from starlette.routing import BaseRoute

from gateway.commands import CommandGroup
from gateway.infrastructure import Shared


@dataclass(frozen=True)
class Job:
    """Work the background worker does each round; `run` returns how much it handled.

    A round of a job that passes `time_limit` seconds is cancelled (and logged), so one
    stalled provider or register cannot hold back the payments, SMS or the others."""

    name: str
    run: Callable[[], Awaitable[int]]
    time_limit: float = 120.0


class Capability:
    name: ClassVar[str]

    def __init__(self, shared: Shared, built: Built) -> None:
        self.shared = shared

    def routes(self) -> Sequence[BaseRoute]:
        return ()

    def jobs(self) -> Sequence[Job]:
        return ()

    async def start(self) -> None:
        """Connections and first reads, once every capability is built."""

    async def stop(self) -> None:
        """Close what `start` or the constructor opened; called in reverse order."""

    @staticmethod
    def add_commands(commands: CommandGroup[Any]) -> None:
        """The CLI commands of this capability (`alafia <name> ...`); no instance exists
        when the CLI builds its parser, so commands build what they need themselves."""


C = TypeVar("C", bound=Capability)


class Built:
    """The capabilities built so far in this process, found by their class."""

    def __init__(self) -> None:
        self._by_kind: dict[type[Capability], Capability] = {}

    def add(self, capability: Capability) -> None:
        self._by_kind[type(capability)] = capability

    def get(self, kind: type[C]) -> C:
        found = self._by_kind.get(kind)
        if found is None:
            raise LookupError(
                f"capability {kind.name!r} is needed before it is built: "
                "list it earlier in gateway.capabilities.CAPABILITIES"
            )
        assert isinstance(found, kind)
        return found

    def all(self) -> list[Capability]:
        return list(self._by_kind.values())


def build_all(kinds: Sequence[type[Capability]], shared: Shared) -> Built:
    built = Built()
    for kind in kinds:
        built.add(kind(shared, built))
    return built
