"""Staff correct a household: a member's names and birth date, the contact phone and the
village. Mutual managers in their mutual, central admins everywhere; viewers never.

Each correction is written with its audit entry (every field's value before and after)
and, when the central register holds what changed, a `household_updated` event, all in
one transaction. The register is not sent the village (`gateway.register.records` has no
location code for it), so a village alone makes no event.

A form carries the version of the values it showed (`version_of`); when the record has
changed since, the correction is refused as `Stale` with the values as they are now,
so that nobody overwrites a colleague's correction without seeing it. A correction
refused for the role or the scope is audited as `household_change_refused`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.register import EventKind
from db import models
from db.engine import writing
from db.values import AuditAction, StaffRole
from gateway import audit
from gateway.actors import staff_actor
from gateway.register.outgoing import register_event
from gateway.staff.household_forms import Contact, MemberIdentity, birth_date_text
from gateway.staff.scope import Scope

REFUSED = AuditAction.HOUSEHOLD_CHANGE_REFUSED
# Why a change was refused, in the audit log.
ROLE = "role"
OUTSIDE_SCOPE = "outside_scope"


def may_correct(scope: Scope) -> bool:
    """Viewers read households; only managers and central admins change them."""
    return scope.role in (StaffRole.CENTRAL_ADMIN, StaffRole.MUTUAL_MANAGER)


class Refused(Exception):
    """Not this staff member's to change: the page answers 403."""


class NoSuchRecord(LookupError):
    """No such household, or no such member in it: the page answers 404."""


class Stale(Exception):
    """The record changed after the form was shown; `current` is what it holds now."""

    def __init__(self, current: Any) -> None:
        super().__init__("changed since the form was shown")
        self.current = current


def version_of(values: Mapping[str, object]) -> str:
    """A short fingerprint of the values a form showed, sent back in a hidden field."""
    text = json.dumps(values, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class MemberFacts:
    household_id: int
    member_no: str
    last_name: str
    first_names: str
    birth_date: date
    birth_year_only: bool
    relationship: str

    @property
    def birth_date_text(self) -> str:
        return birth_date_text(self.birth_date, self.birth_year_only)

    @property
    def name(self) -> str:
        return f"{self.last_name} {self.first_names}"

    @property
    def version(self) -> str:
        return version_of(_member_values(self))


@dataclass(frozen=True)
class ContactFacts:
    household_id: int
    phone: str
    village: str | None

    @property
    def version(self) -> str:
        return version_of({"phone": self.phone, "village": self.village})


class HouseholdChanges:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], now: Callable[[], datetime]
    ) -> None:
        self.sessions = sessions
        self.now = now

    # -- what the forms show -------------------------------------------------------------

    async def member(self, scope: Scope, household_id: int, member_no: str) -> MemberFacts:
        async with self.sessions() as session:
            if await refusal(session, scope, household_id) is not None:
                raise Refused()
            return member_facts(await _member(session, household_id, member_no))

    async def contact(self, scope: Scope, household_id: int) -> ContactFacts:
        async with self.sessions() as session:
            if await refusal(session, scope, household_id) is not None:
                raise Refused()
            household = await session.get(models.Household, household_id)
            assert household is not None  # refusal() found it
            return _contact_facts(household)

    # -- corrections -----------------------------------------------------------------------

    async def correct_member(
        self,
        staff_id: int,
        scope: Scope,
        household_id: int,
        member_no: str,
        version: str,
        identity: MemberIdentity,
    ) -> list[str]:
        """The fields changed (none when the form repeated what is stored)."""
        await self.authorise(staff_id, scope, household_id, "member", member_no)
        now = self.now()
        async with writing(self.sessions) as session:
            await _lock_household(session, household_id)
            member = await _member(session, household_id, member_no, lock=True)
            before = member_facts(member)
            if before.version != version:
                raise Stale(before)
            after = _member_values(
                MemberFacts(
                    household_id,
                    member_no,
                    identity.last_name,
                    identity.first_names,
                    identity.birth_date,
                    identity.birth_year_only,
                    before.relationship,
                )
            )
            changes = _differences(_member_values(before), after)
            if not changes:
                return []
            member.last_name = identity.last_name
            member.first_names = identity.first_names
            member.birth_date = identity.birth_date
            member.birth_year = identity.birth_date.year
            member.birth_year_only = identity.birth_year_only
            session.add(
                register_event(EventKind.HOUSEHOLD_UPDATED, household_id, now, member_no=member_no)
            )
            session.add(
                audit.entry(
                    staff_actor(staff_id),
                    AuditAction.MEMBER_CORRECTED,
                    now,
                    household_id=household_id,
                    member_no=member_no,
                    details={"changes": changes},
                )
            )
            return list(changes)

    async def correct_contact(
        self, staff_id: int, scope: Scope, household_id: int, version: str, contact: Contact
    ) -> list[str]:
        await self.authorise(staff_id, scope, household_id, "contact")
        now = self.now()
        async with writing(self.sessions) as session:
            household = await _lock_household(session, household_id)
            before = _contact_facts(household)
            if before.version != version:
                raise Stale(before)
            changes = _differences(
                {"phone": before.phone, "village": before.village},
                {"phone": contact.phone, "village": contact.village},
            )
            if not changes:
                return []
            household.phone = contact.phone
            household.village = contact.village
            if "phone" in changes:  # the register holds the phone, not the village
                session.add(register_event(EventKind.HOUSEHOLD_UPDATED, household_id, now))
            session.add(
                audit.entry(
                    staff_actor(staff_id),
                    AuditAction.HOUSEHOLD_CORRECTED,
                    now,
                    household_id=household_id,
                    details={"changes": changes},
                )
            )
            return list(changes)

    async def authorise(
        self,
        staff_id: int,
        scope: Scope,
        household_id: int,
        change: str,
        member_no: str | None = None,
    ) -> None:
        """Raise `Refused` (audited) when this staff member may not change the household,
        `NoSuchRecord` when there is none."""
        async with self.sessions() as session:
            reason = await refusal(session, scope, household_id)
        if reason is not None:
            await self.record_refusal(staff_id, household_id, change, reason, member_no)
            raise Refused()

    async def record_refusal(
        self,
        staff_id: int,
        household_id: int,
        change: str,
        reason: str,
        member_no: str | None = None,
    ) -> None:
        async with writing(self.sessions) as session:
            session.add(
                audit.entry(
                    staff_actor(staff_id),
                    REFUSED,
                    self.now(),
                    household_id=household_id,
                    member_no=member_no,
                    details={"change": change, "reason": reason},
                )
            )


async def refusal(session: AsyncSession, scope: Scope, household_id: int) -> str | None:
    """Why this scope may not change the household (None: it may); `NoSuchRecord` when
    there is no such household."""
    path = await session.scalar(
        select(models.SchemeUnit.path)
        .join(models.Household, models.Household.mutual_id == models.SchemeUnit.id)
        .where(models.Household.id == household_id)
    )
    if path is None:
        raise NoSuchRecord(household_id)
    if not may_correct(scope):
        return ROLE
    if not scope.covers(path):
        return OUTSIDE_SCOPE
    return None


def member_facts(member: models.Member) -> MemberFacts:
    return MemberFacts(
        household_id=member.household_id,
        member_no=member.member_no or "",
        last_name=member.last_name,
        first_names=member.first_names,
        birth_date=member.birth_date,
        birth_year_only=member.birth_year_only,
        relationship=member.relationship_to_head,
    )


def birth_date_value(born: date, year_only: bool) -> str:
    """As the audit log keeps it: `1985` or `1985-03-12`."""
    return str(born.year) if year_only else born.isoformat()


def _member_values(facts: MemberFacts) -> dict[str, object]:
    return {
        "household_id": facts.household_id,
        "last_name": facts.last_name,
        "first_names": facts.first_names,
        "birth_date": birth_date_value(facts.birth_date, facts.birth_year_only),
        "relationship": facts.relationship,
    }


def _contact_facts(household: models.Household) -> ContactFacts:
    return ContactFacts(household.id, household.phone, household.village)


def _differences(
    before: Mapping[str, object], after: Mapping[str, object]
) -> dict[str, dict[str, object]]:
    return {
        field: {"before": before[field], "after": after[field]}
        for field in after
        if before[field] != after[field]
    }


async def _lock_household(session: AsyncSession, household_id: int) -> models.Household:
    """The household's row, locked until commit: an agent adding a member (which locks it
    too) waits, and so does a second correction."""
    household = await session.get(
        models.Household, household_id, with_for_update=True, populate_existing=True
    )
    if household is None:
        raise NoSuchRecord(household_id)
    return household


async def _member(
    session: AsyncSession, household_id: int, member_no: str, *, lock: bool = False
) -> models.Member:
    query = select(models.Member).where(
        models.Member.member_no == member_no, models.Member.household_id == household_id
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    member = await session.scalar(query)
    if member is None:
        raise NoSuchRecord(member_no)
    return member
