"""The USSD endpoint under abuse: odd requests, repeats, races, and Redis round trips."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from redis import Redis
from sqlalchemy import text
from sqlalchemy.orm import Session

from gateway.ussd.capability import Ussd
from menus import gsm
from tests.support.gateway import part
from tests.support.ussd_phone import Phone

FORM = {
    "sessionId": "ATUid_edge",
    "serviceCode": "*384*22#",
    "phoneNumber": "+2290197000201",
    "networkCode": "61603",
}


async def post(client: httpx.AsyncClient, **fields: str) -> str:
    response = await client.post("/ussd", data={**FORM, **fields})
    assert response.status_code == 200
    assert response.text.startswith(("CON ", "END ")), response.text
    assert gsm.fits(response.text, 160)
    return response.text


@pytest.mark.parametrize(
    "fields",
    [
        {"sessionId": ""},
        {"phoneNumber": ""},
        {"phoneNumber": "not a number"},
        {"phoneNumber": "+1"},
    ],
    ids=["no session", "no phone", "garbage phone", "short phone"],
)
async def test_incomplete_requests_get_a_polite_end(
    client: httpx.AsyncClient, fields: dict[str, str]
) -> None:
    reply = await post(client, text="", **fields)
    assert reply == "END Demande incomplète. Merci de rappeler."


async def test_missing_fields_entirely(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/ussd", content=b"", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 200
    assert response.text.startswith("END ")


async def test_huge_text_and_huge_body(client: httpx.AsyncClient) -> None:
    assert (await post(client, text="1*" * 3000)).startswith("END ")
    response = await client.post("/ussd", content=b"text=" + b"9" * 60_000)
    assert response.status_code == 200 and response.text.startswith("END ")
    # Past the body cap (64 KiB) nothing is read: gateway.limits.bodies answers 413.
    response = await client.post("/ussd", content=b"text=" + b"9" * 100_000)
    assert response.status_code == 413


async def test_unknown_session_with_text_replays_what_it_can(client: httpx.AsyncClient) -> None:
    # An expired session (or a dial string with many extra digits): the inputs are
    # applied one by one and the phone sees where they lead.
    reply = await post(client, sessionId="ATUid_lost", text="1*1*3")
    assert "Chef de ménage: nom puis prénom(s)" in reply


async def test_odd_characters_never_break_a_screen(client: httpx.AsyncClient) -> None:
    phone = Phone(client, "+2290197000202")
    await phone.dial("1")
    await phone.type("1")
    await phone.type("1")
    for odd in ["😀", "ɔɛ Ŋ", "\x00\x07", "%00", "&text=1", "名字", "  ", "*", "#"]:
        reply = await phone.type(odd)
        assert reply.startswith(("CON ", "END ")) and gsm.fits(reply, 160), reply


async def test_accented_names_are_kept_and_screens_stay_gsm7(
    client: httpx.AsyncClient, db: Session
) -> None:
    phone = Phone(client, "+2290197000203")
    await phone.dial("1")
    for answer in ["1", "1", "Gbêdjo Françoise Œuvre", "1980", "2", "1", "2"]:
        reply = await phone.type(answer)
    assert "GBEDJO, 1 pers." in reply and "Francoise OEuvre " in reply  # folded for the screen only
    assert gsm.is_gsm7(reply)
    await phone.type("1")
    stored = db.execute(text("SELECT last_name, first_names FROM members")).one()
    assert tuple(stored) == ("GBÊDJO", "Françoise Œuvre")


async def test_concurrent_copies_of_the_final_hop_enrol_once(
    client: httpx.AsyncClient, db: Session
) -> None:
    phone = Phone(client, "+2290197000204")
    await phone.dial("1")
    for answer in ["1", "1", "Adjakou Rose", "1987", "2", "1", "2"]:
        await phone.type(answer)
    phone.typed.append("1")
    final = "*".join(phone.typed)
    replies = await asyncio.gather(*(phone.send_text(final) for _ in range(6)))
    assert len(set(replies)) == 1 and replies[0].startswith("END Bienvenue")
    assert db.execute(text("SELECT COUNT(*) FROM households")).scalar_one() == 1
    assert db.execute(text("SELECT COUNT(*) FROM members")).scalar_one() == 1


async def test_a_hop_costs_two_redis_round_trips(client: httpx.AsyncClient, redis_url: str) -> None:
    phone = Phone(client, "+2290197000205")
    await phone.dial("1")
    await phone.type("1")
    redis = Redis.from_url(redis_url)
    redis.config_resetstat()
    await phone.type("1")
    stats = redis.info("commandstats")
    redis.close()
    calls = {
        name.removeprefix("cmdstat_"): value["calls"]
        for name, value in stats.items()
        if not name.startswith(("cmdstat_config", "cmdstat_info"))  # our own measuring
    }
    # Two round trips: MGET, then EVALSHA. Redis counts the commands the script runs
    # inside the server too (GET the session, SET it, SET the resume snapshot).
    assert calls == {"mget": 1, "evalsha": 1, "get": 1, "set": 2}, calls


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "redis": "ok", "database": "ok"}


async def test_the_resume_snapshot_lasts_ten_minutes(
    client: httpx.AsyncClient, redis_url: str
) -> None:
    phone = Phone(client, "+2290197000206")
    await phone.dial("1")
    await phone.type("1")
    await phone.type("1")
    redis = Redis.from_url(redis_url)
    ttl = redis.ttl("ussd:{+2290197000206}:resume")
    session_ttl = redis.ttl(f"ussd:{{+2290197000206}}:s:{phone.session_id}")
    redis.close()
    assert 590 <= ttl <= 600
    assert 170 <= session_ttl <= 180


async def test_a_failure_mid_session_answers_in_the_session_language_and_logs_no_names(
    app: Any,
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from sqlalchemy.exc import OperationalError

    async def broken(*args: object, **kwargs: object) -> object:
        raise OperationalError(
            "INSERT INTO members VALUES ('HOUNKPE', 'Ayaba')", {}, Exception("disk I/O error")
        )

    monkeypatch.setattr(part(app, Ussd).service.host.effects.enrolment, "enrol", broken)
    phone = Phone(client, "+2290197000207")
    await phone.dial("2")
    for answer in ["1", "1", "Hounkpe Ayaba", "1980", "2", "1", "2"]:
        await phone.type(answer)
    reply = await phone.type("1")
    assert reply == "END Service temporarily unavailable. Please try again later."
    assert "OperationalError" in caplog.text
    assert "HOUNKPE" not in caplog.text and "Ayaba" not in caplog.text
