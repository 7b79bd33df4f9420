"""The dashboard's figures cache (gateway/stats/board.py): kept for a minute per figure,
scope and filters, computed once for staff asking together, kept warm by the worker,
and never in the way when Redis is not there."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from db.values import StaffRole
from gateway.enrolment.service import EnrolmentService
from gateway.staff.scope import Scope
from gateway.stats import board as board_module
from gateway.stats.board import VIEWS, Board
from gateway.stats.filters import Filters
from gateway.stats.selection import Source
from tests.support.gateway import shared
from tests.support.households import enrol_household

ADMIN = Scope(StaffRole.CENTRAL_ADMIN, None)
PARAKOU = Scope(StaffRole.MUTUAL_MANAGER, "RMS-BJ/ZS-PARAKOU/MS-PARAKOU")


def make_board(app: Starlette, keep_seconds: int = 60, redis: Redis | None = None) -> Board:
    runtime = shared(app)
    return Board(
        Source(runtime.dashboard_sessions, runtime.settings.timezone),
        redis or runtime.redis,
        runtime.now,
        keep_seconds=keep_seconds,
        warm_every=0.0,
    )


@pytest.fixture
def computations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The real figures, counted as they are computed."""
    done: list[str] = []
    for name, figure in list(board_module.FIGURES.items()):

        async def counted(*args: Any, _name: str = name, _figure: Any = figure) -> Any:
            done.append(_name)
            return await _figure(*args)

        monkeypatch.setitem(board_module.FIGURES, name, counted)
    yield done


async def households(board: Board, scope: Scope = ADMIN, **filters: Any) -> int:
    return int((await board.figure("overview", scope, Filters(**filters))).figures["households"])


async def test_a_figure_is_kept_until_it_is_counted_again(
    app: Starlette, clean: None, enrolment: EnrolmentService, computations: list[str]
) -> None:
    board = make_board(app)
    await enrol_household(enrolment, "+2290197000801")
    first = await board.figure("overview", ADMIN, Filters())
    assert first.figures["households"] == 1
    await enrol_household(enrolment, "+2290197000802")
    again = await board.figure("overview", ADMIN, Filters())
    assert again.figures == first.figures and again.computed_at == first.computed_at
    assert computations == ["overview"]
    # Another scope, other filters: counted on their own.
    assert await households(board, PARAKOU) == 2
    assert await households(board, ADMIN, channel="agent") == 0
    assert computations == ["overview"] * 3
    # The worker's round counts every view in use again.
    assert await board.work() == 3
    assert await households(board) == 2


async def test_staff_asking_together_share_one_count(
    app: Starlette, clean: None, enrolment: EnrolmentService, computations: list[str]
) -> None:
    await enrol_household(enrolment, "+2290197000801")
    board = make_board(app)
    answers = await asyncio.gather(*(households(board) for _ in range(8)))
    assert answers == [1] * 8
    assert computations == ["overview"]


async def test_without_a_cache_every_request_counts(
    app: Starlette, clean: None, enrolment: EnrolmentService, computations: list[str]
) -> None:
    board = make_board(app, keep_seconds=0)
    assert await households(board) == 0
    await enrol_household(enrolment, "+2290197000801")
    assert await households(board) == 1
    assert await board.work() == 0
    assert computations == ["overview", "overview"]


async def test_redis_down_costs_only_the_cache(
    app: Starlette, clean: None, enrolment: EnrolmentService
) -> None:
    await enrol_household(enrolment, "+2290197000801")
    gone = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        assert await households(make_board(app, redis=gone)) == 1
    finally:
        await gone.aclose()


async def test_views_unused_for_ten_minutes_are_no_longer_warmed(
    app: Starlette, clean: None, computations: list[str]
) -> None:
    board = make_board(app)
    await households(board)
    redis = shared(app).redis
    a_while_ago = datetime.now().timestamp() - 601
    (view,) = await redis.zrange(VIEWS, 0, -1)
    await redis.zadd(VIEWS, {view: a_while_ago})
    assert await board.work() == 0
    assert await redis.zcard(VIEWS) == 0


async def test_one_worker_warms_per_round(app: Starlette, clean: None) -> None:
    one, other = make_board(app), make_board(app)
    await households(one)
    assert await one.work() == 1
    assert await other.work() == 0  # the round is taken
