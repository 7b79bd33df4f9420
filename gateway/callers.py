"""Who is dialling: what a session needs to know about a phone, and what it keeps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models


class CallerService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def caller(self, phone: str) -> dict[str, Any]:
        """What a session needs to know about the phone that dials: one indexed read."""
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(models.Household.language, models.Member.member_no)
                    .join(models.Member, models.Member.household_id == models.Household.id)
                    .where(
                        models.Household.phone == phone,
                        models.Member.relationship_to_head == "head",
                    )
                    .order_by(models.Household.id.desc())
                    .limit(1)
                )
            ).first()
        if row is None:
            return {"phone": phone}
        return {"phone": phone, "language": row.language, "member_no": row.member_no}

    async def remember_language(self, phone: str, language: str) -> None:
        async with self.sessions() as session:
            await session.execute(
                update(models.Household)
                .where(models.Household.phone == phone)
                .values(language=language)
            )
            await session.commit()
