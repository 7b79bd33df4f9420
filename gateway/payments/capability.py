"""Premiums: the ledger, mobile-money providers and their callbacks, the demo's sandbox,
sponsors' shares, and `alafia payments|sponsors ...`."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Mount

from gateway.capability import Built, Capability, Job
from gateway.infrastructure import Shared
from gateway.payments import commands, providers
from gateway.payments.callbacks import PaymentCallbacks
from gateway.payments.ledger import Billing
from gateway.payments.sandbox import sandbox_app
from gateway.payments.service import PaymentsService
from gateway.sms.capability import Sms


class Payments(Capability):
    name = "payments"

    def __init__(self, shared: Shared, built: Built) -> None:
        super().__init__(shared, built)
        settings = shared.settings.payments
        self.ledger = Billing(
            shared.sessions, shared.settings.timezone, shared.now, built.get(Sms).outbox
        )
        self.providers = providers.build(settings)
        self.service = PaymentsService(
            self.ledger, self.providers, settings, prompts=shared.limits.payment_prompts
        )
        self.callbacks = PaymentCallbacks(self.ledger, settings.fedapay_webhook_secrets)
        # The demo's MoMo look-alike, served by this very process (it calls us back).
        self.sandbox = sandbox_app() if settings.default_provider == providers.SANDBOX else None

    def routes(self) -> Sequence[BaseRoute]:
        mounted = [Mount(providers.SANDBOX_MOUNT, app=self.sandbox)] if self.sandbox else []
        return [*self.callbacks.routes(), *mounted]

    def jobs(self) -> Sequence[Job]:
        # Each provider call has its own timeout; the limit bounds a round of them.
        return [Job("payments", self.service.work, time_limit=300)]

    async def stop(self) -> None:
        if self.sandbox is not None:  # Starlette runs no lifespan for a mounted app
            await self.sandbox.state.sandbox.aclose()
        await self.providers.aclose()

    add_commands = staticmethod(commands.add_commands)
