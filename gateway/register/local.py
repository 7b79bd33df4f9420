"""The gateway as its own register (`REGISTER_ADAPTER=local`, the embedded default).

There is nowhere to push: events are marked skipped, and `alafia register retry
--skipped` sends them all once a real register is configured. Look-ups answer from
the gateway's own database.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.register import (
    Eligibility,
    PushResult,
    RegisterEligibility,
    RegisterEvent,
    RegisterPerson,
    RegisterUnsupported,
)
from db import models
from gateway.enrolment import coverage
from gateway.enrolment.entitlements import current_period, terms_of
from gateway.register.records import SEXES, birth_date_of
from menus.values import Relationship


class LocalRegister:
    remote = False

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def push(self, event: RegisterEvent) -> PushResult:
        raise RegisterUnsupported(event.kind, "the gateway is the register")

    async def find_person(
        self, national_id: str | None, member_no: str | None
    ) -> RegisterPerson | None:
        async with self.sessions() as session:
            member = None
            if national_id:
                member = await session.scalar(
                    select(models.Member).where(models.Member.national_id == national_id)
                )
            if member is None and member_no:
                member = await session.scalar(
                    select(models.Member).where(models.Member.member_no == member_no)
                )
            if member is None:
                return None
            return RegisterPerson(
                register_id=str(member.id),
                member_no=member.member_no,
                national_id=member.national_id,
                family_name=member.last_name,
                given_names=member.first_names,
                sex=SEXES.get(member.sex),
                birth_date=birth_date_of(member),
                phone=member.phone,
                is_head=member.relationship_to_head == Relationship.HEAD,
            )

    async def check_eligibility(self, member_no: str, on: dt.date) -> RegisterEligibility:
        async with self.sessions() as session:
            member = await session.scalar(
                select(models.Member).where(models.Member.member_no == member_no)
            )
            if member is None:
                return RegisterEligibility(member_no, on, Eligibility.UNKNOWN_MEMBER)
            period = await current_period(session, member.household_id, on)
            if period is None:
                return RegisterEligibility(member_no, on, Eligibility.NOT_COVERED)
            terms = terms_of(period)
            covered = coverage.status_on(terms, on).covers_care
            return RegisterEligibility(
                member_no,
                on,
                Eligibility.COVERED if covered else Eligibility.NOT_COVERED,
                period_start=terms.covered_from,
                period_end=terms.covered_until,
                coverage_ref=f"CP-{period.id}",
            )

    async def aclose(self) -> None:
        return None
