"""Staff accounts: who may be added, the login check, lockout, and the `alafia staff`
commands, against the real database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import models
from db.engine import create_engine_async, session_factory
from db.redis import connect
from db.values import StaffRole
from gateway import cli
from gateway.limits.rates import Limits, RateLimiter
from gateway.settings import Settings
from gateway.staff import accounts as staff_accounts
from gateway.staff.account_rules import StaffAccountError
from gateway.staff.accounts import StaffAccounts
from gateway.staff.demo import ensure_demo_staff
from gateway.staff.login_limits import LoginLimits
from tests.support.clock import Now

PASSWORD = "correct horse battery"
IP = "192.0.2.10"


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
async def accounts(settings: Settings, clean: None, now: Now) -> AsyncIterator[StaffAccounts]:
    engine = create_engine_async(settings.database_url)
    assert settings.redis_url is not None
    redis = connect(settings.redis_url, 4, 2.0)
    logins = LoginLimits(Limits(RateLimiter(redis, now), settings.limits))
    yield StaffAccounts(session_factory(engine), now, logins)
    await redis.aclose()
    await engine.dispose()


def audit_rows(db: Session, action: str | None = None) -> list[models.AuditEntry]:
    db.expire_all()
    query = select(models.AuditEntry).order_by(models.AuditEntry.id)
    if action is not None:
        query = query.where(models.AuditEntry.action == action)
    return list(db.scalars(query).all())


@pytest.mark.parametrize(
    ("email", "role", "scope", "password", "problem"),
    [
        ("not-an-email", StaffRole.VIEWER, None, PASSWORD, "not an email"),
        ("a@b.bj", "superuser", None, PASSWORD, "unknown role"),
        ("a@b.bj", StaffRole.VIEWER, None, "short", "at least 10"),
        ("a@b.bj", StaffRole.MUTUAL_MANAGER, None, PASSWORD, "needs --scope"),
        ("a@b.bj", StaffRole.MUTUAL_MANAGER, "ZS-PARAKOU", PASSWORD, "scope is a mutual"),
        ("a@b.bj", StaffRole.CENTRAL_ADMIN, "MS-PARAKOU", PASSWORD, "whole network"),
        ("a@b.bj", StaffRole.VIEWER, "NOWHERE", PASSWORD, "no scheme unit"),
    ],
)
async def test_add_refuses_what_the_role_does_not_allow(
    accounts: StaffAccounts, email: str, role: str, scope: str | None, password: str, problem: str
) -> None:
    with pytest.raises(StaffAccountError, match=problem):
        await accounts.add(email, role, scope, password, "test")
    assert await accounts.list() == []


async def test_add_keeps_a_lower_case_email_and_only_a_hash(
    accounts: StaffAccounts, db: Session
) -> None:
    await accounts.add(
        " Gestion@Parakou.BJ ", StaffRole.MUTUAL_MANAGER, "MS-PARAKOU", PASSWORD, "test"
    )
    await accounts.add("lecture@zone.bj", StaffRole.VIEWER, "ZS-PARAKOU", PASSWORD, "test")
    await accounts.add("admin@agence.bj", StaffRole.CENTRAL_ADMIN, "RMS-BJ", PASSWORD, "test")
    listed = {a.email: a for a in await accounts.list()}
    assert listed["gestion@parakou.bj"].scope.unit_path == "RMS-BJ/ZS-PARAKOU/MS-PARAKOU"
    assert listed["lecture@zone.bj"].scope_code == "ZS-PARAKOU"
    stored = db.scalars(select(models.StaffAccount.password_hash)).all()
    assert all(h.startswith("scrypt$") and PASSWORD not in h for h in stored)
    with pytest.raises(StaffAccountError, match="already exists"):
        await accounts.add("GESTION@parakou.bj", StaffRole.VIEWER, None, PASSWORD, "test")
    assert len(audit_rows(db, "staff_added")) == 3


async def test_a_right_password_logs_in_and_is_audited_without_it(
    accounts: StaffAccounts, db: Session, now: Now
) -> None:
    staff_id = await accounts.add(
        "admin@agence.bj", StaffRole.CENTRAL_ADMIN, None, PASSWORD, "test"
    )
    attempt = await accounts.authenticate("ADMIN@agence.bj", PASSWORD, IP)
    assert attempt.outcome == staff_accounts.LoginOutcome.OK
    assert attempt.account is not None and attempt.account.id == staff_id
    assert attempt.account.scope.unit_path is None
    (login,) = audit_rows(db, "login")
    assert login.actor == f"staff:{staff_id}" and login.details == {"ip": IP}
    assert all(PASSWORD not in str(row.details) for row in audit_rows(db))
    account = db.get(models.StaffAccount, staff_id)
    assert account is not None and account.last_login_at is not None


async def test_wrong_password_unknown_email_and_disabled_account_look_the_same(
    accounts: StaffAccounts, db: Session
) -> None:
    await accounts.add("admin@agence.bj", StaffRole.CENTRAL_ADMIN, None, PASSWORD, "test")
    await accounts.add("parti@agence.bj", StaffRole.VIEWER, None, PASSWORD, "test")
    await accounts.disable("parti@agence.bj", "test")
    for email, password in [
        ("admin@agence.bj", "wrong password!"),
        ("nobody@agence.bj", PASSWORD),
        ("parti@agence.bj", PASSWORD),
    ]:
        attempt = await accounts.authenticate(email, password, IP)
        assert attempt == staff_accounts.LoginAttempt(staff_accounts.LoginOutcome.BAD_CREDENTIALS)
    reasons = [(r.actor.split(":")[0], r.details["reason"]) for r in audit_rows(db, "login_failed")]
    assert reasons == [
        ("staff", "wrong_password"),
        ("anonymous", "unknown_account"),
        ("staff", "disabled"),
    ]


async def test_five_failures_lock_the_account_for_fifteen_minutes(
    accounts: StaffAccounts, db: Session, now: Now
) -> None:
    await accounts.add(
        "gestion@parakou.bj", StaffRole.MUTUAL_MANAGER, "MS-PARAKOU", PASSWORD, "test"
    )
    outcomes = [
        (await accounts.authenticate("gestion@parakou.bj", f"wrong {i} password", IP)).outcome
        for i in range(5)
    ]
    assert outcomes == [staff_accounts.LoginOutcome.BAD_CREDENTIALS] * 4 + [
        staff_accounts.LoginOutcome.LOCKED
    ]
    (locked,) = audit_rows(db, "locked")
    assert locked.details["until"].startswith(now.at.date().isoformat())
    # Even the right password waits for the lock to end.
    assert (await accounts.authenticate("gestion@parakou.bj", PASSWORD, IP)).outcome == "locked"
    now.later(minutes=14)
    assert (await accounts.authenticate("gestion@parakou.bj", PASSWORD, IP)).outcome == "locked"
    now.later(minutes=1, seconds=1)
    assert (await accounts.authenticate("gestion@parakou.bj", PASSWORD, IP)).outcome == "ok"


async def test_a_success_resets_the_count(accounts: StaffAccounts) -> None:
    await accounts.add("admin@agence.bj", StaffRole.CENTRAL_ADMIN, None, PASSWORD, "test")
    for _ in range(2):
        for _ in range(4):
            await accounts.authenticate("admin@agence.bj", "wrong password!", IP)
        assert (await accounts.authenticate("admin@agence.bj", PASSWORD, IP)).outcome == "ok"


async def test_unlock_and_reset_password_lift_a_lock(accounts: StaffAccounts, db: Session) -> None:
    await accounts.add("admin@agence.bj", StaffRole.CENTRAL_ADMIN, None, PASSWORD, "test")
    for _ in range(5):
        await accounts.authenticate("admin@agence.bj", "wrong password!", IP)
    await accounts.unlock("admin@agence.bj", "cli:ops")
    assert (await accounts.authenticate("admin@agence.bj", PASSWORD, IP)).outcome == "ok"
    for _ in range(5):
        await accounts.authenticate("admin@agence.bj", "wrong password!", IP)
    await accounts.reset_password("admin@agence.bj", "a brand new password", "cli:ops")
    assert (await accounts.authenticate("admin@agence.bj", PASSWORD, IP)).outcome != "ok"
    assert (await accounts.authenticate("admin@agence.bj", "a brand new password", IP)).outcome == (
        "ok"
    )
    assert [r.actor for r in audit_rows(db, "staff_unlocked")] == ["cli:ops"]
    assert len(audit_rows(db, "staff_password_reset")) == 1
    with pytest.raises(StaffAccountError, match="no staff account"):
        await accounts.unlock("nobody@agence.bj", "cli:ops")


async def test_demo_accounts_are_made_once(accounts: StaffAccounts, now: Now) -> None:
    created = await ensure_demo_staff(accounts.sessions, now)
    assert [email for email, _ in created] == ["admin@demo.alafia", "gestion.parakou@demo.alafia"]
    assert all(len(password) >= 10 for _, password in created)
    assert await ensure_demo_staff(accounts.sessions, now()) == []
    manager = await accounts.find("gestion.parakou@demo.alafia")
    assert manager is not None and manager.role == StaffRole.MUTUAL_MANAGER
    assert manager.scope_code == "MS-PARAKOU"
    email, password = created[1]
    assert (await accounts.authenticate(email, password, None)).outcome == "ok"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings, clean: None) -> Settings:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(settings.data_dir))
    return settings


def test_cli_adds_lists_and_disables(
    env: Settings, capsys: pytest.CaptureFixture[str], db: Session
) -> None:
    assert (
        cli.main(
            [
                "staff", "add", "--email", "Gestion@Parakou.bj", "--role", "mutual_manager",
                "--scope", "MS-PARAKOU", "--password", PASSWORD,
            ]
        )
        == 0
    )  # fmt: skip
    assert "added gestion@parakou.bj (mutual_manager of MS-PARAKOU)" in capsys.readouterr().out
    assert cli.main(["staff", "list"]) == 0
    listing = capsys.readouterr().out
    assert "gestion@parakou.bj" in listing and "MS-PARAKOU" in listing and "active" in listing
    assert cli.main(["staff", "disable", "--email", "gestion@parakou.bj"]) == 0
    assert cli.main(["staff", "list"]) == 0
    assert "disabled" in capsys.readouterr().out
    (added,) = audit_rows(db, "staff_added")
    assert added.actor.startswith("cli:")


def test_cli_says_what_is_wrong_and_exits_2(
    env: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    add = ["staff", "add", "--email", "a@b.bj", "--role", "mutual_manager"]
    assert cli.main([*add, "--password", PASSWORD]) == 2
    assert "needs --scope" in capsys.readouterr().err
    assert cli.main([*add, "--scope", "MS-PARAKOU", "--password", "short"]) == 2
    assert "at least 10" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        cli.main(["staff", "add", "--email", "a@b.bj", "--role", "boss"])
    assert exited.value.code == 2
    assert cli.main(["staff", "disable", "--email", "nobody@b.bj"]) == 2
    assert "no staff account" in capsys.readouterr().err
    # Asked twice when not given; two different answers change nothing.
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert cli.main([*add, "--scope", "MS-PARAKOU"]) == 2
    assert "differ" in capsys.readouterr().err
    answers = iter([PASSWORD, PASSWORD])
    assert cli.main([*add, "--scope", "MS-PARAKOU"]) == 0
    assert cli.main(["staff", "unlock", "--email", "a@b.bj"]) == 0
    answers = iter(["another password", "another password"])
    assert cli.main(["staff", "reset-password", "--email", "a@b.bj"]) == 0
    assert "password changed" in capsys.readouterr().out
