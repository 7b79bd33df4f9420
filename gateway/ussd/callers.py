"""Who is dialling: what a session needs to know about a phone, and what it keeps."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from menus.values import Relationship

# Facility desk phones and agents' phones are few and change rarely: each process keeps
# them in memory rather than making every first hop pay more queries. (An agent disabled
# meanwhile can do nothing: the PIN check and each action read the account again.)
KNOWN_PHONES_REFRESH = 60.0


class CallerService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._desks: dict[str, int] = {}
        self._agents: dict[str, dict[str, Any]] = {}
        self._known_until = 0.0

    async def caller(self, phone: str) -> dict[str, Any]:
        """What a session needs to know about the phone that dials: one indexed read."""
        known = await self._household(phone)
        await self._refresh_known_phones()
        facility_id = self._desks.get(phone)
        if facility_id is not None:
            known["facility_id"] = facility_id
        agent = self._agents.get(phone)
        if agent is not None:
            known.update(agent)
        return known

    async def _refresh_known_phones(self) -> None:
        """Desk phones and agents' phones, read again once they are a minute old."""
        if time.monotonic() >= self._known_until:
            async with self.sessions() as session:
                rows = await session.execute(
                    select(models.FacilityPhone.phone, models.FacilityPhone.facility_id)
                    .join(models.Facility, models.Facility.id == models.FacilityPhone.facility_id)
                    .where(models.Facility.revoked_at.is_(None))
                )
                self._desks = {phone: facility_id for phone, facility_id in rows.all()}
                # Disabled agents too: their phone gets "account disabled", not the
                # members' menu, which would invite them to act as a member.
                agents = await session.execute(
                    select(models.Agent.phone, models.Agent.id, models.SchemeUnit.code).join(
                        models.SchemeUnit, models.SchemeUnit.id == models.Agent.mutual_id
                    )
                )
                self._agents = {
                    phone: {"agent_id": agent_id, "agent_mutual": mutual}
                    for phone, agent_id, mutual in agents.all()
                }
            self._known_until = time.monotonic() + KNOWN_PHONES_REFRESH

    def forget_known_phones(self) -> None:
        """Read desk and agents' phones again on the next dial (after a change here)."""
        self._known_until = 0.0

    async def _household(self, phone: str) -> dict[str, Any]:
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(models.Household.language, models.Member.member_no)
                    .join(models.Member, models.Member.household_id == models.Household.id)
                    .where(
                        models.Household.phone == phone,
                        models.Member.relationship_to_head == Relationship.HEAD,
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
