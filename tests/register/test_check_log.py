"""The check log between the answer and the table: rows queued in Redis are written in
batches, a batch a dead process had claimed is put back and written (at least once),
and a row the table refuses is dropped alone instead of blocking the rest."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from gateway.register import check_log
from gateway.register.capability import Register
from gateway.register.check_log import CheckLog
from tests.conftest import TODAY
from tests.register.test_eligibility import UNKNOWN, add_facility, checks, rest
from tests.support.clock import ZONE
from tests.support.gateway import part, shared


@pytest.fixture
async def paused(app: Starlette) -> AsyncIterator[CheckLog]:
    """The app's check log with its background drain stopped: the test drains by hand."""
    log = part(app, Register).eligibility.log
    drainer = log._drainer
    if drainer is not None:
        # Bounded: the session app's task may belong to the loop its lifespan ran in.
        drainer.cancel()
        await asyncio.wait([drainer], timeout=1)
        log._drainer = None
    yield log
    log._drainer = drainer  # left to the app's stop, which cancels it (bounded) again


def row(facility_id: int, member_no: str = UNKNOWN) -> dict[str, object]:
    return {
        "facility_id": facility_id,
        "member_no": member_no,
        "on": TODAY,
        "channel": "api",
        "outcome": "unknown_member",
        "source": "local",
        "checked_at": datetime(2026, 11, 23, 9, 0, tzinfo=ZONE),
    }


async def test_a_batch_a_dead_process_claimed_is_written_after_all(
    app: Starlette, client: httpx.AsyncClient, db: Session, paused: CheckLog
) -> None:
    facility, key = await add_facility(app)
    log = paused
    redis = shared(app).redis
    for _ in range(3):
        await rest(client, UNKNOWN, key)
    # A process claims the three rows, then dies before its INSERT.
    claim = uuid.uuid4().hex
    claimed = await log._claim(
        keys=[check_log.QUEUE, check_log.CLAIM + claim, check_log.CLAIMS],
        args=[check_log.BATCH, claim, time.time()],
    )
    assert len(claimed) == 3
    assert await log.flush() == 0  # nothing left in the list: the rows are claimed
    assert checks(db) == []

    assert await log.rescue() == 0  # a claim younger than STALE may still be at work
    assert await log.rescue(older_than=0) == 3
    assert await log.flush() == 3
    assert [c[1] for c in checks(db)] == [UNKNOWN] * 3
    assert await redis.hlen(check_log.CLAIMS) == 0
    assert await redis.llen(check_log.QUEUE) == 0
    assert facility.id == checks(db)[0][0]


async def test_a_row_the_table_refuses_is_dropped_alone(
    app: Starlette, client: httpx.AsyncClient, db: Session, paused: CheckLog
) -> None:
    facility, _ = await add_facility(app)
    log = paused
    gone = int(db.execute(text("SELECT coalesce(max(id), 0) + 1000 FROM facilities")).scalar_one())
    for facility_id in (facility.id, gone, facility.id):
        await log.add(row(facility_id))
    assert await log.flush() == 3
    assert [c[0] for c in checks(db)] == [facility.id, facility.id]
