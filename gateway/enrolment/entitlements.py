"""What a household or a member is entitled to today, read from the database."""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from gateway.enrolment import coverage
from menus.effects import CoverageView, MemberLine, RightsResult, StatusResult
from menus.values import CoverageStatus, Relationship


def terms_of(period: models.CoveragePeriod) -> coverage.PeriodTerms:
    return coverage.PeriodTerms(
        premium_due=period.premium_due,
        amount_paid=period.amount_paid,
        paid_in_full_on=period.paid_in_full_on,
        waiting_days=period.waiting_days,
        cover_months=period.cover_months,
        grace_days=period.grace_days,
        cancelled_on=period.cancelled_on,
        cover_starts_on=period.cover_starts_on,
        cover_ends_on=period.cover_ends_on,
        # Unset until the row is flushed (their defaults are the table's).
        threshold_percent=100 if period.threshold_percent is None else period.threshold_percent,
        carried_in=period.carried_in or 0,
    )


def coverage_view(period: models.CoveragePeriod | None, today: date) -> CoverageView | None:
    if period is None:
        return None
    terms = terms_of(period)
    start, end = terms.covered_from, terms.covered_until
    return CoverageView(
        status=coverage.status_on(terms, today),
        start=start.isoformat() if start else None,
        end=end.isoformat() if end else None,
        amount_due=terms.amount_due,
        amount_paid=period.amount_paid,
    )


async def current_period(
    session: AsyncSession, household_id: int, today: date
) -> models.CoveragePeriod | None:
    """The latest period already opened; a renewal opened for later does not hide it."""
    return await session.scalar(
        select(models.CoveragePeriod)
        .where(
            models.CoveragePeriod.household_id == household_id,
            models.CoveragePeriod.starts_on <= today,
        )
        .order_by(models.CoveragePeriod.starts_on.desc())
        .limit(1)
    )


def renewal_expired(period: models.CoveragePeriod, today: date) -> bool:
    """An unpaid renewal whose time is over: its fixed year has ended, or (a rolling one
    renewed on time) the previous year's grace has. Paying it now would give a year that
    is over, or cover with no waiting period; the household renews again instead."""
    if period.renewal_of_id is None or period.paid_in_full_on is not None:
        return False
    if period.cancelled_on is not None:
        return False
    if period.cover_ends_on is not None:
        return period.cover_ends_on < today
    if period.waiting_days or period.cover_starts_on is None:
        return False  # a lapsed renewal: it waits anyway
    return today > coverage.renewal_on_time_until(period.cover_starts_on, period.grace_days)


def payable(period: models.CoveragePeriod, today: date) -> bool:
    """Can a payment still go to `period` today? Not to a cancelled or expired year, nor
    to a fixed year that has ended, nor to one whose rights have lapsed."""
    if period.cancelled_on is not None or renewal_expired(period, today):
        return False
    if period.cover_ends_on is not None and period.cover_ends_on < today:
        return False
    return coverage.status_on(terms_of(period), today) != CoverageStatus.LAPSED


async def period_to_pay(
    session: AsyncSession, household_id: int, today: date
) -> models.CoveragePeriod | None:
    """The period a payment goes to: the oldest one still payable with something due
    (the rest of the current year before the renewal, when a threshold under 100 %
    opened rights early), else the latest opened, a renewal opened for later included
    (the next year is paid before it begins, while the current one covers)."""
    periods = (
        await session.scalars(
            select(models.CoveragePeriod)
            .where(models.CoveragePeriod.household_id == household_id)
            .order_by(models.CoveragePeriod.starts_on, models.CoveragePeriod.id)
        )
    ).all()
    for period in periods:
        if terms_of(period).amount_due > 0 and payable(period, today):
            return period
    return periods[-1] if periods else None


async def arrears_before(session: AsyncSession, period: models.CoveragePeriod, today: date) -> int:
    """What the household still owes on payable years older than `period`."""
    older = await session.scalars(
        select(models.CoveragePeriod).where(
            models.CoveragePeriod.household_id == period.household_id,
            models.CoveragePeriod.starts_on < period.starts_on,
        )
    )
    return sum(terms_of(p).amount_due for p in older if payable(p, today))


async def members_of(session: AsyncSession, household_id: int) -> list[models.Member]:
    """A household's current members (not dropped at a renewal), the head first, then in
    the order they were registered (a member moved in from another household may have
    registered before its head)."""
    return list(
        (
            await session.scalars(
                select(models.Member)
                .where(models.Member.household_id == household_id, models.Member.left_on.is_(None))
                .order_by(
                    case((models.Member.relationship_to_head == "head", 0), else_=1),
                    models.Member.id,
                )
            )
        ).all()
    )


async def grounds_of(
    session: AsyncSession, period: models.CoveragePeriod | None, member_ids: list[int]
) -> dict[int, str]:
    """On what ground each member is covered in `period` (`cover_lines.ground`); a
    member without a line (a year opened before lines existed) is left out."""
    if period is None or not member_ids:
        return {}
    rows = await session.execute(
        select(models.CoverLine.member_id, models.CoverLine.ground).where(
            models.CoverLine.period_id == period.id,
            models.CoverLine.member_id.in_(member_ids),
        )
    )
    return {member_id: ground for member_id, ground in rows}


class RightsService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def household_rights(
        self, phone: str, today: date, member_no: str | None = None
    ) -> RightsResult:
        """The rights of the latest household `phone` heads, or of the one whose head
        has `member_no` (a phone may head several): never another phone's household."""
        query = select(models.Household).where(models.Household.phone == phone)
        if member_no is not None:
            query = query.join(models.Member, models.Member.household_id == models.Household.id)
            query = query.where(
                models.Member.member_no == member_no,
                models.Member.relationship_to_head == Relationship.HEAD,
            )
        async with self.sessions() as session:
            household = await session.scalar(query.order_by(models.Household.id.desc()).limit(1))
            if household is None:
                return RightsResult(found=False, members=[], coverage=None)
            # Those who left at a renewal are no longer covered: not on the screen.
            members = [m for m in await members_of(session, household.id) if m.left_on is None]
            period = await current_period(session, household.id, today)
            upcoming = await period_to_pay(session, household.id, today)
            grounds = await grounds_of(session, period, [m.id for m in members])
            return RightsResult(
                found=True,
                # A renewal opened for later: next year, shown under the year in force.
                next=coverage_view(upcoming, today)
                if upcoming is not None and period is not None and upcoming.id != period.id
                else None,
                members=[
                    MemberLine(
                        member_no=m.member_no or "",
                        first_names=m.first_names,
                        initial=m.last_name[:1],
                        ground=grounds.get(m.id),
                    )
                    for m in members
                ],
                coverage=coverage_view(period, today),
            )

    async def member_status(self, member_no: str, today: date) -> StatusResult:
        async with self.sessions() as session:
            member = await session.scalar(
                select(models.Member).where(models.Member.member_no == member_no)
            )
            if member is None:
                return StatusResult(found=False, member_no=member_no, initial="", coverage=None)
            period = await current_period(session, member.household_id, today)
            grounds = await grounds_of(session, period, [member.id])
            # A member who left (or died), or was not priced in this year, is not covered
            # by it; a year opened before cover lines existed still covers its members.
            if member.left_on is not None and member.left_on <= today:
                period = None
            elif period is not None and member.id not in grounds:
                has_lines = await session.scalar(
                    select(models.CoverLine.id)
                    .where(models.CoverLine.period_id == period.id)
                    .limit(1)
                )
                if has_lines is not None:
                    period = None
            return StatusResult(
                found=True,
                member_no=member_no,
                initial=member.first_names[:1].upper(),
                coverage=coverage_view(period, today),
                ground=grounds.get(member.id),
            )
