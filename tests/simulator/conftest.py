"""What the simulator's tests share: gateways with the callbacks' secrets set (so that a
hop reaching /ussd proves the simulator added the token), in the demo's or production's
mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from starlette.applications import Starlette

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import Clock

USSD_TOKEN = "ussd-secret-for-the-simulator-tests"
AT_TOKEN = "at-secret-for-the-simulator-tests"
TRAINING_PREFIX = "+22901990"
TRAINING_PHONE = "+2290199000101"
AT_NETWORK = "196.201.214.0/24"


def gateway_settings(
    database_url: str, redis_url: str, data_dir: Path, *, demo: bool, **extra: str
) -> Settings:
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "ALAFIA_DATA_DIR": str(data_dir),
            "SCHEME_REFRESH_SECONDS": "1",
            "USSD_CALLBACK_TOKEN": USSD_TOKEN,
            "AT_CALLBACK_TOKEN": AT_TOKEN,
            **extra,
        }
    )
    if demo:  # as `alafia demo` sets it (gateway/programs.py)
        return replace(settings, simulator=replace(settings.simulator, open_without_login=True))
    return settings


@asynccontextmanager
async def running(settings: Settings, clock: Clock) -> AsyncIterator[Starlette]:
    application = create_app(settings, clock)
    async with application.router.lifespan_context(application):
        yield application
