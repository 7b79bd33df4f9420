"""What many requests at once must not break: PIN (and activation code) guesses sent
together count against the lock one by one, in whatever order they are decided, an
activation code sets one PIN however many sessions use it at once, and payments of one household
credit every franc, never above what is due. Real on PostgreSQL (row locks); SQLite
serialises writers and must agree."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway.actors import agent_actor
from gateway.agents.pins import AgentPins
from gateway.payments.capability import Payments
from gateway.payments.ledger import PaymentRefused
from tests.agents.test_agents import AGENT, PIN, register
from tests.support.agents import add_agent, new_agent
from tests.support.gateway import part, shared


async def test_pin_guesses_sent_together_lock_after_five(app: Starlette, clean: None) -> None:
    agent_id = await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    pins = AgentPins(shared(app).sessions, shared(app).now)
    wrong = [f"{n:06d}" for n in range(100_000, 100_012)]
    answers = await asyncio.gather(*(pins.verify(agent_id, guess) for guess in wrong))
    # Whatever the order they are decided in: four counted, the fifth locks, the rest
    # find the lock.
    assert sorted(answer["outcome"] for answer in answers) == ["locked"] * 8 + ["wrong"] * 4
    assert (await pins.verify(agent_id, PIN))["outcome"] == "locked"  # the right one too


async def test_the_right_pin_among_guesses_sent_together_counts_in_its_turn(
    app: Starlette, clean: None, db: Session
) -> None:
    """The guesses are decided one by one, in whatever order they reach the agent's row:
    the right PIN resets the count if it comes before the lock and is refused after it.
    The audit trail, written with each decision, tells the order this run took."""
    agent_id = await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU", pin=PIN)
    pins = AgentPins(shared(app).sessions, shared(app).now)
    guesses = [f"{n:06d}" for n in range(100_000, 100_012)] + [PIN]
    answers = await asyncio.gather(*(pins.verify(agent_id, guess) for guess in guesses))
    logged = list(
        db.scalars(
            select(models.AuditEntry.action)
            .where(models.AuditEntry.actor == agent_actor(agent_id))
            .order_by(models.AuditEntry.id)
        )
    )
    assert logged.count("alert") == 1  # with the lock, which it follows
    assert logged[logged.index("alert") - 1] == "pin_locked"
    decided = [action for action in logged if action != "alert"]
    locking = ["pin_wrong"] * 4 + ["pin_locked"]
    if "signed_in" in decided:
        wrong_before = decided.index("signed_in")
        assert decided == ["pin_wrong"] * wrong_before + ["signed_in", *locking]
        assert answers[-1]["outcome"] == "ok"
    else:
        assert decided == locking
        assert answers[-1]["outcome"] == "locked"
    outcomes = [answer["outcome"] for answer in answers]
    assert outcomes.count("wrong") == decided.count("pin_wrong")
    assert outcomes.count("locked") == len(guesses) - len(decided) + 1
    assert (await pins.verify(agent_id, PIN))["outcome"] == "locked"


async def test_activation_code_guesses_sent_together_lock_after_five(
    app: Starlette, clean: None
) -> None:
    added = await new_agent(app, AGENT, "Bio Sika", "MS-PARAKOU")
    pins = AgentPins(shared(app).sessions, shared(app).now)
    wrong = [code for code in (f"{n:08d}" for n in range(13)) if code != added.code][:12]
    answers = await asyncio.gather(
        *(pins.verify_activation(added.agent_id, guess) for guess in wrong)
    )
    assert sorted(answer["outcome"] for answer in answers) == ["locked"] * 8 + ["wrong"] * 4
    assert all(answer["grant"] is None for answer in answers)
    assert (await pins.verify_activation(added.agent_id, added.code))["outcome"] == "locked"


async def test_an_activation_code_used_by_two_sessions_at_once_sets_one_pin(
    app: Starlette, clean: None, db: Session
) -> None:
    """The agent and someone posting as their phone, both with the code (overheard):
    whoever is decided first sets the PIN; the other is told a PIN is set already."""
    added = await new_agent(app, AGENT, "Bio Sika", "MS-PARAKOU")
    pins = AgentPins(shared(app).sessions, shared(app).now)
    checks = await asyncio.gather(
        *(pins.verify_activation(added.agent_id, added.code) for _ in range(2))
    )
    assert [check["outcome"] for check in checks] == ["ok", "ok"]
    await pins.hold_first_entry(added.agent_id, PIN)
    outcomes = await asyncio.gather(
        *(pins.set_pin(added.agent_id, PIN, False, check["grant"]) for check in checks)
    )
    assert sorted(outcome["outcome"] for outcome in outcomes) == ["already_set", "set"]
    db.expire_all()
    pin_sets = db.scalars(
        select(models.AuditEntry.id).where(models.AuditEntry.action == "pin_set")
    ).all()
    assert len(pin_sets) == 1
    agent = db.get(models.Agent, added.agent_id)
    assert agent is not None and agent.activation_hash is None and agent.pin_hash is not None


async def test_payments_of_one_household_at_once_credit_every_franc(
    app: Starlette, clean: None, db: Session
) -> None:
    member_no = await register(app, "+2290197000811", persons=3)  # 4,725 due
    billing = part(app, Payments).ledger
    await asyncio.gather(
        *(billing.record_cash(member_no, 500, "Payer", request_key=f"r{n}") for n in range(6))
    )
    period = db.scalars(select(models.CoveragePeriod)).one()
    assert period.amount_paid == 3000


async def test_payments_at_once_never_go_above_what_is_due(
    app: Starlette, clean: None, db: Session
) -> None:
    member_no = await register(app, "+2290197000812", persons=1)  # 1,575 due
    billing = part(app, Payments).ledger

    async def pay(n: int) -> str:
        try:
            await billing.record_cash(member_no, 1000, "Payer", request_key=f"r{n}")
        except PaymentRefused as refused:
            return refused.reason
        return "recorded"

    outcomes = await asyncio.gather(*(pay(n) for n in range(4)))
    assert sorted(outcomes) == ["above_due"] * 3 + ["recorded"]
    assert db.scalars(select(models.CoveragePeriod)).one().amount_paid == 1000
