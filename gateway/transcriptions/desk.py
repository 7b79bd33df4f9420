"""Staff write down the names callers said: what waits, the audio, and the typed name.

Mutual managers transcribe in their mutual, central admins everywhere; viewers, who see
no personal data, do not (a voice is personal data). A name is read by the parsers the
short code uses (`menus.parsers.family_name`, `given_names`), so a transcribed member
meets the same rules as one typed on a phone.

Typing the name fills the member's columns, marks the transcription done, drops the
audio and writes the audit entry, in one transaction. When it was the household's last
name to type, the same transaction queues the enrolment SMS with the member number
(`gateway.sms.enrolment.enrolment_sms`, sent once per household), and the register
sync, which holds a household's events while any of its names is pending, pushes them
with the real names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import writing
from db.values import AuditAction, StaffRole, TranscribedFields, TranscriptionStatus
from gateway import audit
from gateway.actors import staff_actor
from gateway.enrolment.entitlements import members_of
from gateway.sms.enrolment import enrolment_sms
from gateway.sms.outbox import Outbox
from gateway.staff.scope import Scope
from gateway.staff.scope_sql import within_scope

PAGE = 100  # the oldest first; more appear as these are typed


def may_transcribe(scope: Scope) -> bool:
    return scope.role in (StaffRole.CENTRAL_ADMIN, StaffRole.MUTUAL_MANAGER)


class Refused(Exception):
    """Not this staff member's to hear or type: the page answers 403."""


class NoSuchName(LookupError):
    """No such transcription: the page answers 404."""


class AlreadyDone(Exception):
    """Typed by someone else meanwhile: the page says so and shows what waits."""


@dataclass(frozen=True)
class TypedName:
    last_name: str | None  # None when this recording does not fill it
    first_names: str | None


@dataclass(frozen=True)
class PendingName:
    id: int
    household_id: int
    member_no: str
    relationship: str
    fields: str  # db.values.TranscribedFields
    status: str  # db.values.TranscriptionStatus
    fetch_attempts: int
    problem: str | None  # why the audio is missing, for no_audio
    mutual: str
    phone: str  # the household's, to call when the recording never came
    created_at: datetime

    @property
    def asks_last_name(self) -> bool:
        return self.fields in (TranscribedFields.LAST_NAME, TranscribedFields.NAME)

    @property
    def asks_first_names(self) -> bool:
        return self.fields in (TranscribedFields.FIRST_NAMES, TranscribedFields.NAME)


@dataclass(frozen=True)
class Audio:
    content: bytes
    content_type: str


@dataclass(frozen=True)
class Transcribed:
    household_id: int
    member_no: str
    household_complete: bool  # the last name of the household: its SMS is queued


class TranscriptionDesk:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        now: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.now = now

    async def pending(self, scope: Scope) -> tuple[list[PendingName], int]:
        """The oldest names waiting in the scope (at most `PAGE`), and how many wait."""
        if not may_transcribe(scope):
            raise Refused()
        row = models.Transcription
        waiting = _waiting(scope)
        async with self.sessions() as session:
            rows = (await session.execute(waiting.order_by(row.id).limit(PAGE))).all()
            total = await session.scalar(
                select(func.count()).select_from(waiting.with_only_columns(row.id).subquery())
            )
        return [_pending(*found) for found in rows], int(total or 0)

    async def name(self, scope: Scope, transcription_id: int) -> PendingName:
        """One name still to type; `AlreadyDone` once it is typed."""
        async with self.sessions() as session:
            await _in_scope(session, scope, transcription_id)
            found = (
                await session.execute(
                    _waiting(scope).where(models.Transcription.id == transcription_id)
                )
            ).first()
        if found is None:
            raise AlreadyDone()
        return _pending(*found)

    async def audio(self, scope: Scope, transcription_id: int) -> Audio | None:
        """The stored recording; None when there is none (not fetched yet, or typed)."""
        async with self.sessions() as session:
            found = await _in_scope(session, scope, transcription_id)
            audio = await session.scalar(
                select(models.Transcription.audio).where(models.Transcription.id == found.id)
            )
        if audio is None or found.status == TranscriptionStatus.DONE:
            return None
        return Audio(audio, found.audio_type or "application/octet-stream")

    async def transcribe(
        self, staff_id: int, scope: Scope, transcription_id: int, typed: TypedName
    ) -> Transcribed:
        now = self.now()
        async with writing(self.sessions) as session:
            found = await _in_scope(session, scope, transcription_id)
            # The household's row first, as every change to a household takes it: two
            # staff typing its last two names cannot both miss that the other finished.
            await session.get(
                models.Household, found.household_id, with_for_update=True, populate_existing=True
            )
            found = await _in_scope(session, scope, transcription_id, lock=True)
            if found.status == TranscriptionStatus.DONE:
                raise AlreadyDone()
            member = await session.get(
                models.Member, found.member_id, with_for_update=True, populate_existing=True
            )
            assert member is not None  # a foreign key
            # As a correction is audited: each field before and after, so that the
            # household's history shows who wrote which name.
            changes: dict[str, dict[str, str]] = {}
            if typed.last_name is not None:
                changes["last_name"] = {"before": member.last_name, "after": typed.last_name}
                member.last_name = typed.last_name
            if typed.first_names is not None:
                changes["first_names"] = {
                    "before": member.first_names,
                    "after": typed.first_names,
                }
                member.first_names = typed.first_names
            found.status = TranscriptionStatus.DONE
            found.audio = None  # a voice is personal data: kept no longer than needed
            found.transcribed_at = now
            found.transcribed_by = staff_id
            session.add(
                audit.entry(
                    staff_actor(staff_id),
                    AuditAction.NAME_TRANSCRIBED,
                    now,
                    household_id=found.household_id,
                    member_no=member.member_no,
                    details={"transcription": found.id, "changes": changes},
                )
            )
            await session.flush()
            left = await session.scalar(
                select(func.count()).where(
                    models.Transcription.household_id == found.household_id,
                    models.Transcription.status != TranscriptionStatus.DONE,
                )
            )
            complete = not left
            if complete:
                await self._release(session, found.household_id, now)
            return Transcribed(found.household_id, member.member_no or "", complete)

    async def _release(self, session: AsyncSession, household_id: int, now: datetime) -> None:
        """The enrolment SMS, held while names were pending (sent once: its dedupe key)."""
        household = await session.get(models.Household, household_id)
        members = await members_of(session, household_id)  # the head first
        period = await session.scalar(
            select(models.CoveragePeriod)
            .where(models.CoveragePeriod.household_id == household_id)
            .order_by(models.CoveragePeriod.starts_on)
            .limit(1)
        )
        assert household is not None and members and period is not None
        already = await session.scalar(
            select(models.Message.id).where(models.Message.dedupe_key == f"enrolled:{household_id}")
        )
        if already is None:
            session.add(enrolment_sms(self.outbox, household, members, period, now))


async def _in_scope(
    session: AsyncSession, scope: Scope, transcription_id: int, *, lock: bool = False
) -> models.Transcription:
    if not may_transcribe(scope):
        raise Refused()
    query = (
        select(models.Transcription, models.SchemeUnit.path)
        .join(models.Household, models.Household.id == models.Transcription.household_id)
        .join(models.SchemeUnit, models.SchemeUnit.id == models.Household.mutual_id)
        .where(models.Transcription.id == transcription_id)
    )
    if lock:
        query = query.with_for_update(of=models.Transcription).execution_options(
            populate_existing=True
        )
    row = (await session.execute(query)).first()
    if row is None:
        raise NoSuchName(transcription_id)
    found, path = row
    if not scope.covers(path):
        raise Refused()
    return found


def _waiting(
    scope: Scope,
) -> Select[models.Transcription, models.Member, models.Household, models.SchemeUnit]:
    """Names not typed yet in the scope, with their member, household and mutual."""
    row = models.Transcription
    return (
        select(row, models.Member, models.Household, models.SchemeUnit)
        .join(models.Member, models.Member.id == row.member_id)
        .join(models.Household, models.Household.id == row.household_id)
        .join(models.SchemeUnit, models.SchemeUnit.id == models.Household.mutual_id)
        .where(row.status != TranscriptionStatus.DONE, within_scope(scope, models.SchemeUnit.path))
    )


def _pending(
    found: models.Transcription,
    member: models.Member,
    household: models.Household,
    mutual: models.SchemeUnit,
) -> PendingName:
    return PendingName(
        id=found.id,
        household_id=household.id,
        member_no=member.member_no or "",
        relationship=member.relationship_to_head,
        fields=found.fields,
        status=found.status,
        fetch_attempts=found.fetch_attempts,
        problem=found.last_error if found.status == TranscriptionStatus.NO_AUDIO else None,
        mutual=mutual.name,
        phone=household.phone,
        created_at=found.created_at,
    )
