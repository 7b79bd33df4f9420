"""The version of the phones every gateway process keeps in memory: agents' phones and
health facilities' desk phones (`gateway.ussd.callers`).

Whoever adds, disables or enables an agent, or changes a facility's phones or key, raises
the version in the same transaction as the change (`phones_changed`). A process reads the
version in the query it already makes on a session's first hop (`version_read`) and
reads the phones again when the number moved: every process sees the change on its next
dial, without a query or a Redis round trip more per hop, and a change committed by the
command line (which has no Redis of its own) is seen too.
"""

from __future__ import annotations

from sqlalchemy import ScalarSelect, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import models

KNOWN_PHONES = "known_phones"  # its row is created by migration 0009


async def phones_changed(session: AsyncSession) -> None:
    """In the transaction of the change: committed with it, or not at all."""
    await session.execute(
        update(models.CacheVersion)
        .where(models.CacheVersion.name == KNOWN_PHONES)
        .values(version=models.CacheVersion.version + 1)
    )


def version_read() -> ScalarSelect[int]:
    """The version as a column of another query (0 if the row is missing)."""
    return (
        select(func.coalesce(func.max(models.CacheVersion.version), 0))
        .where(models.CacheVersion.name == KNOWN_PHONES)
        .scalar_subquery()
    )
