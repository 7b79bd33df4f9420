"""Staff logins: a stranger who knows a staff email locks the account for their own
address only, and one address cannot spray passwords over many accounts. Over HTTP, on
two gateway instances sharing one Redis, from two addresses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from gateway.settings import Rate, Settings
from tests.limits.test_rates import instances
from tests.staff.test_accounts import audit_rows
from tests.staff.web import PASSWORD, add_staff, login
from tests.support.clock import Now

OFFICE = "192.0.2.7"  # the colleague's own network
STRANGER = "198.51.100.9"


@asynccontextmanager
async def browser(app: Starlette, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://gateway.test") as http:
        yield http


async def test_a_stranger_who_knows_an_email_locks_out_only_themselves(
    settings: Settings, clean: None, db: Session
) -> None:
    now = Now()
    async with (
        instances(settings, now) as (one, two),
        browser(one.app, STRANGER) as stranger,
        browser(two.app, OFFICE) as office,
    ):
        await add_staff(one.app, "gestion@parakou.bj", "central_admin", None)
        for _ in range(5):
            assert (await login(stranger, "gestion@parakou.bj", "guess guess")).status_code == 200
        # Locked for the stranger, even with the right password...
        assert "incorrect" in (await login(stranger, "gestion@parakou.bj")).text
        # ...not for the person at the office, on the other instance.
        assert (await login(office, "gestion@parakou.bj")).status_code == 303
        (locked,) = audit_rows(db, "locked")
        assert locked.details["ip"] == STRANGER
        # The lock lasts its window from the first failure, then the count starts again.
        now.later(minutes=15)
        stranger.cookies.clear()
        assert (await login(stranger, "gestion@parakou.bj", PASSWORD)).status_code == 303


async def test_one_address_cannot_spray_passwords_over_many_accounts(
    settings: Settings, clean: None, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    now = Now()
    per_ip = Rate(6, 900)
    async with (
        instances(settings, now, login_failures_per_ip=per_ip) as (one, two),
        browser(one.app, STRANGER) as stranger,
        browser(two.app, STRANGER) as stranger_elsewhere,
        browser(two.app, OFFICE) as office,
    ):
        emails = [f"agent{n}@parakou.bj" for n in range(4)]
        for email in emails:
            await add_staff(one.app, email, "central_admin", None)
        # Two guesses at each of three accounts, over both instances: below the lock per
        # account (5), but six failures from one address.
        for email in emails[:3]:
            for http in (stranger, stranger_elsewhere):
                assert (await login(http, email, "Password123")).status_code == 200
        refused = await login(stranger, emails[3])  # the right password, even
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "900"
        assert "Trop de connexions manquées depuis ce réseau" in refused.text
        assert (await login(office, emails[3])).status_code == 303
        refusals = [r.getMessage() for r in caplog.records if "rate limit" in r.getMessage()]
        assert refusals == ["rate limit login-ip: refused (6 per 900 s)"]  # no address
        reasons = [r.details["reason"] for r in audit_rows(db, "login_failed")]
        assert reasons == ["wrong_password"] * 6 + ["too_many_from_address"]
        now.later(seconds=900)
        assert (await login(stranger, emails[3])).status_code == 303
