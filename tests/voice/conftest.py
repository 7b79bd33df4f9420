"""A gateway served over real HTTP, called by a local Africa's Talking Voice
(tests/peers/at_voice.py) exactly as the provider calls it, with MTN MoMo played by its
local peer so that the pay menu is offered."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import Clock
from tests.metrics.scraping import TOKEN as METRICS_TOKEN
from tests.payments.test_momo_flow import momo_environ
from tests.peers.at_voice import AtVoice, Call
from tests.peers.momo import MomoPeer
from tests.support.http_server import free_port, serve

TOKEN = "at-voice-Qm3x8Lp1Zr6Tw"
CALLBACK_NUMBER = "21 30 00 00"


@dataclass(frozen=True)
class VoiceGateway:
    base_url: str
    app: Starlette
    provider: AtVoice
    prompts: Path  # VOICE_PROMPTS_DIR

    @property
    def voice_url(self) -> str:
        """The callback URL set on the provider's number."""
        return f"{self.base_url}/voice?token={TOKEN}"


@pytest.fixture(scope="module")
def voice_gateway(
    settings: Settings, clock: Clock, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VoiceGateway]:
    momo, provider = MomoPeer(), AtVoice()
    prompts = tmp_path_factory.mktemp("prompts")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with serve(momo.app) as momo_url, serve(provider.app) as provider_url:
        provider.base_url = provider_url
        read = Settings.from_env(
            {
                **momo_environ((momo, momo_url)),
                "PAYMENT_PROVIDER": "momo",
                "PUBLIC_BASE_URL": base_url,
                "VOICE_PROMPTS_DIR": str(prompts),
                "VOICE_CALLBACK_NUMBER": CALLBACK_NUMBER,
            }
        )
        voiced = dataclasses.replace(
            settings,
            payments=read.payments,
            voice=read.voice,
            sms=dataclasses.replace(settings.sms, callback_token=TOKEN),
            metrics=dataclasses.replace(settings.metrics, token=METRICS_TOKEN),
        )
        app = create_app(voiced, clock)
        with serve(app, port):
            yield VoiceGateway(base_url, app, provider, prompts)


@pytest.fixture
async def http(voice_gateway: VoiceGateway, clean: None) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=20) as client:
        yield client


@pytest.fixture
def phone(voice_gateway: VoiceGateway, http: httpx.AsyncClient) -> Callable[[str], Call]:
    """A call from `number` to the gateway's voice number."""
    return lambda number: voice_gateway.provider.call(http, voice_gateway.voice_url, number)
