"""A household's audit history, for its page: who changed what, with the values before
and after, newest first.

Views of the page (`household_viewed`) are left out: they are in the audit log, but one
line per support call would bury the changes. Values are masked here for roles that must
not read personal data, as the rest of the page is (`gateway.staff.households`): names
to initials, phones to their last two digits, birth dates to the year, the village
hidden; staff and agents are then named by their number only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gateway.staff.scope import Scope
from menus.identifiers import mask_phone

HISTORY_LIMIT = 50
LEFT_OUT = ("household_viewed",)
HIDDEN = "•••"


@dataclass(frozen=True)
class Change:
    field: str
    before: object
    after: object


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    actor: str  # `staff:7`, or who that is when the role may know
    action: str
    member_no: str | None
    changes: list[Change]
    notes: list[tuple[str, object]]  # the entry's other details: persons, amount...


async def household_history(
    session: AsyncSession,
    household_id: int,
    scope: Scope,
    zone: tzinfo,
    limit: int = HISTORY_LIMIT,
) -> list[HistoryLine]:
    """Times are in `zone`, the scheme's: PostgreSQL hands them back in the connection's
    zone (often UTC), SQLite without a zone, as they were written."""
    entries = (
        await session.scalars(
            select(models.AuditEntry)
            .where(
                models.AuditEntry.household_id == household_id,
                models.AuditEntry.action.not_in(LEFT_OUT),
            )
            .order_by(models.AuditEntry.id.desc())
            .limit(limit)
        )
    ).all()
    names = await _actor_names(session, {e.actor for e in entries}, scope)
    return [
        HistoryLine(
            at=(entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=zone)).astimezone(zone),
            actor=names.get(entry.actor, entry.actor),
            action=entry.action,
            member_no=entry.member_no,
            changes=[
                Change(
                    field,
                    _shown(field, values.get("before"), scope),
                    _shown(field, values.get("after"), scope),
                )
                for field, values in _changes_of(entry).items()
            ],
            notes=[
                (key, value)
                for key, value in (entry.details or {}).items()
                if key != "changes" and isinstance(value, str | int | float)
            ],
        )
        for entry in entries
    ]


def _changes_of(entry: models.AuditEntry) -> dict[str, dict[str, object]]:
    changes = (entry.details or {}).get("changes")
    if not isinstance(changes, dict):
        return {}
    return {str(k): v for k, v in changes.items() if isinstance(v, dict)}


def _shown(field: str, value: object, scope: Scope) -> object:
    if value is None or scope.sees_personal_data:
        return value
    text = str(value)
    if field in ("last_name", "first_names"):
        return f"{text[:1]}."
    if field == "phone":
        return mask_phone(text)
    if field == "birth_date":
        return text[:4]
    if field == "village":
        return HIDDEN
    return value


async def _actor_names(session: AsyncSession, actors: set[str], scope: Scope) -> dict[str, str]:
    """`staff:7` -> their email, `agent:12` -> their name, for roles that see names."""
    if not scope.sees_personal_data:
        return {}
    staff_ids = _ids(actors, "staff:")
    agent_ids = _ids(actors, "agent:")
    names: dict[str, str] = {}
    if staff_ids:
        rows = await session.execute(
            select(models.StaffAccount.id, models.StaffAccount.email).where(
                models.StaffAccount.id.in_(staff_ids)
            )
        )
        names |= {f"staff:{i}": email for i, email in rows.all()}
    if agent_ids:
        rows = await session.execute(
            select(models.Agent.id, models.Agent.name).where(models.Agent.id.in_(agent_ids))
        )
        names |= {f"agent:{i}": f"{name} (agent:{i})" for i, name in rows.all()}
    return names


def _ids(actors: set[str], prefix: str) -> list[int]:
    return [
        int(actor.removeprefix(prefix))
        for actor in actors
        if actor.startswith(prefix) and actor.removeprefix(prefix).isdigit()
    ]
