"""Indigence from the social registry: members with an NPI asked, by the DCI adapter, whether
the social registry's household holding them is poor enough (``DCI_INDIGENT_SCORE_BELOW``),
and an ``indigent`` exemption with source ``social_registry`` recorded or ended accordingly.

The registry is asked outside any transaction (a slow registry must not hold database
connections); each member's answer is then written in a transaction of its own, so a failure
half-way leaves every answer so far recorded and the rest to the next run. Running it again
changes nothing that has not changed at the registry: an exemption already open is left as it
is, one the registry no longer supports is ended the day before (only the registry's own:
what staff or an import recorded is theirs to end).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.register import RegisterError
from adapters.register.dci import DciRegister
from db import models
from db.engine import writing
from db.values import ExemptionGround, ExemptionSource
from gateway.enrolment.exemptions import record_exemption

log = logging.getLogger(__name__)

ASKED_AT_ONCE = 4  # registry calls in flight; the registry is shared with other programmes
PAGE = 200  # members read, asked and written per round


@dataclass
class IndigenceCounts:
    """What one run found; ``failed`` members were not answered and stay as they were."""

    asked: int = 0
    indigent: int = 0
    recorded: int = 0  # exemptions opened by this run
    already: int = 0  # indigent, with an exemption already open
    ended: int = 0  # the registry's exemptions it no longer supports, closed
    unknown: int = 0  # persons the registry lists in no group
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # why, per failed member (no NPI)

    def add(self, other: IndigenceCounts) -> None:
        for name in ("asked", "indigent", "recorded", "already", "ended", "unknown", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors


@dataclass(frozen=True)
class Asked:
    member_id: int
    national_id: str


class IndigenceCheck:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        register: DciRegister,
        now: Callable[[], datetime],
        *,
        recorded_by: str,
    ) -> None:
        self.sessions = sessions
        self.register = register
        self.now = now
        self.recorded_by = recorded_by
        self.calls = asyncio.Semaphore(ASKED_AT_ONCE)

    async def run(self, mutual_code: str | None = None) -> IndigenceCounts:
        """Every current member with an NPI, of one mutual (and the units below it) or all,
        a page at a time (a national register holds millions)."""
        query = (
            select(models.Member.id, models.Member.national_id)
            .join(models.Household, models.Household.id == models.Member.household_id)
            .where(models.Member.national_id.is_not(None), models.Member.left_on.is_(None))
            .order_by(models.Member.id)
            .limit(PAGE)
        )
        if mutual_code is not None:
            async with self.sessions() as session:
                unit = await session.scalar(
                    select(models.SchemeUnit).where(models.SchemeUnit.code == mutual_code)
                )
            if unit is None:
                raise LookupError(f"no mutual or unit with code {mutual_code!r}")
            below = select(models.SchemeUnit.id).where(
                or_(
                    models.SchemeUnit.id == unit.id,
                    models.SchemeUnit.path.startswith(unit.path + "/"),
                )
            )
            query = query.where(models.Household.mutual_id.in_(below))
        counts, after = IndigenceCounts(), 0
        while True:
            async with self.sessions() as session:
                rows = (await session.execute(query.where(models.Member.id > after))).all()
            if not rows:
                return counts
            after = rows[-1][0]
            counts.add(await self._ask_all([Asked(i, n) for i, n in rows if n]))

    async def household(self, household_id: int) -> IndigenceCounts:
        """The current members with an NPI of one household (a new enrolment)."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(models.Member.id, models.Member.national_id).where(
                    models.Member.household_id == household_id,
                    models.Member.national_id.is_not(None),
                    models.Member.left_on.is_(None),
                )
            )
            members = [Asked(i, n) for i, n in rows.all() if n]
        return await self._ask_all(members)

    async def _ask_all(self, members: list[Asked]) -> IndigenceCounts:
        counts = IndigenceCounts()
        for one in await asyncio.gather(*(self._ask(m) for m in members)):
            counts.add(one)
        return counts

    async def _ask(self, member: Asked) -> IndigenceCounts:
        counts = IndigenceCounts(asked=1)
        try:
            async with self.calls:
                indigent = await self.register.is_indigent(member.national_id)
        except RegisterError as error:
            # Nothing written: the member stays as they were, asked again on the next run.
            log.warning("indigence of member %s not known: %s", member.member_id, error)
            counts.failed = 1
            counts.errors.append(f"member {member.member_id}: {type(error).__name__}: {error}")
            return counts
        if indigent is None:
            counts.unknown = 1
            return counts
        now = self.now()
        today = now.date()
        async with writing(self.sessions) as session:
            if indigent:
                counts.indigent = 1
                if await _open_exemption(session, member.member_id, today, None) is not None:
                    counts.already = 1
                else:
                    await session.run_sync(
                        lambda s: record_exemption(
                            s,
                            member.member_id,
                            ExemptionGround.INDIGENT,
                            ExemptionSource.SOCIAL_REGISTRY,
                            today,
                            None,
                            self.recorded_by,
                            now,
                        )
                    )
                    counts.recorded = 1
            else:
                ours = ExemptionSource.SOCIAL_REGISTRY
                row = await _open_exemption(session, member.member_id, today, ours)
                if row is not None and row.starts_on >= today:
                    await session.delete(row)  # opened today by a mistaken answer: never was
                    counts.ended = 1
                elif row is not None:
                    row.ends_on = today - timedelta(days=1)
                    row.recorded_by = self.recorded_by
                    counts.ended = 1
        return counts


async def _open_exemption(
    session: AsyncSession, member_id: int, today: date, source: ExemptionSource | None
) -> models.MemberExemption | None:
    """An indigent exemption valid today or later (from any source, or from ``source``)."""
    query = select(models.MemberExemption).where(
        models.MemberExemption.member_id == member_id,
        models.MemberExemption.ground == ExemptionGround.INDIGENT,
        or_(
            models.MemberExemption.ends_on.is_(None),
            models.MemberExemption.ends_on >= today,
        ),
    )
    if source is not None:
        query = query.where(models.MemberExemption.source == source)
    return await session.scalar(query.order_by(models.MemberExemption.starts_on).limit(1))
