"""Field agents for tests, made through the same service as `alafia agents add`."""

from __future__ import annotations

from sqlalchemy import update
from starlette.applications import Starlette

from db import models
from gateway.agents.accounts import Agents
from gateway.agents.activation import Activation
from gateway.secrets_kdf import hash_secret
from tests.support.gateway import shared


async def add_agent(
    app: Starlette, phone: str, name: str, mutual: str, pin: str | None = None
) -> int:
    """An agent of `mutual`; with `pin`, one who has already chosen it."""
    return (await new_agent(app, phone, name, mutual, pin)).agent_id


async def new_agent(
    app: Starlette, phone: str, name: str, mutual: str, pin: str | None = None
) -> Activation:
    """As `add_agent`, with the activation code staff were given (used up with `pin`)."""
    runtime = shared(app)
    added = await Agents(runtime.sessions, runtime.now).add(phone, name, mutual, "cli:test")
    if pin is not None:
        async with runtime.sessions() as session, session.begin():
            await session.execute(
                update(models.Agent)
                .where(models.Agent.id == added.agent_id)
                .values(pin_hash=hash_secret(pin), activation_hash=None, activation_expires_at=None)
            )
    return added
