"""The yearly campaign's staff work: group payers (their contracts, invoices and
transfers), exemptions set by staff, and the bulk renewal of sponsored households.
Its dashboard pages use the staff capability's guard and dashboard."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from gateway.capability import Built, Capability
from gateway.groups import commands, pages
from gateway.infrastructure import Shared
from gateway.staff.capability import Staff


class Groups(Capability):
    name = "groups"

    def __init__(self, shared: Shared, built: Built) -> None:
        super().__init__(shared, built)
        self.dashboard = built.get(Staff).dashboard

    def routes(self) -> Sequence[BaseRoute]:
        return pages.routes(self.dashboard)

    add_commands = staticmethod(commands.add_commands)
