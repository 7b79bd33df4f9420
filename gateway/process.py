"""One gateway process: the shared infrastructure and every capability built on it.

`alafia serve` serves its routes, `alafia worker` runs its jobs, `alafia demo` does both.

    gateway = Gateway(settings)
    await gateway.start()
    ...
    await gateway.stop()
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from gateway.capabilities import CAPABILITIES
from gateway.capability import C, Capability, Job, build_all
from gateway.infrastructure import Now, Shared, Today
from gateway.settings import Settings


class Gateway:
    def __init__(
        self,
        settings: Settings,
        now: Now | None = None,
        today: Today | None = None,
        kinds: Sequence[type[Capability]] = CAPABILITIES,
    ) -> None:
        self.shared = Shared(settings, now, today)
        self.built = build_all(kinds, self.shared)
        self.capabilities = self.built.all()

    def get(self, kind: type[C]) -> C:
        return self.built.get(kind)

    @property
    def routes(self) -> list[BaseRoute]:
        return [route for capability in self.capabilities for route in capability.routes()]

    @property
    def jobs(self) -> list[Job]:
        """What the background worker does, in this order, each round."""
        return [job for capability in self.capabilities for job in capability.jobs()]

    async def start(self) -> None:
        await self.shared.start()
        for capability in self.capabilities:
            await capability.start()

    async def stop(self) -> None:
        for capability in reversed(self.capabilities):
            await capability.stop()
        await self.shared.stop()
