"""`alafia agents ...` run as a mutual's staff would: accounts, cash and the audit trail,
against the test database, with clear refusals that change nothing."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from db.engine import create_engine_async, create_engine_sync, session_factory, sync_session_factory
from gateway import cli
from gateway.enrolment.service import EnrolmentService
from gateway.payments.ledger import Billing
from gateway.secrets_kdf import verify_secret
from gateway.settings import Settings
from menus.effects import EnrolHousehold, PersonDraft

AGENT = "+2290197000801"
_households = itertools.count(10)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings, clean: None) -> Iterator[Settings]:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("USER", "caissiere")
    yield settings


def alafia(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["agents", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def scalar(db: Session, query: str, **params: Any) -> Any:
    db.expire_all()
    return db.execute(text(query), params).scalar_one()


def collect(settings: Settings, phone: str, amounts: list[int], persons: int = 4) -> str:
    """A household registered by the agent of `phone`, and cash they took from it (one
    payment per amount, on the gateway's real clock as the commands run)."""

    async def work() -> str:
        zone = ZoneInfo(settings.timezone)
        sync_engine = create_engine_sync(settings.database_url)
        engine = create_engine_async(settings.database_url)
        try:
            sessions = session_factory(engine)
            async with sessions() as session:
                agent_id = (
                    await session.execute(
                        text("SELECT id FROM agents WHERE phone = :p"), {"p": phone}
                    )
                ).scalar_one()
            person = PersonDraft("ASSOGBA", "Rose", "F", "1990-01-01", True, "head")
            children = tuple(
                PersonDraft("ASSOGBA", f"Enfant{i}", "F", "2004-01-01", True, "child")
                for i in range(persons - 1)
            )
            result = await EnrolmentService(sync_session_factory(sync_engine)).enrol(
                EnrolHousehold(
                    "MS-PARAKOU",
                    "FAMILLE",
                    f"+22901970009{next(_households):02d}",
                    "fr",
                    person,
                    children,
                    channel="agent",
                    agent_id=agent_id,
                ),
                f"test:{uuid.uuid4()}",
                datetime.now(zone).date(),
            )
            member_no = str(result["member_no"])
            billing = Billing(sessions, settings.timezone)
            for amount in amounts:
                await billing.record_cash(
                    member_no, amount, "Rose", request_key=f"t:{uuid.uuid4()}", agent_id=agent_id
                )
            return member_no
        finally:
            await engine.dispose()
            sync_engine.dispose()

    return asyncio.run(work())


# -- accounts -------------------------------------------------------------------


def test_add_and_list_an_agent(
    env: Settings, capsys: pytest.CaptureFixture[str], db: Session
) -> None:
    code = cli.main(
        ["agents", "add", "--phone", "97000801", "--name", "Bio  Sika", "--mutual", "MS-PARAKOU"],
        now=lambda: datetime(2026, 11, 23, 9, 30, tzinfo=ZoneInfo("Africa/Porto-Novo")),
    )
    out = capsys.readouterr().out
    # 72 hours after the command's clock, not the real one
    typed = re.search(r"activation code: (\d{4} \d{4}) \(once, until 2026-11-26 09:30\)", out)
    assert code == 0 and typed, out
    stored = scalar(db, "SELECT activation_hash FROM agents")
    assert stored.startswith("scrypt$") and verify_secret(typed.group(1).replace(" ", ""), stored)
    assert scalar(db, "SELECT phone FROM agents") == AGENT  # the national form, normalised
    assert scalar(db, "SELECT name FROM agents") == "Bio Sika"
    assert scalar(db, "SELECT actor FROM audit_log WHERE action = 'agent_added'") == "cli:caissiere"
    code, out, _ = alafia(capsys, "list")
    assert code == 0 and "MS-PARAKOU" in out and AGENT in out and "no PIN yet" in out
    code, out, _ = alafia(capsys, "list", "--mutual", "MS-KANDI")
    assert code == 0 and out.strip() == "no agents"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--phone", "12", "--mutual", "MS-PARAKOU"], "'12' is not a valid phone number"),
        (["--phone", "not a phone", "--mutual", "MS-PARAKOU"], "is not a valid phone number"),
        (["--phone", "97000802", "--mutual", "MS-NOWHERE"], "no mutual with code MS-NOWHERE"),
        (["--phone", "97000802", "--mutual", "ZS-PARAKOU"], "no mutual with code ZS-PARAKOU"),
        (["--phone", "0197000801", "--mutual", "MS-KANDI"], f"{AGENT} is already an agent's"),
    ],
    ids=["short phone", "letters", "unknown mutual", "a zone", "duplicate phone"],
)
def test_a_bad_agent_is_refused_with_a_clear_message_and_nothing_added(
    env: Settings,
    capsys: pytest.CaptureFixture[str],
    db: Session,
    argv: list[str],
    message: str,
) -> None:
    assert (
        alafia(capsys, "add", "--phone", AGENT, "--name", "Bio", "--mutual", "MS-PARAKOU")[0] == 0
    )
    code, _, err = alafia(capsys, "add", "--name", "Other Agent", *argv)
    assert code == 2 and err.startswith("not added: ") and message in err, err
    assert scalar(db, "SELECT COUNT(*) FROM agents") == 1
    assert scalar(db, "SELECT COUNT(*) FROM audit_log") == 1


def test_a_name_too_short_is_refused(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = alafia(capsys, "add", "--phone", AGENT, "--name", " B ", "--mutual", "MS-KANDI")
    assert code == 2 and "2 to 120 characters" in err


def test_disable_enable_reset_and_unlock_change_the_state_and_are_audited(
    env: Settings, capsys: pytest.CaptureFixture[str], db: Session
) -> None:
    alafia(capsys, "add", "--phone", AGENT, "--name", "Bio Sika", "--mutual", "MS-PARAKOU")
    with db.begin():
        db.execute(
            text("UPDATE agents SET pin_hash = 'scrypt$x', pin_failures = 3, locked_until = :t"),
            {"t": datetime(2099, 1, 1, tzinfo=ZoneInfo("UTC"))},
        )
    assert "locked" in alafia(capsys, "list")[1]
    code, out, _ = alafia(capsys, "unlock", "--phone", "97000801")
    assert code == 0 and f"{AGENT}: done (unlock)" in out
    assert " active " in alafia(capsys, "list")[1]
    assert scalar(db, "SELECT pin_failures FROM agents") == 0
    assert alafia(capsys, "disable", "--phone", AGENT)[0] == 0
    assert " disabled " in alafia(capsys, "list")[1]
    assert alafia(capsys, "enable", "--phone", AGENT)[0] == 0
    assert " active " in alafia(capsys, "list")[1]
    assert alafia(capsys, "reset-pin", "--phone", AGENT)[0] == 0
    assert "no PIN yet" in alafia(capsys, "list")[1]
    assert scalar(db, "SELECT COUNT(*) FROM agents WHERE pin_hash IS NULL") == 1
    db.expire_all()
    actions = [
        tuple(row)
        for row in db.execute(text("SELECT actor, action FROM audit_log ORDER BY id")).all()
    ]
    assert actions == [
        ("cli:caissiere", "agent_added"),
        ("cli:caissiere", "agent_unlocked"),
        ("cli:caissiere", "agent_disabled"),
        ("cli:caissiere", "agent_enabled"),
        ("cli:caissiere", "pin_reset"),
    ]


@pytest.mark.parametrize("command", ["disable", "enable", "reset-pin", "unlock"])
def test_an_account_change_for_an_unknown_or_bad_phone_is_refused(
    env: Settings, capsys: pytest.CaptureFixture[str], db: Session, command: str
) -> None:
    code, _, err = alafia(capsys, command, "--phone", "97000899")
    assert code == 2 and "no agent with phone +2290197000899" in err
    code, _, err = alafia(capsys, command, "--phone", "abc")
    assert code == 2 and "not a valid phone number" in err
    assert scalar(db, "SELECT COUNT(*) FROM audit_log") == 0


# -- cash ------------------------------------------------------------------------


def positions(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    code, out, _ = alafia(capsys, "cash", "--json", *argv)
    assert code == 0
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def test_cash_figures_are_the_payments_less_the_handovers(
    env: Settings, capsys: pytest.CaptureFixture[str], db: Session
) -> None:
    alafia(capsys, "add", "--phone", AGENT, "--name", "Bio Sika", "--mutual", "MS-PARAKOU")
    alafia(capsys, "add", "--phone", "97000802", "--name", "Awa", "--mutual", "MS-PARAKOU")
    alafia(capsys, "add", "--phone", "97000803", "--name", "Yarou", "--mutual", "MS-KANDI")
    collect(env, AGENT, [1000, 2500])
    collect(env, AGENT, [6300])
    collect(env, "+2290197000802", [700])
    code, out, _ = alafia(
        capsys,
        "handover",
        "--agent",
        AGENT,
        "--amount",
        "4000",
        "--received-by",
        "Caissière",
        "--reference",
        "BR-1",
    )
    assert code == 0 and "4,000 XOF handed over by Bio Sika; they still hold 5,800" in out

    rows = positions(capsys)
    assert [(r["mutual"], r["name"]) for r in rows] == [
        ("MS-KANDI", "Yarou"),
        ("MS-PARAKOU", "Awa"),
        ("MS-PARAKOU", "Bio Sika"),
    ]
    for row in rows:
        agent_id = scalar(db, "SELECT id FROM agents WHERE phone = :p", p=row["phone"])
        collected = scalar(
            db,
            "SELECT COALESCE(SUM(amount), 0) FROM payments WHERE agent_id = :a "
            "AND provider = 'cash' AND status = 'succeeded'",
            a=agent_id,
        )
        handed = scalar(
            db,
            "SELECT COALESCE(SUM(amount), 0) FROM cash_handovers WHERE agent_id = :a",
            a=agent_id,
        )
        payments = scalar(db, "SELECT COUNT(*) FROM payments WHERE agent_id = :a", a=agent_id)
        assert (row["collected"], row["handed_over"], row["held"], row["payments"]) == (
            collected,
            handed,
            collected - handed,
            payments,
        )
    assert positions(capsys, "--agent", "97000801")[0]["held"] == 5800
    assert [r["name"] for r in positions(capsys, "--mutual", "MS-KANDI")] == ["Yarou"]
    code, out, _ = alafia(capsys, "cash", "--agent", AGENT)
    assert code == 0 and "9,800" in out and "4,000" in out and "5,800" in out
    code, out, _ = alafia(capsys, "cash", "--agent", "97000899")
    assert code == 2 and "no such agent" in out


def test_a_handover_above_what_the_agent_holds_is_refused(
    env: Settings, capsys: pytest.CaptureFixture[str], db: Session
) -> None:
    alafia(capsys, "add", "--phone", AGENT, "--name", "Bio Sika", "--mutual", "MS-PARAKOU")
    collect(env, AGENT, [3000])
    argv = ("handover", "--agent", AGENT, "--received-by", "Caissière", "--amount")

    def slip(amount: str) -> tuple[str, ...]:
        return (amount, "--reference", f"BR-{amount}")

    code, _, err = alafia(capsys, *argv, *slip("3001"))
    assert code == 2 and "3,001 XOF is more than the 3,000 XOF the agent holds" in err
    for amount in ("0", "-5"):
        code, _, err = alafia(capsys, *argv, *slip(amount))
        assert code == 2 and "positive whole number" in err
    assert alafia(capsys, *argv, *slip("3000"))[0] == 0
    code, _, err = alafia(capsys, *argv, *slip("1"))
    assert code == 2 and "more than the 0 XOF" in err
    code, _, err = alafia(
        capsys,
        "handover",
        "--agent",
        "97000899",
        "--amount",
        "1",
        "--received-by",
        "X",
        "--reference",
        "BR-X",
    )
    assert code == 2 and "no agent with phone" in err
    assert scalar(db, "SELECT COUNT(*) FROM cash_handovers") == 1
    assert scalar(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'cash_handed_over'") == 1


def test_a_handover_reference_is_recorded_once(
    env: Settings, capsys: pytest.CaptureFixture[str], db: Session
) -> None:
    alafia(capsys, "add", "--phone", AGENT, "--name", "Bio Sika", "--mutual", "MS-PARAKOU")
    alafia(capsys, "add", "--phone", "97000802", "--name", "Awa", "--mutual", "MS-PARAKOU")
    collect(env, AGENT, [5000])
    collect(env, "+2290197000802", [5000])
    slip = ("--received-by", "Caissière", "--reference", "BR-2026-0042")
    assert alafia(capsys, "handover", "--agent", AGENT, "--amount", "1000", *slip)[0] == 0
    for phone in (AGENT, "97000802"):  # the same slip again, for anybody
        code, _, err = alafia(capsys, "handover", "--agent", phone, "--amount", "1000", *slip)
        assert code == 2 and "hand-over BR-2026-0042 is already recorded" in err
    assert scalar(db, "SELECT COUNT(*) FROM cash_handovers") == 1
    assert positions(capsys, "--agent", AGENT)[0]["held"] == 4000
    details = scalar(db, "SELECT details FROM audit_log WHERE action = 'cash_handed_over'")
    details = json.loads(details) if isinstance(details, str) else details
    assert details["amount"] == 1000 and details["reference"] == "BR-2026-0042"


# -- audit -----------------------------------------------------------------------


def test_audit_lists_an_agents_actions_newest_first(
    env: Settings, capsys: pytest.CaptureFixture[str], db: Session
) -> None:
    alafia(capsys, "add", "--phone", AGENT, "--name", "Bio Sika", "--mutual", "MS-PARAKOU")
    alafia(capsys, "add", "--phone", "97000802", "--name", "Awa", "--mutual", "MS-PARAKOU")
    member_no = collect(env, AGENT, [1000, 500])
    collect(env, "+2290197000802", [700])
    code, out, _ = alafia(capsys, "audit", "--agent", "97000801", "--json")
    assert code == 0
    rows = json.loads(out)
    agent_id = scalar(db, "SELECT id FROM agents WHERE phone = :p", p=AGENT)
    assert {r["actor"] for r in rows} == {f"agent:{agent_id}"}
    assert [r["action"] for r in rows] == [
        "cash_recorded",
        "cash_recorded",
        "household_registered",
    ]
    assert [r["details"]["amount"] for r in rows[:2]] == [500, 1000]
    assert rows[2]["member_no"] == member_no and rows[2]["details"]["persons"] == 4
    household_id = scalar(db, "SELECT household_id FROM members WHERE member_no = :m", m=member_no)
    assert {r["household_id"] for r in rows} == {household_id}

    code, out, _ = alafia(capsys, "audit", "--agent", AGENT)
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 3
    assert "cash_recorded" in lines[0] and "household_registered" in lines[2]
    assert f"household {household_id}" in lines[2] and f"member {member_no}" in lines[2]
    code, out, _ = alafia(capsys, "audit", "--agent", AGENT, "--limit", "1", "--json")
    assert len(json.loads(out)) == 1
    code, out, _ = alafia(capsys, "audit", "--member", member_no, "--json")
    assert code == 0 and len(json.loads(out)) == 3


def test_audit_refuses_an_unknown_agent_or_member(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = alafia(capsys, "audit", "--agent", "97000899")
    assert code == 2 and "no agent with phone 97000899" in err
    code, _, err = alafia(capsys, "audit", "--member", "100000011")
    assert code == 2 and "no member 100000011" in err
    code, _, err = alafia(capsys, "audit", "--agent", "xyz")
    assert code == 2 and "not a valid phone number" in err
