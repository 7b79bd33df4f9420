"""`alafia demo --today YYYY-MM-DD`: the demo runs the scheme's calendar as of that day, on
the same data, for its gateway, its worker and its own set-up; `alafia serve` and
`alafia worker` refuse the option and say why.

The demo is run through the real command (`cli.main`), with the HTTP server replaced by
one that drives the very app the command built, in this process: its lifespan (the
worker included) runs, a phone enrols through `/ussd`, and what was stored says the day.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway import cli
from gateway.infrastructure import scheme_clock
from tests.support.gateway import gateway_of

A_YEAR_ON = date(2027, 11, 23)
ENROL = ["1", "1", "1", "Dossa Yao", "1975", "2", "1", "1", "1"]


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The demo's own embedded defaults: a SQLite file and a Redis of its own."""
    for name in ("DATABASE_URL", "REDIS_URL", "PAYMENT_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def run_demo_once(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Stands in for uvicorn: starts the app the demo built, enrols a household by USSD,
    and notes what the gateway's clock says."""
    seen: dict[str, Any] = {}

    async def drive(app: Starlette) -> None:
        async with app.router.lifespan_context(app):
            shared = gateway_of(app).shared
            seen["now"], seen["today"] = shared.now(), shared.today()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://demo") as http:
                form = {"sessionId": "t1", "serviceCode": "*384*22#"}
                for hop in range(len(ENROL) + 1):
                    reply = await http.post(
                        "/ussd",
                        data={
                            **form,
                            "phoneNumber": "+2290197000601",
                            "text": "*".join(ENROL[:hop]),
                        },
                    )
                seen["last_screen"] = reply.text

    def serve(app: Starlette, **options: Any) -> None:
        asyncio.run(drive(app))

    monkeypatch.setattr(uvicorn, "run", serve)
    return seen


def test_demo_today_moves_the_calendar_of_the_whole_demo(
    demo_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = run_demo_once(monkeypatch)

    assert cli.main(["demo", "--today", A_YEAR_ON.isoformat(), "--port", "8765"]) == 0

    assert seen["today"] == A_YEAR_ON
    assert seen["now"].date() == A_YEAR_ON
    # the demo's payments are on: the end of the enrolment offers to pay at once
    assert seen["last_screen"].startswith("CON Bienvenue"), seen["last_screen"]
    assert f"as of {A_YEAR_ON.isoformat()}" in capsys.readouterr().out
    engine = create_engine(f"sqlite:///{demo_env / 'alafia.sqlite3'}")
    with Session(engine) as session:
        enrolled = session.scalar(select(models.Household.created_at))
        opened = session.scalar(select(models.CoveragePeriod.starts_on))
        # The demo's own set-up ran on the moved clock too: its agent's code was made then.
        agent_made = session.scalar(select(models.Agent.created_at))
    engine.dispose()
    assert enrolled is not None and enrolled.date() == A_YEAR_ON
    assert opened == A_YEAR_ON
    assert agent_made is not None and agent_made.date() == A_YEAR_ON


def test_without_today_the_demo_runs_on_the_real_date(
    demo_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = run_demo_once(monkeypatch)

    assert cli.main(["demo", "--port", "8765"]) == 0

    assert seen["today"] == scheme_clock("Africa/Porto-Novo")().date()


def test_the_moved_clock_keeps_ticking() -> None:
    """Whole days are added to the real clock: the time of day is the real one, and the
    day turns at midnight."""
    clock = scheme_clock("Africa/Porto-Novo", moved_to=A_YEAR_ON)
    real = scheme_clock("Africa/Porto-Novo")

    first, now = clock(), real()
    assert first.date() == A_YEAR_ON
    assert abs((first - now) - (A_YEAR_ON - now.date())) < timedelta(seconds=5)
    assert clock() >= first


@pytest.mark.parametrize("program", ["serve", "worker"])
def test_serve_and_worker_refuse_today(
    program: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Otherwise ready for production: the only problem left is --today.
    monkeypatch.setenv("USSD_CALLBACK_TOKEN", "ussd-Hk3v9Qz0pLm2Xr7w")
    monkeypatch.setenv("AT_CALLBACK_TOKEN", "at-Yb6Tn1Wq8Jd4Ks0e")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("FHIR_CANONICAL_BASE", "https://fhir.example.org")
    monkeypatch.delenv("PAYMENT_PROVIDER", raising=False)
    monkeypatch.delenv("CALLBACK_ALLOW_NETWORKS", raising=False)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(tmp_path))

    assert cli.main([program, "--today", "2027-11-23"]) == 2

    stderr = capsys.readouterr().err
    assert stderr.startswith(f"alafia {program} refuses to start:\n")
    assert "--today moves the scheme's calendar, which only `alafia demo` may do" in stderr
    assert stderr.count("  - ") == 1


def test_a_day_that_is_not_one_is_refused_by_the_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["demo", "--today", "next-year"])

    assert exited.value.code == 2
    assert "a day like 2027-12-03, got 'next-year'" in capsys.readouterr().err


MOMO = {
    "PAYMENT_PROVIDER": "momo",
    "MOMO_BASE_URL": "https://momo.example",
    "MOMO_SUBSCRIPTION_KEY": "momo-Hk3v9Qz0pL",
    "MOMO_API_USER": "b0f5c1e2-0000-4000-8000-000000000001",
    "MOMO_API_KEY": "momo-key-Yb6Tn1Wq8J",
    "MOMO_TARGET_ENVIRONMENT": "mtnbenin",
}
AFRICAS_TALKING = {
    "SMS_BACKEND": "africastalking",
    "AT_USERNAME": "mutuelle",
    "AT_API_KEY": "at-key-Qz0pLm2Xr7w",
    "AT_CALLBACK_TOKEN": "at-Yb6Tn1Wq8Jd4Ks0e",
}


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"DATABASE_URL": "sqlite:///{tmp}/production.sqlite3"}, "the demo's own database"),
        (AFRICAS_TALKING, "SMS only to the console"),
        (MOMO, "payments only from the sandbox"),
    ],
)
def test_demo_today_refuses_a_database_or_provider_not_its_own(
    env: dict[str, str],
    reason: str,
    demo_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Review #8: in a shell with production's settings, `--today` would lapse real
    households and send them real SMS from the moved clock."""
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(tmp=tmp_path))
    seen = run_demo_once(monkeypatch)

    assert cli.main(["demo", "--today", A_YEAR_ON.isoformat(), "--port", "8765"]) == 2

    stderr = capsys.readouterr().err
    assert stderr.startswith("alafia demo refuses to start:\n")
    assert reason in stderr
    assert stderr.count("  - ") == 1
    assert seen == {}  # nothing served
    assert not (tmp_path / "production.sqlite3").exists()
    assert not demo_env.exists()  # nothing migrated or seeded
