"""The demo's staff accounts, so that `alafia demo` shows the dashboard at once."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.values import StaffRole
from gateway.staff.accounts import StaffAccounts

DEMO_STAFF = (
    ("admin@demo.alafia", StaffRole.CENTRAL_ADMIN, None),
    ("gestion.parakou@demo.alafia", StaffRole.MUTUAL_MANAGER, "MS-PARAKOU"),
)


async def ensure_demo_staff(
    sessions: async_sessionmaker[AsyncSession], now: datetime | Callable[[], datetime]
) -> list[tuple[str, str]]:
    """Create the demo accounts that are missing, each with a new random password;
    (email, password) of those created: the gateway keeps no copy, print them once.
    `now` is the scheme's clock, or one moment."""
    clock = now if callable(now) else (lambda: now)
    accounts = StaffAccounts(sessions, clock)
    created = []
    for email, role, scope in DEMO_STAFF:
        if await accounts.find(email) is not None:
            continue
        password = secrets.token_urlsafe(12)
        await accounts.add(email, role, scope, password, "demo")
        created.append((email, password))
    return created
