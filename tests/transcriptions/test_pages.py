"""`/admin/transcriptions`: staff of the household's part of the scheme hear each
recorded name and type it; the short code's rules check it; each is audited; the last
name of a household sends its SMS with the member number (through a local server
speaking Africa's Talking's messaging API) and releases its register events. Real app,
database and Redis; recordings fetched by the worker's job from a local server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from adapters.recordings import RecordingSource
from db import models
from gateway.register.capability import Register
from gateway.transcriptions.fetching import RecordingFetcher
from tests.peers.at_sms import AtSmsPeer
from tests.sms.test_dispatch import dispatcher_for, drain
from tests.staff.web import (
    ADMIN,
    MANAGER,
    OTHER_MANAGER,
    VIEWER,
    audit_rows,
    hidden,
    logged_in,
    text_of,
)
from tests.support.clock import Now
from tests.support.gateway import part, shared
from tests.support.http_server import serve
from tests.transcriptions.recordings_peer import RecordingsPeer
from tests.transcriptions.spoken import Walked, enrol_by_voice, urls

PARAKOU_PHONE = "+2290197000971"
KANDI_PHONE = "+2290197000972"
SOUND = b"ID3\x04\x00" + bytes(range(256)) * 4


@pytest.fixture(scope="module")
def recordings() -> Iterator[str]:
    peer = RecordingsPeer()
    for key in ("p", "k"):
        for part_ in ("last", "first", "dep"):
            peer.add(f"{key}-{part_}", SOUND + key.encode() + part_.encode())
    with serve(peer.app) as base_url:
        yield base_url


@dataclass(frozen=True)
class Households:
    parakou: Walked
    kandi: Walked
    ids: dict[str, list[int]]  # transcription ids by household, in order


@pytest.fixture
async def spoken(
    app: Starlette, web: httpx.AsyncClient, db: Session, recordings: str
) -> AsyncIterator[Households]:
    """A household of Parakou and one of Kandi enrolled by voice, their recordings
    fetched by the worker's job."""
    parakou = await enrol_by_voice(app, db, PARAKOU_PHONE, "3", urls(recordings, "p"))
    kandi = await enrol_by_voice(app, db, KANDI_PHONE, "1", urls(recordings, "k"))
    source = RecordingSource(lambda host: host == "127.0.0.1")
    fetch_time = Now().after(shared(app).now, minutes=1)
    assert await RecordingFetcher(shared(app).sessions, source, fetch_time).work() == 6
    await source.aclose()
    ids: dict[str, list[int]] = {}
    for name, walked in (("parakou", parakou), ("kandi", kandi)):
        ids[name] = list(
            db.scalars(
                select(models.Transcription.id)
                .where(models.Transcription.household_id == walked.household_id)
                .order_by(models.Transcription.id)
            ).all()
        )
    yield Households(parakou, kandi, ids)


@pytest.mark.parametrize(
    ("who", "sees_parakou", "sees_kandi"),
    [(ADMIN, True, True), (MANAGER, True, False), (OTHER_MANAGER, False, True)],
)
async def test_staff_hear_and_see_only_their_part_of_the_scheme(
    web: httpx.AsyncClient,
    app: Starlette,
    spoken: Households,
    who: tuple[str, str | None],
    sees_parakou: bool,
    sees_kandi: bool,
) -> None:
    await logged_in(web, app, *who)
    listing = await web.get("/admin/transcriptions")
    assert listing.status_code == 200
    for walked, key, sees in (
        (spoken.parakou, "parakou", sees_parakou),
        (spoken.kandi, "kandi", sees_kandi),
    ):
        assert (walked.member_no in listing.text) is sees
        first = spoken.ids[key][0]
        page = await web.get(f"/admin/transcriptions/{first}")
        audio = await web.get(f"/admin/transcriptions/{first}/audio")
        if sees:
            assert page.status_code == 200
            assert f'src="/admin/transcriptions/{first}/audio"' in page.text
            assert audio.status_code == 200
            assert audio.content == SOUND + key[0].encode() + b"last"
            assert audio.headers["content-type"] == "audio/mpeg"
            assert audio.headers["cache-control"] == "no-store"
        else:
            assert (page.status_code, audio.status_code) == (403, 403)
    # Never the provider's address: staff hear the stored copy only.
    assert "/rec/" not in listing.text


async def test_a_viewer_and_a_stranger_hear_nothing(
    web: httpx.AsyncClient, app: Starlette, spoken: Households
) -> None:
    first = spoken.ids["parakou"][0]
    anonymous = await web.get(f"/admin/transcriptions/{first}/audio")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/admin/login")
    await logged_in(web, app, *VIEWER)
    assert (await web.get("/admin/transcriptions")).status_code == 403
    assert (await web.get(f"/admin/transcriptions/{first}/audio")).status_code == 403
    assert "/admin/transcriptions" not in (await web.get("/admin")).text  # no menu entry


async def test_the_last_name_typed_sends_the_sms_and_releases_the_register_copy(
    web: httpx.AsyncClient, app: Starlette, spoken: Households, db: Session
) -> None:
    csrf = await logged_in(web, app, *MANAGER)
    household = spoken.parakou.household_id
    last, first, dependant = spoken.ids["parakou"]
    page = await web.get(f"/admin/households/{household}")
    assert text_of(page).count("nom enregistré, à transcrire") == 2

    # The short code's rules: a digit is no name; nothing saved, the problem said.
    wrong = await web.post(
        f"/admin/transcriptions/{last}", data={"last_name": "H0UNGBO", "csrf": csrf}
    )
    assert wrong.status_code == 400
    assert "Nom de famille à vérifier" in text_of(wrong)
    # A token typed by hand is no name either.
    token = await web.post(
        f"/admin/transcriptions/{last}", data={"last_name": "rec:https://x.test/a", "csrf": csrf}
    )
    assert token.status_code == 400
    # Without the form's token: refused.
    assert (
        await web.post(f"/admin/transcriptions/{last}", data={"last_name": "HOUNGBO"})
    ).status_code == 403

    async def type_name(transcription: int, **names: str) -> httpx.Response:
        form = await web.get(f"/admin/transcriptions/{transcription}")
        return await web.post(
            f"/admin/transcriptions/{transcription}", data={**names, "csrf": hidden(form, "csrf")}
        )

    saved = await type_name(last, last_name="  houngbo ")
    assert (
        saved.status_code == 303 and saved.headers["location"] == "/admin/transcriptions?done=saved"
    )
    saved = await type_name(first, first_names="afi reine")
    assert saved.headers["location"] == "/admin/transcriptions?done=saved"
    # Two of three: no SMS yet, the register copy still held.
    assert _messages(db, household) == []
    assert await part(app, Register).sync.work() == 0

    done = await type_name(dependant, last_name="Houngbo", first_names="marc")
    assert done.headers["location"] == "/admin/transcriptions?done=household"
    assert "C'était le dernier du ménage" in text_of(await web.get(done.headers["location"]))

    db.expire_all()
    people = db.scalars(
        select(models.Member)
        .where(models.Member.household_id == household)
        .order_by(models.Member.id)
    ).all()
    assert [(m.last_name, m.first_names) for m in people] == [
        ("HOUNGBO", "Afi Reine"),
        ("HOUNGBO", "Marc"),
        ("ASSOGBA", "Sena"),
    ]
    stored = db.scalars(
        select(models.Transcription).where(models.Transcription.household_id == household)
    ).all()
    assert {(t.status, t.audio) for t in stored} == {("done", None)}
    entries = audit_rows(db, "name_transcribed")
    assert len(entries) == 3 and all(e.household_id == household for e in entries)
    assert entries[0].details == {
        "transcription": last,
        "changes": {"last_name": {"before": "", "after": "HOUNGBO"}},
    }

    (message,) = _messages(db, household)
    assert (message.template, message.phone) == ("enrolled", PARAKOU_PHONE)
    assert spoken.parakou.member_no in message.text
    # Released once the names are typed: every member by the name staff typed.
    for member in people:
        assert f"{member.first_names.split()[0]} {member.member_no}" in message.text
    at = AtSmsPeer()
    with serve(at.app) as base_url:
        send_time = Now().after(shared(app).now, minutes=1)
        async with dispatcher_for((at, base_url), shared(app).sessions, send_time) as sender:
            await drain(sender)
    (sent,) = at.sent_to(PARAKOU_PHONE)
    assert spoken.parakou.member_no in sent.text
    # The register copy now goes, with the names typed.
    assert await part(app, Register).sync.work() == 1
    # Kandi's household still waits.
    assert _messages(db, spoken.kandi.household_id) == []

    # Typed meanwhile by a colleague: said so, nothing overwritten.
    opened = await web.get(f"/admin/transcriptions/{last}")
    assert opened.headers["location"] == "/admin/transcriptions?done=already"
    again = await web.post(
        f"/admin/transcriptions/{last}", data={"last_name": "AUTRE", "csrf": csrf}
    )
    assert again.headers["location"] == "/admin/transcriptions?done=already"
    page = text_of(await web.get(f"/admin/households/{household}"))
    assert "HOUNGBO Afi Reine" in page and "nom enregistré, à transcrire" not in page
    assert "Nom enregistré transcrit" in page and "Nom de famille : — → HOUNGBO" in page


def _messages(db: Session, household_id: int) -> list[models.Message]:
    db.expire_all()
    return list(
        db.scalars(select(models.Message).where(models.Message.household_id == household_id)).all()
    )


async def test_a_name_waiting_is_written_on_its_own_page_not_corrected(
    web: httpx.AsyncClient, app: Starlette, spoken: Households, db: Session
) -> None:
    """The correction form of a member whose name waits sends staff to the names to
    transcribe: typed there, the name drops its recording and releases the SMS."""
    await logged_in(web, app, *MANAGER)
    household = spoken.parakou.household_id
    form = await web.get(f"/admin/households/{household}/members/{spoken.parakou.member_no}")
    assert form.status_code == 303 and form.headers["location"] == "/admin/transcriptions"
    page = await web.get(f"/admin/households/{household}")
    assert f"/admin/households/{household}/members/{spoken.parakou.member_no}" not in page.text
    assert 'href="/admin/transcriptions"' in page.text


async def test_a_household_that_paid_while_its_names_waited_is_told_it_has_paid(
    web: httpx.AsyncClient, app: Starlette, spoken: Households, db: Session
) -> None:
    """The member number's SMS goes out when the last name is typed, maybe days later:
    by then the premium may be paid, and it must not ask for 0 F."""
    await logged_in(web, app, *MANAGER)
    household = spoken.parakou.household_id
    period = db.scalars(
        select(models.CoveragePeriod).where(models.CoveragePeriod.household_id == household)
    ).one()
    period.amount_paid = period.premium_due  # paid in cash to an agent meanwhile
    db.commit()
    for transcription, names in zip(
        spoken.ids["parakou"],
        (
            {"last_name": "HOUNGBO"},
            {"first_names": "Afi"},
            {"last_name": "HOUNGBO", "first_names": "Marc"},
        ),
        strict=True,
    ):
        form = await web.get(f"/admin/transcriptions/{transcription}")
        await web.post(
            f"/admin/transcriptions/{transcription}", data={**names, "csrf": hidden(form, "csrf")}
        )
    (message,) = _messages(db, household)
    assert message.template == "enrolled_paid" and "cotisation payée." in message.text
