"""Two staff typing a household's names at the same moment: every name is kept once,
and the household's SMS is queued once, by whichever typed the last. Also the same name
typed by two at once: one wins, the other is told it was done. Real database (row locks
on PostgreSQL, the write lock on SQLite)."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway.staff.scope import Scope
from gateway.transcriptions.capability import Transcriptions
from gateway.transcriptions.desk import AlreadyDone, Transcribed, TypedName
from tests.staff.web import add_staff
from tests.support.gateway import part
from tests.transcriptions.spoken import enrol_by_voice, urls

PHONE = "+2290197000981"
ADMIN = Scope("central_admin", None)


async def test_the_last_two_names_typed_at_once_send_one_sms(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    walked = await enrol_by_voice(app, db, PHONE, "3", urls("https://media.voice.test", "r"))
    staff = [await add_staff(app, f"typist{n}@agence.bj", "central_admin", None) for n in (1, 2)]
    desk = part(app, Transcriptions).desk
    last, first, dependant = db.scalars(
        select(models.Transcription.id)
        .where(models.Transcription.household_id == walked.household_id)
        .order_by(models.Transcription.id)
    ).all()
    await desk.transcribe(staff[0], ADMIN, last, TypedName("HOUNGBO", None))

    both = await asyncio.gather(
        desk.transcribe(staff[0], ADMIN, first, TypedName(None, "Afi")),
        desk.transcribe(staff[1], ADMIN, dependant, TypedName("HOUNGBO", "Marc")),
    )
    assert sorted(done.household_complete for done in both) == [False, True]
    messages = db.scalar(
        select(func.count())
        .select_from(models.Message)
        .where(models.Message.household_id == walked.household_id)
    )
    assert messages == 1

    again = await asyncio.gather(
        desk.transcribe(staff[0], ADMIN, first, TypedName(None, "Reine")),
        desk.transcribe(staff[1], ADMIN, first, TypedName(None, "Rose")),
        return_exceptions=True,
    )
    assert all(isinstance(outcome, AlreadyDone) for outcome in again), again
    db.expire_all()
    head = db.scalar(select(models.Member).where(models.Member.member_no == walked.member_no))
    assert head is not None and (head.last_name, head.first_names) == ("HOUNGBO", "Afi")


async def test_one_name_typed_by_two_at_once_is_kept_once(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    walked = await enrol_by_voice(app, db, PHONE, "3", urls("https://media.voice.test", "s"))
    staff = [await add_staff(app, f"pair{n}@agence.bj", "central_admin", None) for n in (1, 2)]
    desk = part(app, Transcriptions).desk
    last = db.scalar(
        select(func.min(models.Transcription.id)).where(
            models.Transcription.household_id == walked.household_id
        )
    )
    assert last is not None
    outcomes = await asyncio.gather(
        desk.transcribe(staff[0], ADMIN, last, TypedName("HOUNGBO", None)),
        desk.transcribe(staff[1], ADMIN, last, TypedName("HOUNGBA", None)),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyDone", Transcribed.__name__]
    audits = db.scalar(
        select(func.count())
        .select_from(models.AuditEntry)
        .where(models.AuditEntry.action == "name_transcribed")
    )
    assert audits == 1
