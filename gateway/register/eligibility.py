"""Is this member covered on this day? Asked by health facilities before care.

The gateway's own data answers first, in one query. A member the gateway does not know
is asked of the central register (when there is one), and the answer says which of
the two spoke. Every check is logged with the facility that made it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.register import CentralRegister, Eligibility, RegisterError
from db import models
from db.engine import writing
from gateway import coverage
from gateway.register.facilities import FacilityRef
from gateway.register.registers import is_remote
from gateway.rights import terms_of
from menus.identifiers import MemberNumberError, parse_member_number

log = logging.getLogger(__name__)

COVERED = "covered"
NOT_COVERED = "not_covered"
UNKNOWN = "unknown_member"
BAD_NUMBER = "bad_number"
UNAVAILABLE = "register_unavailable"
REGISTER_TIMEOUT = 5.0  # seconds
OPEN_RIGHTS = frozenset({coverage.ACTIVE, coverage.GRACE})  # rights close after grace


@dataclass(frozen=True)
class Answer:
    outcome: str
    member_no: str
    on: date
    source: str  # local: the gateway's data; register: the central register's
    status: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    waiting_until: date | None = None  # the last day of the waiting period
    grace_until: date | None = None  # the last day still covered without a renewal
    copay_percent: int | None = None
    first_name: str | None = None
    initial: str | None = None
    reason: str | None = None  # why a number is bad: format, check_digit
    coverage_ref: str | None = None

    @property
    def covered(self) -> bool:
        return self.outcome == COVERED


class EligibilityService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        register: CentralRegister,
        now: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.register = register
        self.ask_register = is_remote(register)
        self.now = now

    async def check(self, facility: FacilityRef, typed: str, on: date, channel: str) -> Answer:
        """Answer and log the check."""
        answer = await self.answer(typed, on)
        async with writing(self.sessions) as session:
            self.record(session, facility, answer, channel)
        return answer

    async def answer(self, typed: str, on: date) -> Answer:
        """The answer alone, for a caller that logs it in a transaction of its own."""
        try:
            member_no = parse_member_number(typed)
        except MemberNumberError as error:
            return Answer(BAD_NUMBER, typed[:20], on, "local", reason=error.reason)
        known = await self._local(member_no, on)
        return known if known is not None else await self._from_register(member_no, on)

    def record(
        self, session: AsyncSession, facility: FacilityRef, answer: Answer, channel: str
    ) -> None:
        session.add(
            models.EligibilityCheck(
                facility_id=facility.id,
                member_no=answer.member_no,
                on=answer.on,
                channel=channel,
                outcome=answer.outcome,
                source=answer.source,
                checked_at=self.now(),
            )
        )

    async def _local(self, member_no: str, on: date) -> Answer | None:
        member = models.Member
        period = models.CoveragePeriod
        # The household's latest period opened on or before the day, found in the same query.
        latest = (
            select(period.id)
            .where(period.household_id == member.household_id, period.starts_on <= on)
            .order_by(period.starts_on.desc())
            .limit(1)
            .correlate(member)
            .scalar_subquery()
        )
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(
                        member.first_names, member.last_name, period, models.Product.copay_percent
                    )
                    .select_from(member)
                    .outerjoin(period, period.id == latest)
                    .outerjoin(models.Product, models.Product.id == period.product_id)
                    .where(member.member_no == member_no)
                )
            ).first()
        if row is None:
            return None
        first_names, last_name, found, copay = row
        named = {
            "first_name": first_names.split()[0] if first_names else "",
            "initial": last_name[:1].upper(),
        }
        if found is None:
            return Answer(NOT_COVERED, member_no, on, "local", status="none", **named)
        terms = terms_of(found)
        status = coverage.status_on(terms, on)
        waiting_until = None
        if status == coverage.WAITING and terms.covered_from is not None:
            waiting_until = date.fromordinal(terms.covered_from.toordinal() - 1)
        return Answer(
            COVERED if status in OPEN_RIGHTS else NOT_COVERED,
            member_no,
            on,
            "local",
            status=status,
            period_start=terms.covered_from,
            period_end=terms.covered_until,
            waiting_until=waiting_until,
            grace_until=terms.grace_until,
            copay_percent=copay,
            coverage_ref=f"CP-{found.id}",
            **named,
        )

    async def _from_register(self, member_no: str, on: date) -> Answer:
        if not self.ask_register:
            return Answer(UNKNOWN, member_no, on, "local")
        try:
            # A desk on USSD has about 8 s per screen: a slow register is a missing one.
            async with asyncio.timeout(REGISTER_TIMEOUT):
                found = await self.register.check_eligibility(member_no, on)
        except (RegisterError, TimeoutError) as error:
            log.warning("register unreachable for an eligibility check: %s", type(error).__name__)
            return Answer(UNAVAILABLE, member_no, on, "register")
        if found.status is Eligibility.UNKNOWN_MEMBER:
            return Answer(UNKNOWN, member_no, on, "register")
        return Answer(
            COVERED if found.covered else NOT_COVERED,
            member_no,
            on,
            "register",
            status=found.status.value,
            period_start=found.period_start,
            period_end=found.period_end,
            coverage_ref=found.coverage_ref,
        )
