"""Fixtures of the management pages' tests: a browser per staff member."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from starlette.applications import Starlette

from tests.staff.web import StaffBrowser, open_browser

OpenAs = Callable[[str, str | None], Awaitable[StaffBrowser]]


@pytest.fixture
async def staff_as(app: Starlette, clean: None) -> AsyncIterator[OpenAs]:
    """`await staff_as(MUTUAL_MANAGER, "MS-PARAKOU")`: a new account of that role and
    scope, logged in in a browser of its own."""
    opened: list[StaffBrowser] = []
    numbers = itertools.count(1)

    async def open_as(role: str, scope: str | None) -> StaffBrowser:
        browser = await open_browser(app, role, scope, next(numbers))
        opened.append(browser)
        return browser

    yield open_as
    for browser in opened:
        await browser.http.aclose()
