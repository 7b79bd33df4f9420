"""Staff and statistics: the dashboard's pages, the statistics API, Africa's Talking's
USSD session ends (the funnel), the figures' cache kept warm, and `alafia staff ...`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute

from gateway.agents.accounts import Agents as AgentAccounts
from gateway.agents.capability import Agents
from gateway.agents.ledger import CashLedger
from gateway.callback_guard import CallbackGuard
from gateway.capability import Built, Capability, Job
from gateway.commands import CommandGroup
from gateway.infrastructure import Shared
from gateway.register.capability import Register
from gateway.sms.capability import Sms
from gateway.staff import commands, routes
from gateway.staff.dashboard import Dashboard
from gateway.staff.login_limits import LoginLimits
from gateway.staff.management import Management
from gateway.stats import commands as stats_commands
from gateway.stats import routes as stats_routes
from gateway.stats.board import Board
from gateway.stats.rollup import Rollup
from gateway.stats.selection import Source
from gateway.stats.session_ends import SessionEnds
from gateway.ussd.capability import Ussd


class Staff(Capability):
    name = "staff"

    def __init__(self, shared: Shared, built: Built) -> None:
        super().__init__(shared, built)
        settings = shared.settings
        keep = settings.stats_cache
        self.board = Board(
            Source(shared.dashboard_sessions, settings.timezone),
            shared.redis,
            shared.now,
            keep_seconds=keep,
            # Again before they expire, so a page in use never waits on a count.
            warm_every=max(keep * 2 / 3, 1.0),
        )
        self.dashboard = Dashboard(
            shared.sessions,
            shared.dashboard_sessions,
            shared.redis,
            shared.now,
            settings.country,
            self.board,
            built.get(Sms).campaigns,
            management=Management(
                AgentAccounts(shared.sessions, shared.now),
                CashLedger(shared.sessions, shared.now),
                built.get(Agents).desk,
                built.get(Register).facilities,
            ),
            logins=LoginLimits(shared.limits),
        )
        self.session_ends = SessionEnds(
            shared.sessions, built.get(Ussd).store, shared.now, settings.country
        )

    def routes(self) -> Sequence[BaseRoute]:
        settings = self.shared.settings
        guard = CallbackGuard(settings.sms.callback_token, settings.callback_networks)
        return [
            *stats_routes.routes(self.dashboard, self.session_ends, guard),
            *routes.routes(self.dashboard),
        ]

    def jobs(self) -> Sequence[Job]:
        rollup = Rollup(self.shared.sessions, self.shared.settings.timezone, self.shared.now)
        return [
            Job("stats.warm", self.board.work, time_limit=60),
            Job("stats.rollup", rollup.work, time_limit=120),
        ]

    @staticmethod
    def add_commands(group: CommandGroup[Any]) -> None:
        commands.add_commands(group)
        stats_commands.add_commands(group)
