"""Field agents on the short code, what the journeys as data cannot say: the PIN kept out
of Redis and the logs, time moving past a lock, staff changing an account while an agent
works, figures, cash that opens cover like a mobile payment, and the audit trail."""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from adapters.payments import PaymentState, ProviderStatus
from db import models
from db.sessions import SessionStore
from gateway import audit
from gateway.agents.accounts import Agents
from gateway.agents.ledger import CashLedger
from gateway.agents.pins import AgentPins
from gateway.enrolment.service import EnrolmentService
from gateway.payments.capability import Payments
from gateway.sms.capability import Sms
from gateway.ussd.capability import Ussd
from menus.effects import EnrolHousehold, PersonDraft
from menus.state import SessionState
from tests.conftest import TODAY, Clock
from tests.support.agents import add_agent, new_agent
from tests.support.clock import Now
from tests.support.gateway import part, shared
from tests.support.ussd_phone import Phone

AGENT = "+2290197000601"
PIN = "738159"  # six digits that nothing else in a session would hold
FAMILY_PREMIUM = 1575


# -- helpers ---------------------------------------------------------------------


def enrolment_of(app: Starlette) -> EnrolmentService:
    """The enrolment service as the gateway builds it, on the gateway's clock."""
    return EnrolmentService(shared(app).sync_sessions, part(app, Sms).outbox, shared(app).now)


async def register(
    app: Starlette,
    phone: str,
    *,
    persons: int = 2,
    agent_id: int | None = None,
    mutual: str = "MS-PARAKOU",
    day: date = TODAY,
) -> str:
    """A FAMILLE household (by an agent when `agent_id` is given); the head's number."""

    def person(relationship: str, name: str) -> PersonDraft:
        return PersonDraft("ASSOGBA", name, "F", "1990-01-01", True, relationship)

    result = await enrolment_of(app).enrol(
        EnrolHousehold(
            mutual,
            "FAMILLE",
            phone,
            "fr",
            person("head", "Rose"),
            tuple(person("child", f"Enfant{i}") for i in range(persons - 1)),
            channel="agent" if agent_id else "ussd",
            agent_id=agent_id,
        ),
        f"test:{uuid.uuid4()}",
        day,
    )
    assert result["outcome"] == "enrolled", result
    return result["member_no"]


async def redis_values(redis: Redis) -> list[str]:
    """Every key and every value in the Redis database, whatever its type."""
    found: list[str] = []
    async for raw_key in redis.scan_iter(count=500):
        key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
        found.append(key)
        kind = await redis.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        values: list[Any]
        if kind == "string":
            values = [await redis.get(key)]
        elif kind == "hash":
            values = [v for pair in (await redis.hgetall(key)).items() for v in pair]
        elif kind == "list":
            values = list(await redis.lrange(key, 0, -1))
        elif kind == "set":
            values = list(await redis.smembers(key))
        elif kind == "zset":
            values = list(await redis.zrange(key, 0, -1))
        elif kind == "stream":
            values = [str(e) for e in (await redis.xrange(key)) or []]
        else:
            values = [f"<{kind}>"]
        found += [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]
    return found


async def session_of(app: Starlette, phone: Phone) -> SessionState:
    store: SessionStore = part(app, Ussd).service.store
    loaded = await store.load(phone.session_id, phone.number)
    assert loaded.state is not None
    return SessionState.loads(loaded.state)


def audit_rows(db: Session, actor: str | None = None) -> list[tuple[Any, ...]]:
    db.expire_all()
    query = "SELECT action, household_id, member_no, details FROM audit_log"
    if actor is not None:
        query += f" WHERE actor = '{actor}'"
    return [
        (action, household_id, member_no, _json(details))
        for action, household_id, member_no, details in db.execute(text(query + " ORDER BY id"))
    ]


def _json(value: Any) -> Any:
    """A JSON column read by raw SQL: a string on SQLite, decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


def backdate(db: Session, member_no: str, day: date) -> None:
    """The household of `member_no` and its members created on `day` (at noon UTC):
    their `created_at` is the database's own clock, which tests cannot move."""
    at = datetime.combine(day, time(12), UTC)
    household_id = db.execute(
        select(models.Member.household_id).where(models.Member.member_no == member_no)
    ).scalar_one()
    db.execute(
        update(models.Household).where(models.Household.id == household_id).values(created_at=at)
    )
    db.execute(
        update(models.Member)
        .where(models.Member.household_id == household_id)
        .values(created_at=at)
    )
    db.commit()


def scalar(db: Session, query: str) -> Any:
    db.expire_all()
    return db.execute(text(query)).scalar_one()


async def cash_screen(phone: Phone, member_no: str, amount: str) -> str:
    """Signed in already; up to the cash confirmation."""
    await phone.type("3")
    await phone.type(member_no)
    await phone.type(amount)
    return await phone.type("Rose Assogba")


# -- the PIN stays out of Redis ----------------------------------------------------


async def test_a_pin_typed_hop_by_hop_is_nowhere_in_redis(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    code = (await new_agent(app, AGENT, "Bio Sika", "MS-PARAKOU")).code
    redis = shared(app).redis
    phone = Phone(client, AGENT)
    assert "Code d'activation" in await phone.dial()
    assert "Choisissez votre code PIN" in await phone.type(code)
    assert code not in " ".join(await redis_values(redis))
    assert "Retapez" in await phone.type(PIN)
    assert PIN not in " ".join(await redis_values(redis))  # between the two entries too
    assert "PIN enregistré" in await phone.type(PIN)
    everything = " ".join(await redis_values(redis))
    assert PIN not in everything and code not in everything
    state = await session_of(app, phone)
    assert state.consumed == "########*######*######"
    assert "_pin" not in state.data and "_code" not in state.data
    assert "_grant" not in state.data
    assert not any("scrypt" in str(v) for v in state.data.values())

    # Signing in, a wrong PIN first (a typo of the right one), then a short one.
    typo = "738158"
    await phone.dial()
    assert "PIN incorrect" in await phone.type(typo)
    assert "Le PIN a 4" in await phone.type("73")
    assert "Menu agent" in await phone.type(PIN)
    assert "Mes chiffres" in await phone.repeat()  # a retried hop: the same menu
    assert "Aujourd'hui" in await phone.type("5")
    everything = " ".join(await redis_values(redis))
    assert PIN not in everything and typo not in everything
    assert (await session_of(app, phone)).consumed == "######*##*######*5"


async def test_a_pin_in_the_dial_string_is_masked_and_a_retried_hop_answers_the_same(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    redis = shared(app).redis
    phone = Phone(client, AGENT)
    first = await phone.dial(PIN)  # *384*22*738159#: the first hop's text is the PIN
    assert first.startswith("CON ") and "Menu agent" in first
    state = await session_of(app, phone)
    assert state.consumed == "######" and state.caller.get("agent_ok") is True
    assert await phone.repeat() == first  # the operator sends the session start twice
    figures = await phone.type("5")
    assert "Aujourd'hui" in figures
    assert (await session_of(app, phone)).consumed == "######*5"
    assert await phone.repeat() == figures
    # An older hop arriving late is not applied again: the session's screen stays.
    assert await phone.send_text(PIN) == figures
    assert PIN not in " ".join(await redis_values(redis))
    assert scalar(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'signed_in'") == 1


async def test_a_dial_string_with_the_pin_and_a_choice_masks_only_the_pin(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    phone = Phone(client, AGENT)
    reply = await phone.dial(f"{PIN}*5")  # *384*22*738159*5#
    assert "Aujourd'hui" in reply
    assert (await session_of(app, phone)).consumed == "######*5"
    assert await phone.repeat() == reply
    assert PIN not in " ".join(await redis_values(shared(app).redis))


# -- time, staff and the account --------------------------------------------------


async def test_a_lock_lifts_fifteen_minutes_later_and_counts_afresh(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    agent_id = await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    now = Now(hour=10)
    pins = AgentPins(shared(app).sessions, now)
    for left in (4, 3, 2, 1):
        assert await pins.verify(agent_id, "1111") == {
            "outcome": "wrong",
            "attempts_left": left,
            "locked_until": None,
            "grant": None,
        }
    locked = await pins.verify(agent_id, "1111")
    assert locked["outcome"] == "locked" and locked["locked_until"] == "10:15"
    assert (await pins.verify(agent_id, PIN))["outcome"] == "locked"  # the right one too
    now.later(minutes=14, seconds=59)
    assert (await pins.status(agent_id))["outcome"] == "locked"
    now.later(seconds=1)
    assert (await pins.status(agent_id))["outcome"] == "ok"
    assert (await pins.verify(agent_id, "2222"))["attempts_left"] == 4  # a fresh count
    assert (await pins.verify(agent_id, PIN))["outcome"] == "ok"


async def test_a_right_pin_resets_the_wrong_pin_count(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    """Five wrong PINs in a row lock, not five in an agent's working life: a typo now and
    then must never add up to a lock."""
    agent_id = await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    pins = AgentPins(shared(app).sessions, Now(hour=10))
    for left in (4, 3, 2, 1):
        assert (await pins.verify(agent_id, "1111"))["attempts_left"] == left
    assert (await pins.verify(agent_id, PIN))["outcome"] == "ok"
    assert scalar(db, "SELECT pin_failures FROM agents") == 0
    assert await pins.status(agent_id) == {
        "outcome": "ok",
        "attempts_left": 5,
        "locked_until": None,
        "grant": None,
    }
    for left in (4, 3, 2, 1):  # four wrong ones again, and still no lock
        assert await pins.verify(agent_id, "2222") == {
            "outcome": "wrong",
            "attempts_left": left,
            "locked_until": None,
            "grant": None,
        }
    assert (await pins.verify(agent_id, PIN))["outcome"] == "ok"


async def test_a_locked_agent_dials_again_the_next_day(
    app: Starlette, client: httpx.AsyncClient, clock: Clock
) -> None:
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    phone = Phone(client, AGENT)
    await phone.dial()
    for _ in range(4):
        await phone.type("1111")
    assert "compte bloqué" in await phone.type("1111")
    assert "compte bloqué" in await phone.dial(PIN)
    clock.day = TODAY + timedelta(days=1)
    assert "Menu agent" in await phone.dial(PIN)


async def test_a_staff_unlock_lifts_the_lock_at_once(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    phone = Phone(client, AGENT)
    await phone.dial()
    for _ in range(5):
        reply = await phone.type("1111")
    assert "compte bloqué" in reply
    await Agents(shared(app).sessions, shared(app).now).unlock(AGENT, "cli:test")
    assert "Menu agent" in await phone.dial(PIN)


async def test_a_staff_reset_makes_the_next_dial_ask_for_a_new_pin(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    rt = shared(app)
    code = (await Agents(rt.sessions, rt.now).reset_pin(AGENT, "cli:test")).code
    phone = Phone(client, AGENT)
    reply = await phone.dial()
    assert "Code d'activation" in reply and "Code PIN agent" not in reply
    assert "Choisissez votre code PIN" in await phone.type(code)
    await phone.type("591746")
    assert "PIN enregistré" in await phone.type("591746")
    assert "PIN incorrect" in await phone.dial(PIN)  # the old one no longer opens
    assert "Menu agent" in await phone.type("591746")
    actions = [row[0] for row in audit_rows(db)]
    assert actions.count("pin_reset") == 1 and actions.count("pin_set") == 1


async def test_a_reset_while_the_pin_is_asked_leads_to_choosing_a_new_one(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    rt = shared(app)
    phone = Phone(client, AGENT)
    assert "Code PIN agent" in await phone.dial()
    await Agents(rt.sessions, rt.now).reset_pin(AGENT, "cli:test")
    reply = await phone.type(PIN)
    assert "Code d'activation" in reply and "Menu agent" not in reply


async def test_an_agent_disabled_mid_session_cannot_record_cash(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    agent_id = await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    member_no = await register(app, "+2290197000701", agent_id=agent_id)
    phone = Phone(client, AGENT)
    await phone.dial(PIN)
    assert "1. Confirmer" in await cash_screen(phone, member_no, "3150")
    rt = shared(app)
    await Agents(rt.sessions, rt.now).disable(AGENT, "cli:test")
    reply = await phone.type("1")
    assert reply.startswith("END ") and "Compte agent désactivé" in reply
    assert "enregistré" not in reply
    assert scalar(db, "SELECT COUNT(*) FROM payments") == 0
    assert scalar(db, "SELECT amount_paid FROM coverage_periods") == 0
    assert scalar(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'cash_recorded'") == 0


async def test_an_agent_disabled_mid_session_is_told_the_account_is_disabled(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    agent_id = await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    member_no = await register(app, "+2290197000701", agent_id=agent_id)
    phone = Phone(client, AGENT)
    await phone.dial(PIN)
    await cash_screen(phone, member_no, "3150")
    rt = shared(app)
    await Agents(rt.sessions, rt.now).disable(AGENT, "cli:test")
    assert "Compte agent désactivé" in await phone.type("1")
    # Adding a member says so too.
    await Agents(rt.sessions, rt.now).enable(AGENT, "cli:test")
    await phone.dial(PIN)
    for answer in ("2", member_no, "Koffi", "1", "2000", "2"):
        await phone.type(answer)
    await Agents(rt.sessions, rt.now).disable(AGENT, "cli:test")
    assert "Compte agent désactivé" in await phone.type("1")


async def test_a_disabled_agent_cannot_look_up_or_add(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    agent_id = await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    member_no = await register(app, "+2290197000701", agent_id=agent_id)
    phone = Phone(client, AGENT)
    await phone.dial(PIN)
    rt = shared(app)
    await Agents(rt.sessions, rt.now).disable(AGENT, "cli:test")
    await phone.type("4")
    reply = await phone.type(member_no)
    assert reply.startswith("END ") and "Compte agent désactivé" in reply
    assert "Enfant" not in reply
    assert scalar(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'household_viewed'") == 0


async def test_a_disabled_agent_who_dials_sees_the_account_is_disabled(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    rt = shared(app)
    phone = Phone(client, AGENT)
    assert "Code PIN agent" in await phone.dial()  # the phone is known as an agent's
    await Agents(rt.sessions, rt.now).disable(AGENT, "cli:test")
    # Within the minute the phone is still known as an agent's: a clear screen.
    reply = await phone.dial(PIN)
    assert reply.startswith("END ") and "Compte agent désactivé" in reply
    assert scalar(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'signed_in'") == 0


async def test_a_disabled_agent_still_sees_the_disabled_screen_after_the_cache_refresh(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    rt = shared(app)
    await Agents(rt.sessions, rt.now).disable(AGENT, "cli:test")
    part(app, Ussd).service.callers.forget_known_phones()  # as a minute later
    reply = await Phone(client, AGENT).dial()
    assert "Compte agent désactivé" in reply


# -- figures, cash and cover --------------------------------------------------------


async def test_the_figures_count_today_the_campaign_and_cash_held(
    app: Starlette, client: httpx.AsyncClient, clock: Clock, db: Session
) -> None:
    rt = shared(app)
    ledger = part(app, Payments).ledger
    agent_id = await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    other_id = await add_agent(app, "+2290197000602", "Afi Zinsou", "MS-PARAKOU", pin=PIN)
    # Before the campaign (the school window opens on 1 September), during it, today.
    clock.day = date(2026, 8, 20)
    before = await register(app, "+2290197000701", persons=4, agent_id=agent_id, day=clock.day)
    backdate(db, before, clock.day)
    clock.day = date(2026, 10, 2)
    earlier = await register(app, "+2290197000702", persons=3, agent_id=agent_id, day=clock.day)
    backdate(db, earlier, clock.day)
    await ledger.record_cash(earlier, 1000, "A", request_key="t:1", agent_id=agent_id)
    clock.day = TODAY
    today = await register(app, "+2290197000703", persons=2, agent_id=agent_id)
    backdate(db, today, TODAY)  # whatever the machine's date
    await ledger.record_cash(today, 3150, "B", request_key="t:2", agent_id=agent_id)
    theirs = await register(app, "+2290197000704", persons=5, agent_id=other_id)
    await ledger.record_cash(theirs, 500, "C", request_key="t:3", agent_id=other_id)
    await register(app, "+2290197000705", persons=2)  # by the household itself
    await CashLedger(rt.sessions, rt.now).hand_over(AGENT, 800, "Caissière", "BR-1", "cli:test")

    phone = Phone(client, AGENT)
    await phone.dial(PIN)
    reply = await phone.type("5")
    assert reply.startswith("END ")
    assert "Aujourd'hui: 1 ménage, 2 pers., 3150 F encaissés" in reply
    assert "Campagne: 2 ménages, 5 pers., 4150 F encaissés" in reply
    assert "Espèces à remettre: 3350 F" in reply  # 4 150 taken, 800 handed over


async def test_added_members_count_in_the_figures(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    member_no = await register(app, "+2290197000701", persons=2)  # not by the agent
    phone = Phone(client, AGENT)
    await add_member(phone, member_no, "Koffi")
    backdate(db, member_no, TODAY)  # whatever the machine's date
    await phone.dial(PIN)
    reply = await phone.type("5")
    assert "Aujourd'hui: 0 ménage, 1 pers., 0 F encaissés" in reply


async def add_member(phone: Phone, member_no: str, name: str) -> str:
    await phone.dial(PIN)
    await phone.type("2")
    await phone.type(member_no)
    await phone.type(name)
    await phone.type("1")
    await phone.type("2000")
    await phone.type("2")
    return await phone.type("1")


def period_row(db: Session, member_no: str) -> dict[str, Any]:
    db.expire_all()
    row = (
        db.execute(
            text(
                "SELECT p.status, p.amount_paid, p.premium_due, p.paid_in_full_on, "
                "p.covered_from, p.covered_until, p.grace_until FROM coverage_periods p "
                "JOIN members m ON m.household_id = p.household_id WHERE m.member_no = :no"
            ),
            {"no": member_no},
        )
        .mappings()
        .one()
    )
    return {k: str(v) for k, v in row.items()}


def events_of(db: Session, member_no: str) -> list[str]:
    return [
        kind
        for (kind,) in db.execute(
            text(
                "SELECT e.kind FROM register_events e JOIN members m "
                "ON m.household_id = e.household_id AND m.relationship_to_head = 'head' "
                "WHERE m.member_no = :no ORDER BY e.id"
            ),
            {"no": member_no},
        ).all()
    ]


def receipts_of(db: Session, phone: str) -> list[tuple[Any, ...]]:
    return [
        tuple(row)
        for row in db.execute(
            text("SELECT template, purpose FROM messages WHERE phone = :p AND purpose = 'receipt'"),
            {"p": phone},
        ).all()
    ]


@pytest.mark.parametrize("amounts", [(3150,), (1000, 2150)], ids=["at once", "in two"])
async def test_cash_by_an_agent_opens_cover_exactly_like_a_mobile_payment(
    app: Starlette, client: httpx.AsyncClient, clock: Clock, db: Session, amounts: tuple[int, ...]
) -> None:
    ledger = part(app, Payments).ledger
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    by_cash = await register(app, "+2290197000701", persons=2)
    by_phone = await register(app, "+2290197000702", persons=2)
    phone = Phone(client, AGENT)
    for amount in amounts:
        await phone.dial(PIN)
        assert "enregistré, numéro" in (await _confirm(phone, by_cash, str(amount)))
        opened = await ledger.open_payment(
            by_phone, amount, "+2290197000702", "momo", "XOF", "ussd", "mtn"
        )
        await ledger.settle(
            opened.reference,
            ProviderStatus(
                uuid.UUID(opened.reference),
                PaymentState.SUCCEEDED,
                amount,
                "XOF",
                f"tx-{amount}",
                None,
                None,
                {},
            ),
        )
    cash_period, momo_period = period_row(db, by_cash), period_row(db, by_phone)
    assert cash_period == momo_period
    assert cash_period["status"] == "waiting" and cash_period["amount_paid"] == "3150"
    assert cash_period["covered_from"] == str(TODAY + timedelta(days=30))
    assert events_of(db, by_cash) == events_of(db, by_phone)
    assert receipts_of(db, "+2290197000701") == receipts_of(db, "+2290197000702")
    # The households see the same rights, in waiting now and covered 30 days on.
    for day in (TODAY, TODAY + timedelta(days=30)):
        clock.day = day
        by_cash_sees = await _rights(client, "+2290197000701")
        by_phone_sees = await _rights(client, "+2290197000702")
        assert re.sub(r"\d{9}", "N", by_cash_sees) == re.sub(r"\d{9}", "N", by_phone_sees)


async def _confirm(phone: Phone, member_no: str, amount: str) -> str:
    await cash_screen(phone, member_no, amount)
    return await phone.type("1")


async def _rights(client: httpx.AsyncClient, number: str) -> str:
    household = Phone(client, number)
    await household.dial()
    return await household.type("2")


async def test_a_cash_payment_raced_by_another_becomes_above_due_and_records_nothing(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    ledger = part(app, Payments).ledger
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    member_no = await register(app, "+2290197000701", persons=2)
    phone = Phone(client, AGENT)
    await phone.dial(PIN)
    assert "Confirmer" in await cash_screen(phone, member_no, "3150")
    await ledger.record_cash(member_no, 2000, "Desk", channel="desk")  # meanwhile
    reply = await phone.type("1")
    assert reply.startswith("END ") and "plus élevé que le reste à payer" in reply
    assert scalar(db, "SELECT COUNT(*) FROM payments") == 1
    assert scalar(db, "SELECT amount_paid FROM coverage_periods") == 2000


# -- adding a member ---------------------------------------------------------------


async def test_adding_a_member_writes_the_event_the_sms_and_the_audit_entry(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    agent_id = await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    member_no = await register(app, "+2290197000701", persons=2)
    reply = await add_member(Phone(client, AGENT), member_no, "Koffi")
    assert "Membre ajouté" in reply and "4725 F" in reply
    db.expire_all()
    added, household_id = db.execute(
        text("SELECT member_no, household_id FROM members WHERE first_names = 'Koffi'")
    ).one()
    event = db.execute(
        text("SELECT household_id, member_no, status FROM register_events WHERE kind = :k"),
        {"k": "member_added"},
    ).one()
    assert tuple(event) == (household_id, added, "pending")
    sms = db.execute(
        text("SELECT phone, purpose, text FROM messages WHERE template = 'member_added'")
    ).one()
    assert sms[0] == "+2290197000701" and sms[1] == "confirmation"
    assert added in sms[2] and "4725 F" in sms[2]
    entries = audit_rows(db, f"agent:{agent_id}")
    member_added = [row for row in entries if row[0] == "member_added"]
    assert len(member_added) == 1
    _, at_household, at_member, details = member_added[0]
    assert (at_household, at_member) == (household_id, added)
    assert details == {"persons": 3, "premium_due": 4725}


async def test_a_member_added_to_a_paid_household_keeps_its_rights_and_owes_one_share(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    ledger = part(app, Payments).ledger
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    member_no = await register(app, "+2290197000701", persons=2)
    await ledger.record_cash(member_no, 3150, "Rose", channel="desk")
    paid = period_row(db, member_no)
    reply = await add_member(Phone(client, AGENT), member_no, "Koffi")
    assert "Reste à payer pour le ménage: 1575 F" in reply
    after = period_row(db, member_no)
    assert after["premium_due"] == "4725" and after["status"] == paid["status"] == "waiting"
    assert after["covered_from"] == paid["covered_from"]


# -- the audit trail -----------------------------------------------------------------


async def test_every_agent_action_is_audited_with_who_what_and_which_household(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    rt = shared(app)
    added = await new_agent(app, AGENT, "Bio Sika", "MS-PARAKOU")
    agent_id = added.agent_id
    phone = Phone(client, AGENT)
    await phone.dial()
    await phone.type(added.code)
    await phone.type(PIN)
    await phone.type(PIN)  # pin_set
    await phone.type("1")
    await phone.type("97000711")
    # name, birth, no NPI, occupation (asked by agents), alone, family product, a woman
    for answer in ("Houngbo Afi", "1990", "2", "2", "1", "1", "2", "1"):
        reply = await phone.type(answer)
    assert "Ménage inscrit" in reply
    member_no = reply.split("membre: ")[1][:9]
    await phone.dial()
    await phone.type("9999")  # pin_wrong
    await phone.type(PIN)  # signed_in
    await phone.type("4")
    await phone.type(member_no)  # household_viewed
    await add_member(phone, member_no, "Koffi")  # signed_in, household_viewed, member_added
    await phone.dial(PIN)  # signed_in
    await _confirm(phone, member_no, "1000")  # household_viewed, cash_recorded
    household_id = scalar(db, "SELECT id FROM households")
    actor = f"agent:{agent_id}"
    entries = audit_rows(db, actor)
    assert [row[0] for row in entries] == [
        "pin_set",
        "household_registered",
        "pin_wrong",
        "signed_in",
        "household_viewed",
        "signed_in",
        "household_viewed",
        "member_added",
        "signed_in",
        "household_viewed",
        "cash_recorded",
    ]
    on_household = [row for row in entries if row[1] is not None]
    assert {row[1] for row in on_household} == {household_id}
    registered = next(row for row in entries if row[0] == "household_registered")
    assert registered[2] == member_no and registered[3] == {"persons": 1, "premium_due": 1575}
    cash = next(row for row in entries if row[0] == "cash_recorded")
    assert cash[3]["amount"] == 1000 and cash[3]["receipt_no"]
    # Queryable: by agent, by household, by action, newest first.
    found = await audit.search(rt.sessions, actor=actor, household_id=household_id)
    assert found[0].action == "cash_recorded" and len(found) == 6
    assert all(e.at is not None for e in found)
    assert len(await audit.search(rt.sessions, action="signed_in")) == 3
    # Nothing in any entry holds the PIN.
    assert PIN not in " ".join(str(row) for row in audit_rows(db))


async def test_logs_hold_no_pin_and_no_full_phone(
    app: Starlette, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # as run; our own loggers at every level
    for ours in ("gateway", "menus", "adapters", "db"):
        caplog.set_level(logging.DEBUG, logger=ours)
    code = (await new_agent(app, AGENT, "Bio Sika", "MS-PARAKOU")).code
    phone = Phone(client, AGENT)
    await phone.dial()
    await phone.type(code)
    await phone.type(PIN)
    await phone.type(PIN)
    await phone.type("1")
    await phone.type("97000712")
    # name, birth, no NPI, occupation (asked by agents), alone, family product, a woman
    for answer in ("Houngbo Afi", "1990", "2", "2", "1", "1", "2", "1"):
        reply = await phone.type(answer)
    member_no = reply.split("membre: ")[1][:9]
    await phone.dial("1111")
    await phone.type(PIN)
    await _confirm(phone, member_no, "1575")
    logged = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )
    assert "USSD session" in logged  # the logs were captured at all
    assert PIN not in logged and code not in logged
    for number in ("2290197000601", "0197000601", "97000601", "2290197000712", "97000712"):
        assert number not in logged, number
