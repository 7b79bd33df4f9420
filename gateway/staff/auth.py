"""Who is asking: the staff member behind a request's session cookie, with their scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from starlette.requests import Request

from db import models
from db.engine import as_aware
from gateway.staff.dashboard import dashboard_of
from gateway.staff.scope import Scope
from gateway.staff.sessions import COOKIE, StaffSession, StaffSessions


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StaffUser:
    id: int
    email: str
    role: str
    scope: Scope
    session: StaffSession


async def current_staff(request: Request) -> StaffUser | None:
    """None for no cookie, an ended session, or a disabled account. The account is read
    on every request, so a disabled account or a changed role takes effect at once."""
    dashboard = dashboard_of(request)
    session = await StaffSessions(dashboard.redis).get(request.cookies.get(COOKIE))
    if session is None:
        return None
    async with dashboard.sessions() as db:
        row = (
            await db.execute(
                select(models.StaffAccount, models.SchemeUnit.path)
                .outerjoin(
                    models.SchemeUnit, models.SchemeUnit.id == models.StaffAccount.scope_unit_id
                )
                .where(models.StaffAccount.id == session.staff_id)
            )
        ).first()
    if row is None:
        return None
    account, path = row
    if account.disabled_at is not None:
        return None
    valid_from = account.sessions_valid_from
    # Written in UTC; SQLite hands it back without its zone.
    if valid_from is not None and session.started < as_aware(valid_from, _utc_now()).timestamp():
        return None  # opened before a password reset
    return StaffUser(account.id, account.email, account.role, Scope(account.role, path), session)
