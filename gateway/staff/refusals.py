"""A change a staff member may not make (another mutual's agent, a viewer's form, a
facility for anyone but central staff): recorded in the audit log as `change_refused`
with what was asked, nothing changed, and a 403 page.

    await refuse(request, staff, "agent_added", mutual="MS-KANDI")
"""

from __future__ import annotations

from typing import Any, NoReturn

from starlette.requests import Request

from db.engine import writing
from db.values import AuditAction
from gateway import audit
from gateway.actors import staff_actor
from gateway.staff.auth import StaffUser
from gateway.staff.dashboard import dashboard_of
from gateway.staff.guard import Forbidden


async def refuse(request: Request, staff: StaffUser, action: str, **details: Any) -> NoReturn:
    dashboard = dashboard_of(request)
    async with writing(dashboard.sessions) as session:
        session.add(
            audit.entry(
                staff_actor(staff.id),
                AuditAction.CHANGE_REFUSED,
                dashboard.now(),
                details={"action": action, "path": request.url.path, **details},
            )
        )
    raise Forbidden()
