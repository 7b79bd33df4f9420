"""Password codes given from the dashboard, as `alafia staff` sees and overrides them."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.engine import create_engine_async, session_factory
from gateway import cli
from gateway.settings import Settings
from gateway.staff.account_rules import StaffAccountError
from gateway.staff.accounts import StaffAccounts
from tests.staff.web import PASSWORD
from tests.support.clock import Now
from tests.support.gateway import shared

EMAIL = "gestion.kandi@agence.bj"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings, clean: None) -> Settings:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(settings.data_dir))
    return settings


def test_the_list_shows_an_account_waiting_for_its_password(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    async def add() -> None:
        engine = create_engine_async(env.database_url)
        accounts = StaffAccounts(session_factory(engine), Now())
        await accounts.add_with_code(EMAIL, "mutual_manager", "MS-KANDI", "staff:1")
        await engine.dispose()

    asyncio.run(add())  # the command runs its own event loop: none may be running here
    assert cli.main(["staff", "list"]) == 0
    listing = capsys.readouterr().out
    assert EMAIL in listing and "password code until 2026-11-24 09:00" in listing


async def test_a_password_set_from_the_shell_takes_the_code_back(
    env: Settings, app: Starlette, db: Session
) -> None:
    runtime = shared(app)
    accounts = StaffAccounts(runtime.sessions, runtime.now)
    _, code = await accounts.add_with_code(EMAIL, "viewer", None, "staff:1")
    await accounts.reset_password(EMAIL, PASSWORD, "cli:ops")
    db.expire_all()
    stored = db.scalar(select(models.StaffAccount).where(models.StaffAccount.email == EMAIL))
    assert stored is not None and stored.password_code_hash is None
    with pytest.raises(StaffAccountError, match="unknown, used or expired"):
        await accounts.set_password(code.code, "a password of my own", None)
