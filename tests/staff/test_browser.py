"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright, against
the real gateway served by uvicorn on a free port of 127.0.0.1 (over http: Chromium takes
the `Secure` session cookie from 127.0.0.1, as it would from localhost).

A staff member logs in through the form, sees the charts drawn, narrows the figures with
the filter form, downloads a CSV, and sends a campaign to a test segment.

Without /usr/bin/chromium (`apt-get install -y chromium`) the module is skipped, unless
ALAFIA_REQUIRE_BROWSER=1, as in CI, where a missing browser is a failure.
"""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.values import StaffRole
from gateway.app import create_app
from gateway.settings import Settings
from gateway.staff.accounts import StaffAccounts
from tests.conftest import Clock
from tests.stats import test_api as api_data
from tests.support.gateway import shared

CHROMIUM = Path("/usr/bin/chromium")
REQUIRED = os.environ.get("ALAFIA_REQUIRE_BROWSER") == "1"
MISSING = (
    f"{CHROMIUM} is absent: apt-get install -y chromium "
    "(set ALAFIA_REQUIRE_BROWSER=1 to make this a failure)"
)
if not CHROMIUM.exists() and not REQUIRED:
    pytest.skip(MISSING, allow_module_level=True)

from playwright.async_api import Browser, Page, async_playwright, expect  # noqa: E402

known = api_data.known  # five households, three of them in MS-PARAKOU
PASSWORD = "correct horse battery"
TIMEOUT_MS = 15_000  # one page of figures takes well under a second; CI machines are slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def gateway_url(settings: Settings, clock: Clock) -> Iterator[str]:
    """The whole gateway, as `alafia serve` runs it, in a thread with its own event loop
    (its database and Redis pools belong to that loop)."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, clock),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            log_config=None,  # as `alafia serve`: its lines go through the root's masking
            lifespan="on",
            loop="asyncio",
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        if not thread.is_alive():
            pytest.fail("the gateway did not start")
        threading.Event().wait(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(MISSING)
    async with async_playwright() as playwright:
        # --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser, gateway_url: str) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=gateway_url, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    tab = await context.new_page()
    yield tab
    await context.close()


async def log_in(page: Page, app: Starlette, role: str, scope: str | None) -> None:
    runtime = shared(app)
    email = f"{role}.{scope or 'all'}@navigateur.bj".lower()
    await StaffAccounts(runtime.sessions, runtime.now).add(email, role, scope, PASSWORD, "test")
    await page.goto("/admin/stats/enrolment")
    await expect(page).to_have_url(re.compile(r"/admin/login\?next=/admin/stats/enrolment$"))
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("Adhésions")


async def cells(page: Page, table: str) -> dict[str, list[str]]:
    """A table's body rows by their first cell."""
    rows = await page.locator(f'table[data-table="{table}"] tbody tr').all()
    found: dict[str, list[str]] = {}
    for row in rows:
        texts = [text.strip() for text in await row.locator("td").all_inner_texts()]
        found[texts[0]] = texts[1:]
    return found


def digits(text: str) -> int:
    return int("".join(ch for ch in text if ch.isdigit()))


async def test_log_in_see_the_charts_and_filter(page: Page, app: Starlette, known: None) -> None:
    await log_in(page, app, StaffRole.CENTRAL_ADMIN, None)

    charts = page.locator("svg.chart")
    assert await charts.count() == 5  # one per breakdown
    for index in range(await charts.count()):
        chart = charts.nth(index)
        assert await chart.locator("title").first.text_content()
        box = await chart.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 20
    assert await page.locator("#chart-enrolment_by_mutual-0 rect.bar").count() == 3
    everyone = await cells(page, "enrolment_by_mutual")
    assert {key: digits(row[1]) for key, row in everyone.items()} == {
        "MS-PARAKOU": 6,
        "MS-NDALI": 4,
        "MS-KANDI": 2,
    }

    await page.select_option("#f-mutual", "MS-PARAKOU")
    await page.select_option("#f-channel", "agent")
    await page.click(".filters button[type=submit]")

    await expect(page).to_have_url(
        re.compile(r"/admin/stats/enrolment\?.*mutual=MS-PARAKOU.*channel=agent")
    )
    assert await cells(page, "enrolment_by_mutual") == {"MS-PARAKOU": ["1", "2"]}
    assert await page.locator("#chart-enrolment_by_mutual-0 rect.bar").count() == 1

    await page.goto("/admin")
    tiles = page.locator('dl[data-table="overview"] dd')
    await expect(tiles.first).to_have_text("5")
    await page.fill("#f-from", "2026-11-01")
    await page.click(".filters button[type=submit]")
    await expect(tiles.first).to_have_text("3")  # the three November households
    assert await page.locator("#chart-timeseries-0 rect.bar").count() == 23  # 1st to 23rd


async def test_export_a_table(page: Page, app: Starlette, known: None, db: Session) -> None:
    await log_in(page, app, StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    await page.goto("/admin/stats/collection?from=2026-11-01")

    async with page.expect_download() as started:
        await page.click("#premiums_by_product .export a")
    download = await started.value
    content = Path(await download.path()).read_bytes()

    assert download.suggested_filename == "alafia-premiums_by_product-2026-11-23.csv"
    assert content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0][:3] == ["Produit", "Cotisations dues", "Cotisations payées"]
    assert {line[0]: (int(line[1]), int(line[2])) for line in lines[1:]} == {
        "FAMILLE": (4725 + 3150, 4725 + 1000),
        "SCOLAIRE": (262, 0),  # joined in November: 9 months of 350
    }
    shown = await cells(page, "premiums_by_product")
    assert digits(shown["FAMILLE"][0]) == 4725 + 3150
    db.expire_all()
    (entry,) = db.scalars(
        select(models.AuditEntry).where(models.AuditEntry.action == "export")
    ).all()
    assert entry.details["table"] == "premiums_by_product"
    assert entry.details["filters"]["from"] == "2026-11-01"


async def test_send_a_campaign_to_a_test_segment(
    page: Page, app: Starlette, known: None, db: Session
) -> None:
    await log_in(page, app, StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    await page.goto("/admin/campaigns")

    await page.select_option("#template", "campaign_pay")
    await page.select_option("#mutual", "MS-PARAKOU")
    await page.fill("#commune", "Parakou")
    await page.click("main form button[type=submit]")
    await expect(page.locator(".audience")).to_contain_text("3")
    await page.click("button.danger")

    await expect(page.locator("p.notice[role=status]")).to_contain_text("3")
    db.expire_all()
    queued = db.scalar(
        select(func.count())
        .select_from(models.Message)
        .where(models.Message.purpose == "campaign", models.Message.template == "campaign_pay")
    )
    assert queued == 3
    campaign = db.scalars(select(models.SmsCampaign)).one()
    assert (campaign.commune, campaign.recipients) == ("Parakou", 3)
