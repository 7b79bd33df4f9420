"""Is this member covered on this day? Asked by health facilities before care.

The gateway's own data answers first, in one query (on the read replica when there is
one; a member the replica does not know yet is asked of the primary). A member the
gateway does not know is asked of the central register (when there is one), and the
answer says which of the two spoke. Every check is logged with the facility that made
it, off the request path (`check_log`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from adapters.register import CentralRegister, Eligibility
from db import models
from db.values import CoverGround
from gateway.enrolment import coverage
from gateway.register.check_log import CheckLog
from gateway.register.facilities import FacilityRef
from gateway.register.registers import is_remote
from menus.identifiers import MemberNumberError, parse_member_number
from menus.values import NO_PERIOD, CheckOutcome, CheckSource, CoverageStatus

log = logging.getLogger(__name__)

# The names gateway/register/routes.py still imports.
REGISTER_TIMEOUT = 5.0  # seconds


@dataclass(frozen=True)
class Answer:
    outcome: CheckOutcome
    member_no: str
    on: date
    source: CheckSource
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
    # The member's mutual (their insurer), when the gateway's own data answered.
    mutual_code: str | None = None
    mutual_name: str | None = None
    # On what ground the member is covered in this cover year (member, under_five,
    # pregnancy, indigent): who pays for the care. None when no cover line says it.
    ground: CoverGround | None = None

    @property
    def covered(self) -> bool:
        return self.outcome == CheckOutcome.COVERED


def _local_read() -> Any:  # a Select of typed columns
    """A member, its household's latest period opened on or before the day, the
    member's ground in it, the product's co-payment and the household's mutual: one
    statement, built once. `left_on` and `has_lines` say whether the member is still
    in that year: a member who left (or died) or was not priced in it is not covered."""
    member, period, product = models.Member, models.CoveragePeriod, models.Product
    line, any_line = models.CoverLine, aliased(models.CoverLine)
    household, mutual = models.Household, models.SchemeUnit
    latest = (
        select(period.id)
        .where(period.household_id == member.household_id, period.starts_on <= bindparam("on"))
        .order_by(period.starts_on.desc())
        .limit(1)
        .correlate(member)
        .scalar_subquery()
    )
    has_lines = (
        select(any_line.id).where(any_line.period_id == period.id).correlate(period).exists()
    ).label("has_lines")
    return (
        select(
            member.first_names,
            member.last_name,
            period.id,
            period.premium_due,
            period.amount_paid,
            period.paid_in_full_on,
            period.waiting_days,
            period.cover_months,
            period.grace_days,
            product.copay_percent,
            period.cancelled_on,
            period.cover_starts_on,
            period.cover_ends_on,
            period.threshold_percent,
            period.carried_in,
            line.ground,
            line.id.label("line_id"),
            member.left_on,
            has_lines,
            mutual.code.label("mutual_code"),
            mutual.name.label("mutual_name"),
        )
        .select_from(member)
        .join(household, household.id == member.household_id)
        .join(mutual, mutual.id == household.mutual_id)
        .outerjoin(period, period.id == latest)
        .outerjoin(product, product.id == period.product_id)
        .outerjoin(line, (line.period_id == period.id) & (line.member_id == member.id))
        .where(member.member_no == bindparam("member_no"))
    )


def _day(value: date | str | None) -> date | None:
    """SQLite hands dates back as text on a plain connection."""
    return date.fromisoformat(value) if isinstance(value, str) else value


class EligibilityService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        register: CentralRegister,
        now: Callable[[], datetime],
        redis: Redis,
        reads: AsyncEngine | None = None,
    ) -> None:
        """`reads`: where checks read (the replica of DATABASE_READ_URL, or a pool of the
        primary's own); `sessions` is the primary."""
        self.sessions = sessions
        self.register = register
        self.ask_register = is_remote(register)
        self.now = now
        self.primary: AsyncEngine = sessions.kw["bind"]
        self.engine: AsyncEngine = reads or self.primary
        self.log = CheckLog(sessions, redis)
        self._read = _local_read()

    async def check(self, facility: FacilityRef, typed: str, on: date, channel: str) -> Answer:
        """Answer and log the check (queued in Redis, written in batches: `CheckLog`)."""
        answer = await self.answer(typed, on)
        await self.log.add(self._log_row(facility, answer, channel))
        return answer

    async def answer(self, typed: str, on: date) -> Answer:
        """The answer alone, for a caller that logs it in a transaction of its own."""
        try:
            member_no = parse_member_number(typed)
        except MemberNumberError as error:
            return Answer(
                CheckOutcome.BAD_NUMBER, typed[:20], on, CheckSource.LOCAL, reason=error.reason
            )
        known = await self._local(member_no, on)
        return known if known is not None else await self._from_register(member_no, on)

    def record(
        self, session: AsyncSession, facility: FacilityRef, answer: Answer, channel: str
    ) -> None:
        """Log the check in the caller's transaction (an SMS reply and its check)."""
        session.add(models.EligibilityCheck(**self._log_row(facility, answer, channel)))

    def _log_row(self, facility: FacilityRef, answer: Answer, channel: str) -> dict[str, Any]:
        return {
            "facility_id": facility.id,
            "member_no": answer.member_no,
            "on": answer.on,
            "channel": channel,
            "outcome": answer.outcome,
            "source": answer.source,
            "checked_at": self.now(),
        }

    async def _row(self, engine: AsyncEngine, member_no: str, on: date) -> Any:
        # One statement on an autocommit connection: no ORM, no transaction to open and
        # close, only the columns the answer needs (a check must cost about a millisecond).
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            return (
                await connection.execute(self._read, {"member_no": member_no, "on": on})
            ).first()

    async def _local(self, member_no: str, on: date) -> Answer | None:
        row = await self._row(self.engine, member_no, on)
        if row is None and self.engine is not self.primary:
            # Read your writes: a member enrolled a moment ago may not have reached the
            # replica yet. "Unknown" is asked again of the primary (rare: a mistyped or
            # foreign number); an answer the replica has is at most its lag old.
            row = await self._row(self.primary, member_no, on)
        if row is None:
            return None
        first_names, last_name, found, copay = row[0], row[1], row[2], row[9]
        named = {
            "first_name": first_names.split()[0] if first_names else "",
            "initial": last_name[:1].upper(),
            "mutual_code": row.mutual_code,
            "mutual_name": row.mutual_name,
        }
        left_on = _day(row.left_on)
        gone = left_on is not None and left_on <= on
        if found is None or gone or (row.has_lines and row.line_id is None):
            # No year, or a year this member is not in (left, died, not priced in it).
            return Answer(
                CheckOutcome.NOT_COVERED,
                member_no,
                on,
                CheckSource.LOCAL,
                status=NO_PERIOD,
                **named,
            )
        terms = coverage.PeriodTerms(
            premium_due=row.premium_due,
            amount_paid=row.amount_paid,
            paid_in_full_on=_day(row.paid_in_full_on),
            waiting_days=row.waiting_days,
            cover_months=row.cover_months,
            grace_days=row.grace_days,
            cancelled_on=_day(row.cancelled_on),
            cover_starts_on=_day(row.cover_starts_on),
            cover_ends_on=_day(row.cover_ends_on),
            threshold_percent=row.threshold_percent,
            carried_in=row.carried_in,
        )
        status = coverage.status_on(terms, on)
        waiting_until = None
        if status == CoverageStatus.WAITING and terms.covered_from is not None:
            waiting_until = date.fromordinal(terms.covered_from.toordinal() - 1)
        return Answer(
            CheckOutcome.COVERED if status.covers_care else CheckOutcome.NOT_COVERED,
            member_no,
            on,
            CheckSource.LOCAL,
            status=status,
            period_start=terms.covered_from,
            period_end=terms.covered_until,
            waiting_until=waiting_until,
            grace_until=terms.grace_until,
            copay_percent=copay,
            coverage_ref=f"CP-{found}",
            ground=CoverGround(row.ground) if row.ground else None,
            **named,
        )

    async def _from_register(self, member_no: str, on: date) -> Answer:
        if not self.ask_register:
            return Answer(CheckOutcome.UNKNOWN_MEMBER, member_no, on, CheckSource.LOCAL)
        try:
            # A desk on USSD has about 8 s per screen: a slow register is a missing one.
            async with asyncio.timeout(REGISTER_TIMEOUT):
                found = await self.register.check_eligibility(member_no, on)
        except Exception as error:  # whatever the register did, the desk gets an answer
            log.warning("register unreachable for an eligibility check: %s", type(error).__name__)
            return Answer(CheckOutcome.REGISTER_UNAVAILABLE, member_no, on, CheckSource.REGISTER)
        if found.status is Eligibility.UNKNOWN_MEMBER:
            return Answer(CheckOutcome.UNKNOWN_MEMBER, member_no, on, CheckSource.REGISTER)
        return Answer(
            CheckOutcome.COVERED if found.covered else CheckOutcome.NOT_COVERED,
            member_no,
            on,
            CheckSource.REGISTER,
            status=found.status.value,
            period_start=found.period_start,
            period_end=found.period_end,
            coverage_ref=found.coverage_ref,
        )
