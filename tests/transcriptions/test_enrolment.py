"""A household enrolled by voice: the journey keeps the recordings' tokens, the screens
say "nom enregistré", the household is enrolled (member numbers, premium) with its
spoken names pending, one transcription per recording; its SMS and its register events
wait. The same family dialling again is recognised. Real engine, database and Redis."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway.metrics import state
from gateway.register.capability import Register
from menus import recorded
from tests.support.agents import new_agent
from tests.support.gateway import part, shared
from tests.support.ussd_phone import Phone
from tests.transcriptions.spoken import enrol_by_voice, urls

PHONE = "+2290197000961"
BASE = "https://media.voice.test"


async def test_a_household_enrolled_by_voice_waits_for_its_names(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    recordings = urls(BASE, "a")
    walked = await enrol_by_voice(app, db, PHONE, "3", recordings)

    # The effect carries the tokens; no screen shows one, or an empty name.
    assert walked.effect is not None
    assert walked.effect.head.last_name == recorded.answer(recordings[0])
    assert walked.effect.head.first_names == recorded.answer(recordings[1])
    assert walked.effect.dependants[0].last_name == recorded.answer(recordings[2])
    assert (walked.effect.dependants[1].last_name, walked.effect.dependants[1].first_names) == (
        "ASSOGBA",
        "Sena",
    )
    summary = walked.screens[-2]
    assert summary.startswith("CON nom enregistré, 3 pers."), summary
    assert "Total: 3575 F/an" in summary  # a child among the three: 1 000
    assert all("rec:" not in screen and BASE not in screen for screen in walked.screens)
    assert walked.member_no in walked.screens[-1]

    db.expire_all()
    people = db.scalars(
        select(models.Member)
        .where(models.Member.household_id == walked.household_id)
        .order_by(models.Member.id)
    ).all()
    assert [(m.last_name, m.first_names, m.relationship_to_head) for m in people] == [
        ("", "", "head"),
        ("", "", "child"),
        ("ASSOGBA", "Sena", "child"),
    ]
    assert all(m.member_no for m in people)
    spoken = db.scalars(
        select(models.Transcription)
        .where(models.Transcription.household_id == walked.household_id)
        .order_by(models.Transcription.id)
    ).all()
    assert [(t.member_id, t.fields, t.recording_url, t.status) for t in spoken] == [
        (people[0].id, "last_name", recordings[0], "awaiting_audio"),
        (people[0].id, "first_names", recordings[1], "awaiting_audio"),
        (people[1].id, "name", recordings[2], "awaiting_audio"),
    ]
    period = db.scalar(
        select(models.CoveragePeriod).where(
            models.CoveragePeriod.household_id == walked.household_id
        )
    )
    assert period is not None and (period.persons, period.premium_due) == (3, 3575)
    # The member number is not sent yet: the SMS waits for the names.
    assert (
        db.scalars(
            select(models.Message).where(models.Message.household_id == walked.household_id)
        ).all()
        == []
    )
    # The enrolment is in the register outbox, held: no worker may claim it.
    events = db.scalars(
        select(models.RegisterEvent).where(models.RegisterEvent.household_id == walked.household_id)
    ).all()
    assert [e.kind for e in events] == ["household_enrolled"]
    assert await part(app, Register).sync.work() == 0
    db.expire_all()
    assert [e.status for e in events] == ["pending"]
    # Held on purpose, not a register that is behind: /metrics tells them apart.
    figures = await state.read(shared(app).sessions, shared(app).now() + timedelta(hours=5))
    assert figures.names_to_transcribe == {"awaiting_audio": 3, "ready": 0, "no_audio": 0}
    assert (figures.register_pending, figures.oldest_pending_register_event) == (1, 0.0)


async def test_the_same_caller_enrolling_again_is_told_the_household_exists(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    first = await enrol_by_voice(app, db, PHONE, "3", urls(BASE, "b"))
    # The SMS has not come (the names wait): the caller dials and enrols again.
    again = await enrol_by_voice(app, db, PHONE, "3", urls(BASE, "c"), outcome="duplicate")
    assert again.member_no == first.member_no
    assert "déjà inscrite" in again.screens[-1]
    assert db.scalar(select(func.count()).select_from(models.Household)) == 1
    assert db.scalar(select(func.count()).select_from(models.Transcription)) == 3


async def test_the_short_code_says_recorded_name_where_a_name_waits(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    """The household's own phone on the short code: its rights list the members with
    "nom enregistré" for the spoken names, and a check of the head's number shows the
    number alone (no initial of an empty name)."""
    walked = await enrol_by_voice(app, db, PHONE, "3", urls(BASE, "d"))
    phone = Phone(client, PHONE)
    home = await phone.dial()
    assert "3. Mes droits" in home and "Bonjour nom enregistré" in home  # greeted, no token
    rights = await phone.type("3")
    lines = rights.splitlines()
    assert f"{walked.member_no} nom enregistré" in lines
    assert any(line.endswith(" Sena") for line in lines)
    assert not any(line.rstrip().endswith(walked.member_no) for line in lines)
    await phone.dial()
    await phone.type("4")
    check = await phone.type(walked.member_no)
    assert f"Membre {walked.member_no}\n" in check and "(." not in check


async def test_an_agent_finding_the_household_reads_recorded_name(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    """A field agent of the mutual looks the household up to add a member: the heading
    and the list say "nom enregistré" where a name waits, never an initial of nothing."""
    walked = await enrol_by_voice(app, db, PHONE, "3", urls(BASE, "e"))
    agent = "+2290197000963"
    await new_agent(app, agent, "Bio Sika", "MS-PARAKOU", pin="4826")
    phone = Phone(client, agent)
    await phone.dial("4826")
    await phone.type("2")  # add a member
    found = await phone.type(walked.member_no)
    assert f"Ménage {walked.member_no} nom enregistré, 3 pers." in found, found
    assert " ., " not in found
    # A first name alone would take the head's family name, which nobody has typed yet.
    alone = await phone.type("Koffi")
    assert "Nom du chef pas encore transcrit: tapez NOM et prénom(s)" in alone, alone


async def test_a_recording_token_typed_on_the_short_code_is_no_name(
    client: httpx.AsyncClient, db: Session
) -> None:
    """Only a call answers a name with a recording: typed on the short code, the token is
    refused like any name with a colon, and nothing will ever fetch its address."""
    phone = Phone(client, "+2290197000964")
    await phone.dial()
    for answer in ("1", "1", "3"):  # Français, enrol, the mutual
        screen = await phone.type(answer)
    assert "Chef de ménage: nom puis prénom(s)" in screen, screen
    refused = await phone.type(recorded.answer("http://10.0.0.1/admin"))
    assert "Chef de ménage" in refused and "Tapez le nom" in refused, refused
    assert db.scalar(select(func.count()).select_from(models.Transcription)) == 0
