"""What the dashboard's pages and the statistics API use, built once by the staff
capability and handed to each request (`request.state.dashboard`) by `serving`."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from gateway.sms.campaigns import Campaigns
from gateway.staff.login_limits import LoginLimits
from gateway.staff.management import Management
from gateway.stats.board import Board


@dataclass(frozen=True)
class Dashboard:
    sessions: async_sessionmaker[AsyncSession]
    # Heavy reads on a small pool of their own (gateway.infrastructure).
    dashboard_sessions: async_sessionmaker[AsyncSession]
    redis: Redis  # staff sessions and the figures' cache
    now: Callable[[], datetime]
    country: str
    board: Board
    campaigns: Campaigns
    management: Management  # agents and facilities (gateway.staff.management)
    logins: LoginLimits  # failed logins per address and per account (Redis)


Endpoint = Callable[[Request], Awaitable[Response]]


def serving(dashboard: Dashboard, endpoint: Endpoint) -> Endpoint:
    """`endpoint`, with the dashboard on the request."""

    @functools.wraps(endpoint)
    async def served(request: Request) -> Response:
        request.state.dashboard = dashboard
        return await endpoint(request)

    return served


def dashboard_of(request: Request) -> Dashboard:
    found: Dashboard = request.state.dashboard
    return found
