"""A household enrolled by voice, for the transcription tests: the enrolment journey
walked by the real engine with the answers a voice host gives (keys for choices,
`menus.recorded.answer(<recording URL>)` for every name), its effects applied by the
gateway's own services, as the voice channel does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway.enrolment.capability import Enrolment
from gateway.enrolment.headed import HeadedHouseholds
from gateway.ussd.capability import Ussd
from menus import recorded
from menus.effects import EnrolHousehold, FindHeadedHousehold, PersonDraft, RememberLanguage
from menus.engine import Engine
from tests.support.gateway import part


@dataclass
class Walked:
    screens: list[str] = field(default_factory=list)
    effect: EnrolHousehold | None = None
    member_no: str = ""
    household_id: int = 0


def urls(base: str, key: str) -> tuple[str, str, str]:
    """The recordings of the head's family name, the head's first names and the one
    dependant's whole name."""
    return (
        f"{base}/rec/{key}-last.mp3",
        f"{base}/rec/{key}-first.mp3",
        f"{base}/rec/{key}-dep.mp3",
    )


async def enrol_by_voice(
    app: Starlette,
    db: Session,
    phone: str,
    mutual_choice: str,
    recordings: tuple[str, str, str],
    outcome: str = "enrolled",
) -> Walked:
    """Français, enrol, the mutual at `mutual_choice`, Famille; the head (recorded names,
    a woman born in 1990, no NPI), a household of three: one dependant recorded, one
    typed on the keypad (ASSOGBA Sena); then confirm."""
    ussd = part(app, Ussd).service
    engine: Engine = ussd.engine
    ctx = replace(await ussd.host.context(), by_voice=True)  # as the voice channel's
    last, first, dependant = recordings
    answers = [
        "1",  # Français
        "1",  # enrol with my family
        mutual_choice,
        recorded.answer(last),  # on a call, the family name alone
        recorded.answer(first),
        "1990",
        "2",  # no NPI
        "3",  # three persons: only Famille fits
        recorded.answer(dependant),
        "3",  # a son
        "2016",
        "ASSOGBA Sena",
        "4",  # a daughter
        "2019",
        "2",  # the head is a woman
        "1",  # confirm
    ]
    walked = Walked()
    key = f"voice:{uuid.uuid4()}"
    step = engine.start(ctx, "fr", {"phone": phone})
    for answer in answers:
        while step.effect is not None:
            step = engine.resume(step.state, await _apply(app, step.effect, key), ctx)
        if step.state.node == "enrol.another":  # this phone heads a household already
            step = engine.advance(step.state, "1", ctx)
        assert step.reply is not None
        walked.screens.append(step.reply)
        step = engine.advance(step.state, answer, ctx)
    while step.effect is not None:
        if isinstance(step.effect, EnrolHousehold):
            walked.effect = step.effect
        step = engine.resume(step.state, await _apply(app, step.effect, key), ctx)
    assert step.reply is not None
    walked.screens.append(step.reply)
    result = step.state.data["result"]
    assert result["outcome"] == outcome, result
    walked.member_no = result["member_no"]
    household = db.scalar(
        select(models.Member.household_id).where(models.Member.member_no == walked.member_no)
    )
    assert household is not None
    walked.household_id = household
    return walked


async def _apply(app: Starlette, effect: object, key: str) -> object:
    if isinstance(effect, RememberLanguage):
        return True
    if isinstance(effect, FindHeadedHousehold):
        return await HeadedHouseholds(part(app, Enrolment).service.sessions).find(effect)
    assert isinstance(effect, EnrolHousehold), effect
    return await part(app, Enrolment).service.enrol(
        effect, key, part(app, Ussd).service.host.today()
    )


def spoken_household(phone: str, base: str = "https://media.voice.test") -> EnrolHousehold:
    """The effect a voice enrolment of Parakou ends with, for tests without the engine."""
    last, first, dependant = urls(base, phone[-4:])
    return EnrolHousehold(
        "MS-PARAKOU",
        "FAMILLE",
        phone,
        "fr",
        PersonDraft(recorded.answer(last), recorded.answer(first), "F", "1990-01-01", True, "head"),
        (
            PersonDraft(
                recorded.answer(dependant),
                recorded.answer(dependant),
                "M",
                "2016-01-01",
                True,
                "child",
            ),
        ),
    )
