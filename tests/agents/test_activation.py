"""Agents activated by staff, and lock-outs that escalate (issue 16, item 2).

Before: the first dial chose a new agent's PIN (anyone posting to /ussd as that phone
could take the account), and five wrong PINs locked for fifteen minutes after which the
count started again: about 480 guesses a day, no hard lock, no alert.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway import cli
from gateway.agents.accounts import Agents
from gateway.agents.activation import grant_of
from gateway.agents.pins import AgentPins
from gateway.secrets_kdf import verify_secret
from gateway.settings import Settings
from tests.support.agents import add_agent, new_agent
from tests.support.clock import Now
from tests.support.gateway import shared
from tests.support.ussd_phone import Phone

AGENT = "+2290197000631"
PIN = "738159"
NEW_PIN = "591746"


def scalar(db: Session, query: str) -> object:
    db.expire_all()
    return db.execute(text(query)).scalar_one()


def services(app: Starlette, now: Now) -> tuple[Agents, AgentPins]:
    sessions = shared(app).sessions
    return Agents(sessions, now), AgentPins(sessions, now)


async def wrong_five_times(pins: AgentPins, agent_id: int) -> str | None:
    """Five wrong PINs in a row: what the fifth answers (the lock's end, or None)."""
    for _ in range(4):
        assert (await pins.verify(agent_id, "1111"))["outcome"] == "wrong"
    fifth = await pins.verify(agent_id, "1111")
    assert fifth["outcome"] in ("locked", "blocked"), fifth
    return fifth["locked_until"]


# -- the activation code -----------------------------------------------------------


async def test_a_first_pin_cannot_be_set_without_the_activation_code(
    app: Starlette, clean: None, db: Session
) -> None:
    """What a forged /ussd post can reach: the effects themselves, without the code."""
    now = Now(hour=10)
    agents, pins = services(app, now)
    added = await agents.add(AGENT, "Bio Sika", "MS-PARAKOU", "cli:test")
    await pins.hold_first_entry(added.agent_id, PIN)
    assert (await pins.set_pin(added.agent_id, PIN, replacing=False))["outcome"] == "no_code"
    forged = grant_of("scrypt$16384$8$1$c2FsdA==$a2V5")
    assert (await pins.set_pin(added.agent_id, PIN, False, forged))["outcome"] == "no_code"
    assert scalar(db, "SELECT COUNT(*) FROM agents WHERE pin_hash IS NULL") == 1

    checked = await pins.verify_activation(added.agent_id, added.code)
    assert checked["outcome"] == "ok" and checked["grant"]
    assert (await pins.set_pin(added.agent_id, PIN, False, checked["grant"]))["outcome"] == "set"
    # Used once: the code and its hash are gone, and the code opens nothing more.
    assert scalar(db, "SELECT COUNT(*) FROM agents WHERE activation_hash IS NULL") == 1
    assert (await pins.verify_activation(added.agent_id, added.code))["outcome"] == "already_set"
    await pins.hold_first_entry(added.agent_id, NEW_PIN)
    again = await pins.set_pin(added.agent_id, NEW_PIN, False, checked["grant"])
    assert again["outcome"] == "already_set"
    assert (await pins.verify(added.agent_id, PIN))["outcome"] == "ok"


async def test_the_code_is_stored_as_a_slow_hash_with_its_expiry(
    app: Starlette, clean: None, db: Session
) -> None:
    now = Now(hour=10)
    agents, _ = services(app, now)
    added = await agents.add(AGENT, "Bio Sika", "MS-PARAKOU", "cli:test")
    assert len(added.code) == 8 and added.code.isdigit()
    assert added.expires_at == now() + timedelta(hours=72)
    stored = db.scalar(text("SELECT activation_hash FROM agents"))
    assert stored.startswith("scrypt$") and added.code not in stored
    assert verify_secret(added.code, stored)


async def test_an_activation_code_expires_after_72_hours(app: Starlette, clean: None) -> None:
    now = Now(hour=10)
    agents, pins = services(app, now)
    added = await agents.add(AGENT, "Bio Sika", "MS-PARAKOU", "cli:test")
    now.later(hours=71, minutes=59)
    assert (await pins.status(added.agent_id))["outcome"] == "no_pin"
    now.later(minutes=1)
    assert (await pins.status(added.agent_id))["outcome"] == "code_expired"
    assert (await pins.verify_activation(added.agent_id, added.code))["outcome"] == "code_expired"
    # A new one from staff works.
    renewed = await agents.reset_pin(AGENT, "cli:test")
    assert (await pins.verify_activation(added.agent_id, renewed.code))["outcome"] == "ok"


async def test_a_reset_makes_the_old_code_and_its_grant_useless(
    app: Starlette, clean: None
) -> None:
    now = Now(hour=10)
    agents, pins = services(app, now)
    added = await agents.add(AGENT, "Bio Sika", "MS-PARAKOU", "cli:test")
    grant = (await pins.verify_activation(added.agent_id, added.code))["grant"]
    await agents.reset_pin(AGENT, "cli:test")  # e.g. the first code was overheard
    await pins.hold_first_entry(added.agent_id, PIN)
    assert (await pins.set_pin(added.agent_id, PIN, False, grant))["outcome"] == "no_code"
    assert (await pins.verify_activation(added.agent_id, added.code))["outcome"] == "wrong"


async def test_wrong_activation_codes_count_toward_the_lock(
    app: Starlette, clean: None, db: Session
) -> None:
    now = Now(hour=10)
    agents, pins = services(app, now)
    added = await agents.add(AGENT, "Bio Sika", "MS-PARAKOU", "cli:test")
    for left in (4, 3, 2, 1):
        wrong = await pins.verify_activation(added.agent_id, "00000000")
        assert wrong["outcome"] == "wrong" and wrong["attempts_left"] == left
    locked = await pins.verify_activation(added.agent_id, "00000000")
    assert locked == {
        "outcome": "locked",
        "attempts_left": 0,
        "locked_until": "10:15",
        "grant": None,
    }
    # Even the right code waits for the lock to end.
    assert (await pins.verify_activation(added.agent_id, added.code))["outcome"] == "locked"
    assert scalar(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'pin_locked'") == 1


# -- escalating lock-outs -------------------------------------------------------------


async def test_locks_escalate_and_waiting_one_out_does_not_start_again(
    app: Starlette, clean: None, db: Session
) -> None:
    agent_id = await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    now = Now(hour=10)
    agents, pins = services(app, now)
    assert await wrong_five_times(pins, agent_id) == "10:15"
    now.later(minutes=15)
    assert await wrong_five_times(pins, agent_id) == "11:15"  # an hour, not 15 minutes again
    now.later(hours=1)
    assert await wrong_five_times(pins, agent_id) == "11:15 24/11"  # a day
    now.later(hours=24)
    assert await wrong_five_times(pins, agent_id) is None  # until staff unlock
    now.later(days=30)
    assert (await pins.status(agent_id))["outcome"] == "blocked"
    assert (await pins.verify(agent_id, PIN))["outcome"] == "blocked"  # the right one too
    assert [row.state for row in await agents.listing()] == ["locked"]
    assert scalar(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'signed_in'") == 0
    # 20 guesses in all, then nothing more without staff.
    assert scalar(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'pin_wrong'") == 16

    await agents.unlock(AGENT, "cli:test")
    assert (await pins.status(agent_id))["outcome"] == "ok"
    assert await wrong_five_times(pins, agent_id) is not None  # back to 15 minutes
    assert scalar(db, "SELECT lock_level FROM agents") == 1


async def test_a_right_pin_starts_the_levels_again(
    app: Starlette, clean: None, db: Session
) -> None:
    agent_id = await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    now = Now(hour=10)
    _, pins = services(app, now)
    await wrong_five_times(pins, agent_id)
    now.later(minutes=15)
    assert (await pins.verify(agent_id, PIN))["outcome"] == "ok"
    assert scalar(db, "SELECT lock_level FROM agents") == 0
    assert await wrong_five_times(pins, agent_id) == "10:30"  # 15 minutes again


async def test_each_lock_is_audited_with_an_alert_and_a_warning_without_personal_data(
    app: Starlette, clean: None, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    agent_id = await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    now = Now(hour=10)
    _, pins = services(app, now)
    await wrong_five_times(pins, agent_id)
    db.expire_all()
    entries = {
        action: json.loads(details) if isinstance(details, str) else details
        for action, details in db.execute(
            text("SELECT action, details FROM audit_log WHERE action IN ('pin_locked', 'alert')")
        )
    }
    assert entries["alert"]["alert"] == "agent_locked"
    for value in entries.values():
        assert value["agent_id"] == agent_id and value["level"] == 1
        assert value["until"].startswith("2026-11-23T10:15")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "ALERT" in r.message]
    assert len(warnings) == 1
    line = warnings[0].getMessage()
    assert "locked" in line and "level 1 of 4" in line
    assert "97000631" not in line and "Bio" not in line and "Sika" not in line
    assert "31" in line  # the masked phone's last digits: which agent, for staff


# -- on the phone -----------------------------------------------------------------------


async def test_an_expired_code_and_a_missing_code_get_a_clear_end_screen(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    agent_id = await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU")
    past = shared(app).now() - timedelta(minutes=1)
    async with shared(app).sessions() as session, session.begin():
        await session.execute(
            update(models.Agent)
            .where(models.Agent.id == agent_id)
            .values(activation_expires_at=past)
        )
    reply = await Phone(client, AGENT).dial()
    assert reply.startswith("END ") and "Code d'activation expiré" in reply
    async with shared(app).sessions() as session, session.begin():
        await session.execute(
            update(models.Agent).where(models.Agent.id == agent_id).values(activation_hash=None)
        )
    reply = await Phone(client, AGENT).dial()  # an agent added before activation codes
    assert reply.startswith("END ") and "Demandez un code d'activation à votre mutuelle" in reply


async def test_a_hard_lock_says_to_ask_the_mutual_and_staff_unlock_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    agent_id = await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    async with shared(app).sessions() as session, session.begin():
        await session.execute(
            update(models.Agent).where(models.Agent.id == agent_id).values(lock_level=4)
        )
    reply = await Phone(client, AGENT).dial(PIN)
    assert reply.startswith("END ") and "compte bloqué. Demandez à la mutuelle" in reply
    assert "Menu agent" not in reply
    await Agents(shared(app).sessions, shared(app).now).unlock(AGENT, "cli:test")
    assert "Menu agent" in await Phone(client, AGENT).dial(PIN)


async def test_the_code_typed_with_a_space_as_printed_works(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    code = (await new_agent(app, AGENT, "Bio Sika", "MS-PARAKOU")).code
    phone = Phone(client, AGENT)
    await phone.dial()
    assert "Choisissez votre code PIN" in await phone.type(f"{code[:4]} {code[4:]}")


# -- the commands -------------------------------------------------------------------------


def test_reset_pin_prints_a_new_code_and_unlock_lifts_a_hard_lock(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clean: None,
    db: Session,
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(settings.data_dir))
    now = Now(hour=10)
    add = ["agents", "add", "--phone", AGENT, "--name", "Bio Sika", "--mutual", "MS-PARAKOU"]
    assert cli.main(add, now=now) == 0
    first = capsys.readouterr().out
    assert cli.main(["agents", "reset-pin", "--phone", AGENT], now=now) == 0
    out = capsys.readouterr().out
    assert "activation code: " in out and "until 2026-11-26 10:00" in out
    code = out.split("activation code: ")[1][:9].replace(" ", "")
    stored = str(scalar(db, "SELECT activation_hash FROM agents"))
    assert verify_secret(code, stored) and code not in first.replace(" ", "")

    db.execute(text("UPDATE agents SET lock_level = 4"))
    db.commit()
    assert cli.main(["agents", "list"], now=now) == 0
    assert "locked" in capsys.readouterr().out
    assert cli.main(["agents", "unlock", "--phone", AGENT], now=now) == 0
    assert scalar(db, "SELECT lock_level FROM agents") == 0
