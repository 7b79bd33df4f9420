"""The scheme: mutuals, products and sponsors loaded from a file (`alafia scheme ...`),
and the copy every process keeps of it, read again every SCHEME_REFRESH_SECONDS."""

from __future__ import annotations

import logging

from gateway.capability import Built, Capability
from gateway.infrastructure import Shared
from gateway.scheme import commands
from gateway.scheme.cache import SchemeCache

log = logging.getLogger(__name__)


class Scheme(Capability):
    name = "scheme"

    def __init__(self, shared: Shared, built: Built) -> None:
        super().__init__(shared, built)
        self.cache = SchemeCache(shared.sessions, shared.settings.scheme_refresh_seconds)

    async def start(self) -> None:
        try:
            await self.cache.reload()
        except Exception:
            # Start anyway: /readyz says what is wrong and hops answer "unavailable".
            log.exception("could not read the scheme at start-up")

    add_commands = staticmethod(commands.add_commands)
