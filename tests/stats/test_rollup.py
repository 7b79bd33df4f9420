"""The daily roll-ups (gateway/stats/rollup.py): the enrolment, overview, collection and
time series figures read from the folded days plus the days after counted live give the
answer counted cold from households, members and payments, for filters and staff
scopes, whatever the watermark; the worker folds a bounded number of days per round,
and two workers folding at once fold each day once. Data: test_api's `known` set
(households enrolled from 2025-06-01 to 2026-11-20, members added later, agents,
payments settled on several days)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime, time
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.values import StaffRole
from gateway import cli
from gateway.settings import Settings
from gateway.staff.scope import Scope
from gateway.stats import figures
from gateway.stats.filters import Filters
from gateway.stats.rollup import Rollup
from gateway.stats.selection import Source
from tests.conftest import TODAY
from tests.stats.test_api import ZONE, known
from tests.support.gateway import shared

__all__ = ["known"]  # the fixture, shared with the API's tests

ADMIN = Scope(StaffRole.CENTRAL_ADMIN, None)
PARAKOU = Scope(StaffRole.MUTUAL_MANAGER, "RMS-BJ/ZS-PARAKOU/MS-PARAKOU")
KANDI_VIEWER = Scope(StaffRole.VIEWER, "RMS-BJ/ZS-KANDI")

CASES = [
    (ADMIN, Filters()),
    (ADMIN, Filters(since=date(2026, 11, 1))),
    (ADMIN, Filters(since=date(2026, 11, 3), until=date(2026, 11, 15))),
    (ADMIN, Filters(until=date(2026, 11, 10))),
    (ADMIN, Filters(since=date(2026, 11, 12))),
    (ADMIN, Filters(mutual="MS-PARAKOU")),
    (ADMIN, Filters(product="SCOLAIRE")),
    (ADMIN, Filters(product="NO-SUCH")),
    (ADMIN, Filters(channel="agent")),
    (ADMIN, Filters(commune="Parakou")),
    (PARAKOU, Filters()),
    (PARAKOU, Filters(channel="ussd", since=date(2026, 11, 1))),
    (KANDI_VIEWER, Filters()),
]
# Watermarks: none folded yet, folded up to the middle of the data, everything folded.
NOWS = [datetime.combine(date(2026, 11, 11), time(12), ZONE), datetime(2027, 1, 1, tzinfo=ZONE)]


def source_of(app: Starlette) -> Source:
    runtime = shared(app)
    return Source(runtime.dashboard_sessions, runtime.settings.timezone)


def rollup_at(app: Starlette, now: datetime, days_per_round: int = 31) -> Rollup:
    runtime = shared(app)
    return Rollup(runtime.sessions, runtime.settings.timezone, lambda: now, days_per_round)


async def answers(source: Source) -> list[tuple[dict[str, Any], ...]]:
    """Every figure read from the roll-ups, for every case (a time series per day and per
    week over the case's period, or the default one)."""
    return [
        (
            await figures.enrolment(source, scope, wanted),
            await figures.overview(source, scope, wanted),
            await figures.collection(source, scope, wanted),
            await figures.timeseries(source, scope, wanted, TODAY),
            await figures.timeseries(
                source, scope, replace(wanted, since=wanted.since or date(2026, 9, 1)), TODAY
            ),
            await figures.timeseries(
                source, scope, replace(wanted, interval="week", since=date(2025, 5, 1)), TODAY
            ),
        )
        for scope, wanted in CASES
    ]


async def test_the_rolled_up_figures_are_the_ones_counted_cold(
    known: None, app: Starlette, db: Session
) -> None:
    source = source_of(app)
    cold = await answers(source)  # nothing folded: every day counted from the base tables

    for now in NOWS:
        await rollup_at(app, now).rebuild()
        for table in (models.HouseholdDay, models.PersonDay, models.PaymentDay):
            assert db.scalar(select(func.count()).select_from(table)) > 0
        assert await answers(source) == cold, now


async def test_the_worker_folds_a_few_days_a_round_up_to_the_last_closed_day(
    known: None, app: Starlette, db: Session
) -> None:
    source = source_of(app)
    cold = await answers(source)
    rollup = rollup_at(app, NOWS[0], days_per_round=200)

    rounds = [await rollup.work() for _ in range(4)]

    # From 2025-06-01 (E) to 2026-11-10 (the day before the clock's, ended over an hour
    # ago): 528 days, in rounds of at most 200, then nothing left.
    assert rounds == [200, 200, 128, 0]
    marks = db.scalar(select(models.RollupMark.rolled_until))
    assert marks == date(2026, 11, 10)
    assert await answers(source) == cold


async def test_two_workers_folding_at_once_fold_each_day_once(
    known: None, app: Starlette, db: Session
) -> None:
    source = source_of(app)
    cold = await answers(source)
    first, second = rollup_at(app, NOWS[1], 400), rollup_at(app, NOWS[1], 400)

    folded = await asyncio.gather(first.work(), second.work(), first.work(), second.work())

    # Up to 2026-12-30: the 31st ends at midnight, not an hour before the clock.
    assert sum(folded) == (date(2026, 12, 30) - date(2025, 6, 1)).days + 1
    assert await answers(source) == cold


async def test_a_rebuild_counts_again_what_changed_under_the_rollup(
    known: None, app: Starlette, db: Session
) -> None:
    source = source_of(app)
    rollup = rollup_at(app, NOWS[1])
    await rollup.rebuild()
    # A repair the roll-up cannot see by itself: a household put in another commune.
    db.execute(text("UPDATE households SET commune = 'Tchaourou'"))
    db.commit()
    stale = await answers(source)

    await rollup.rebuild()

    assert await answers(source) != stale
    enrolment = await figures.enrolment(source, ADMIN, Filters())
    assert [row["key"] for row in enrolment["by_commune"]] == ["Tchaourou"]


async def test_the_rebuild_command_folds_every_closed_day(
    known: None, app: Starlette, db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(settings.data_dir))
    cold = await answers(source_of(app))

    # The command runs its own event loop: off this test's loop, as from a shell.
    status = await asyncio.to_thread(cli.main, ["stats", "rebuild"], now=lambda: NOWS[0])

    assert status == 0
    assert "rebuilt: 528 days" in capsys.readouterr().out
    assert db.scalar(select(models.RollupMark.rolled_until)) == date(2026, 11, 10)
    assert await answers(source_of(app)) == cold
