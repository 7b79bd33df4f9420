"""Exemptions set by staff: a pregnancy (with the day it ends) or indigence, for one
member, by member number. Staff act only on members of households of their unit; each
exemption is audited with who recorded it. The next cover year priced for the household
(a renewal, a bulk renewal) reads it: the free-care sponsor pays that person's share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import writing
from db.values import AuditAction, ExemptionGround, ExemptionSource
from gateway import audit
from gateway.enrolment.exemptions import record_exemption
from gateway.groups.exemption_rules import ExemptionRefused, check
from gateway.staff.scope import Scope


@dataclass(frozen=True)
class ExemptionView:
    member_no: str
    ground: str
    source: str
    starts_on: date
    ends_on: date | None
    recorded_by: str | None


class ExemptionDesk:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def record(
        self,
        member_no: str,
        ground: str,
        starts_on: date,
        ends_on: date | None,
        *,
        by: str,
        scope: Scope | None,
        now: datetime,
    ) -> bool:
        """Record it once: the same ground from the same day again changes nothing
        (returns False). Outside the staff member's unit the member is unknown."""
        check(ground, starts_on, ends_on)
        async with writing(self.sessions, f"member:{member_no}") as session:
            member = await _member(session, member_no, scope)
            same = await session.scalar(
                select(models.MemberExemption).where(
                    models.MemberExemption.member_id == member.id,
                    models.MemberExemption.ground == ground,
                    models.MemberExemption.starts_on == starts_on,
                )
            )
            if same is not None and same.ends_on == ends_on:
                return False
            member_id = member.id
            await session.run_sync(
                lambda sync: record_exemption(
                    sync,
                    member_id,
                    ExemptionGround(ground),
                    ExemptionSource.STAFF,
                    starts_on,
                    ends_on,
                    by,
                    now,
                )
            )
            session.add(
                audit.entry(
                    by,
                    AuditAction.EXEMPTION_RECORDED,
                    now,
                    household_id=member.household_id,
                    member_no=member_no,
                    details={
                        "ground": ground,
                        "starts_on": starts_on.isoformat(),
                        "ends_on": ends_on.isoformat() if ends_on else None,
                    },
                )
            )
            return True

    async def of_member(self, member_no: str, scope: Scope | None) -> list[ExemptionView]:
        async with self.sessions() as session:
            member = await _member(session, member_no, scope)
            rows = await session.scalars(
                select(models.MemberExemption)
                .where(models.MemberExemption.member_id == member.id)
                .order_by(models.MemberExemption.starts_on)
            )
            return [
                ExemptionView(member_no, e.ground, e.source, e.starts_on, e.ends_on, e.recorded_by)
                for e in rows
            ]


async def _member(session: AsyncSession, member_no: str, scope: Scope | None) -> models.Member:
    found = (
        await session.execute(
            select(models.Member, models.SchemeUnit.path)
            .join(models.Household, models.Household.id == models.Member.household_id)
            .join(models.SchemeUnit, models.SchemeUnit.id == models.Household.mutual_id)
            .where(models.Member.member_no == member_no)
        )
    ).first()
    if found is None or (scope is not None and not scope.covers(found[1])):
        raise ExemptionRefused("unknown_member")
    member: models.Member = found[0]
    if member.left_on is not None:
        raise ExemptionRefused("member_left")
    return member
