"""Field agents for tests, made through the same service as `alafia agents add`."""

from __future__ import annotations

from sqlalchemy import update
from starlette.applications import Starlette

from db import models
from gateway.agents.accounts import Agents
from gateway.secrets_kdf import hash_secret
from gateway.ussd.capability import Ussd
from tests.support.gateway import part, shared


async def add_agent(
    app: Starlette, phone: str, name: str, mutual: str, pin: str | None = None
) -> int:
    """An agent of `mutual`; with `pin`, one who has already chosen it."""
    runtime = shared(app)
    agent_id = await Agents(runtime.sessions, runtime.now).add(phone, name, mutual, "cli:test")
    if pin is not None:
        async with runtime.sessions() as session, session.begin():
            await session.execute(
                update(models.Agent)
                .where(models.Agent.id == agent_id)
                .values(pin_hash=hash_secret(pin))
            )
    part(app, Ussd).service.callers.forget_known_phones()  # seen on the next dial, not in 60 s
    return agent_id
