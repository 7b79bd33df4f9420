"""The audit log: who did what, when, to which household (`models.AuditEntry`).

Written in the same transaction as the action itself, so an action is never without
its entry. Never pass a PIN, a password or a session token in `details`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.values import AuditAction


def entry(
    actor: str,
    action: AuditAction,
    at: datetime,
    *,
    household_id: int | None = None,
    member_no: str | None = None,
    details: dict[str, Any] | None = None,
) -> models.AuditEntry:
    """An entry to `session.add` with the change it records. `actor` reads like
    `agent:12`, `staff:7`, `cli:root` or `import`."""
    return models.AuditEntry(
        at=at,
        actor=actor,
        action=action,
        household_id=household_id,
        member_no=member_no,
        details=details or {},
    )


async def search(
    sessions: async_sessionmaker[AsyncSession],
    *,
    actor: str | None = None,
    household_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[models.AuditEntry]:
    """Newest first."""
    query = select(models.AuditEntry).order_by(models.AuditEntry.id.desc()).limit(limit)
    if actor is not None:
        query = query.where(models.AuditEntry.actor == actor)
    if household_id is not None:
        query = query.where(models.AuditEntry.household_id == household_id)
    if action is not None:
        query = query.where(models.AuditEntry.action == action)
    if since is not None:
        query = query.where(models.AuditEntry.at >= since)
    async with sessions() as session:
        return list((await session.scalars(query)).all())
