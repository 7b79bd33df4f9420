"""The worker fetches each recorded name from a local server speaking like the voice
provider's media host: at once, a few seconds late (backed off, then fetched), never
(flagged for staff after the last try, the household still enrolled and its names
pending), refused (not sound, or a host outside VOICE_RECORDING_HOSTS: flagged at once,
nothing fetched). Time is moved, not waited for."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from adapters.recordings import RecordingSource
from db import models
from gateway import cli
from gateway.enrolment.service import EnrolmentService
from gateway.settings import Settings
from gateway.transcriptions.capability import Transcriptions
from gateway.transcriptions.fetching import MAX_FETCHES, RecordingFetcher
from tests.conftest import TODAY
from tests.support.clock import Now
from tests.support.gateway import part, shared
from tests.support.http_server import serve
from tests.transcriptions.recordings_peer import RecordingsPeer
from tests.transcriptions.spoken import enrol_by_voice, spoken_household, urls

PHONE = "+2290197000962"
SOUND = b"ID3\x04\x00" + bytes(range(256)) * 8


@pytest.fixture(scope="module")
def peer() -> Iterator[tuple[RecordingsPeer, str]]:
    recordings = RecordingsPeer()
    with serve(recordings.app) as base_url:
        yield recordings, base_url


@pytest.fixture
async def fetcher(
    app: Starlette, client: httpx.AsyncClient
) -> AsyncIterator[tuple[RecordingFetcher, Now]]:
    """The worker's job as the gateway builds it, allowed the test server's host."""
    # A minute after the gateway's clock, which keeps the real time of day: the names
    # the test enrols next are due by then, whatever the hour the suite runs at.
    now = Now().after(shared(app).now, minutes=1)
    source = RecordingSource(lambda host: host == "127.0.0.1")
    yield RecordingFetcher(shared(app).sessions, source, now), now
    await source.aclose()


def transcriptions(db: Session, household_id: int) -> list[models.Transcription]:
    db.expire_all()
    return list(
        db.scalars(
            select(models.Transcription)
            .where(models.Transcription.household_id == household_id)
            .order_by(models.Transcription.id)
        ).all()
    )


async def test_recordings_on_time_late_and_never(
    app: Starlette,
    db: Session,
    peer: tuple[RecordingsPeer, str],
    fetcher: tuple[RecordingFetcher, Now],
) -> None:
    recordings, base_url = peer
    job, now = fetcher
    recordings.add("on-time-last", SOUND)
    recordings.add("on-time-first", SOUND + b"2", late=2)  # two 404s, then the file
    # "on-time-dep" never arrives.
    walked = await enrol_by_voice(app, db, PHONE, "3", urls(base_url, "on-time"))

    assert await job.work() == 3
    last, first, dependant = transcriptions(db, walked.household_id)
    assert (last.status, last.audio, last.audio_type, last.audio_size) == (
        "ready",
        SOUND,
        "audio/mpeg",
        len(SOUND),
    )
    assert (first.status, first.fetch_attempts, first.last_error) == (
        "awaiting_audio",
        1,
        "HTTP 404",
    )
    assert first.next_fetch_at is not None
    assert await job.work() == 0  # not due again yet: nobody hammers the provider

    now.later(minutes=1)
    assert await job.work() == 2
    now.later(minutes=2)
    assert await job.work() == 2
    last, first, dependant = transcriptions(db, walked.household_id)
    assert (first.status, first.audio, first.fetch_attempts) == ("ready", SOUND + b"2", 3)
    assert recordings.asked("on-time-first") == 3
    assert recordings.asked("on-time-last") == 1  # a ready one is never fetched again

    for _ in range(MAX_FETCHES):
        now.later(hours=2)
        await job.work()
    last, first, dependant = transcriptions(db, walked.household_id)
    assert (dependant.status, dependant.fetch_attempts) == ("no_audio", MAX_FETCHES)
    assert dependant.audio is None
    assert recordings.asked("on-time-dep") == MAX_FETCHES
    now.later(days=1)
    assert await job.work() == 0  # flagged for staff: no more tries
    # Still enrolled, the name still pending: nothing lost.
    head = db.scalar(select(models.Member).where(models.Member.member_no == walked.member_no))
    assert head is not None and head.last_name == ""


async def test_what_no_retry_can_mend_is_flagged_at_once(
    app: Starlette,
    db: Session,
    peer: tuple[RecordingsPeer, str],
    fetcher: tuple[RecordingFetcher, Now],
) -> None:
    recordings, base_url = peer
    job, _ = fetcher
    recordings.add("page-last", b"<html>login</html>", content_type="text/html")
    recordings.add("page-first", SOUND)
    recordings.add("page-dep", SOUND)
    walked = await enrol_by_voice(app, db, PHONE, "3", urls(base_url, "page"))
    assert await job.work() == 3
    last, first, dependant = transcriptions(db, walked.household_id)
    assert (last.status, last.last_error, last.fetch_attempts) == (
        "no_audio",
        "not sound: text/html",
        1,
    )
    assert (first.status, dependant.status) == ("ready", "ready")


async def test_the_gateway_fetches_only_from_voice_recording_hosts(
    app: Starlette, db: Session, client: httpx.AsyncClient, peer: tuple[RecordingsPeer, str]
) -> None:
    """The suite's gateway has no VOICE_RECORDING_HOSTS: a token typed or forged with any
    address (here the test server, or the gateway's own network) is never fetched."""
    recordings, base_url = peer
    recordings.add("own-last", SOUND)
    walked = await enrol_by_voice(app, db, PHONE, "3", urls(base_url, "own"))
    assert await part(app, Transcriptions).fetcher.work() == 3
    assert {(t.status, t.last_error) for t in transcriptions(db, walked.household_id)} == {
        ("no_audio", "host 127.0.0.1 not in VOICE_RECORDING_HOSTS")
    }
    assert recordings.asked("own-last") == 0


def test_a_late_recording_is_tried_again_within_the_hour() -> None:
    from gateway.transcriptions.fetching import retry_after

    waits = [retry_after(attempt) for attempt in range(1, MAX_FETCHES)]
    assert waits[0] >= timedelta(seconds=30)
    assert sum(waits, timedelta()) <= timedelta(hours=2, minutes=30)


def test_the_recordings_given_up_on_are_fetched_again_on_request(
    enrolment: EnrolmentService,
    db: Session,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    clean: None,
) -> None:
    """`alafia transcriptions status` counts the names waiting; `retry` puts the ones
    whose recording never came back in the worker's hands, with all their tries (after
    VOICE_RECORDING_HOSTS was set, say)."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(settings.data_dir))
    asyncio.run(enrolment.enrol(spoken_household(PHONE), "cli-test", TODAY))
    db.execute(update(models.Transcription).values(status="no_audio", fetch_attempts=MAX_FETCHES))
    db.commit()

    assert cli.main(["transcriptions", "status"]) == 0
    out = capsys.readouterr().out
    assert "no_audio               3" in out and "VOICE_RECORDING_HOSTS is not set" in out
    assert cli.main(["transcriptions", "retry"]) == 0
    assert "3 recordings to fetch again" in capsys.readouterr().out
    db.expire_all()
    assert {(t.status, t.fetch_attempts) for t in db.scalars(select(models.Transcription))} == {
        ("awaiting_audio", 0)
    }
