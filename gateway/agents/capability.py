"""Field agents: their PIN, what they do for households on the short code, their cash,
and `alafia agents ...`."""

from __future__ import annotations

from gateway.agents import commands
from gateway.agents.desk import AgentDesk
from gateway.agents.pins import AgentPins
from gateway.capability import Built, Capability
from gateway.infrastructure import Shared
from gateway.payments.capability import Payments
from gateway.sms.capability import Sms


class Agents(Capability):
    name = "agents"

    def __init__(self, shared: Shared, built: Built) -> None:
        super().__init__(shared, built)
        self.pins = AgentPins(shared.sessions, shared.now)
        self.desk = AgentDesk(
            shared.sessions, built.get(Payments).ledger, built.get(Sms).outbox, shared.now
        )

    add_commands = staticmethod(commands.add_commands)
