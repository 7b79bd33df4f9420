"""The central register and health facilities: events pushed through the outbox,
eligibility answered by REST, FHIR, USSD and SMS, and `alafia register|facilities ...`."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version

from starlette.routing import BaseRoute

from gateway.capability import Built, Capability, Job
from gateway.infrastructure import Shared
from gateway.register import commands, registers, routes
from gateway.register.eligibility import EligibilityService
from gateway.register.facilities import Facilities
from gateway.register.fhir import routes as fhir_routes
from gateway.register.fhir.eligibility import Publisher
from gateway.register.sync import RegisterQueue, RegisterSync

# The insurer an answer of the central register names (it does not say which mutual).
REGISTER_NAMES = {"openimis": "openIMIS", "dci": "social registry (DCI)"}


class Register(Capability):
    name = "register"

    def __init__(self, shared: Shared, built: Built) -> None:
        super().__init__(shared, built)
        settings = shared.settings.register
        self.adapter = registers.build(settings, shared.sessions)
        self.sync = RegisterSync(
            shared.sessions,
            self.adapter,
            shared.now,
            max_attempts=settings.max_attempts,
            concurrency=settings.concurrency,
            indigence=registers.indigence_check(self.adapter, settings, shared),
        )
        self.queue = RegisterQueue(shared.sessions, shared.now)
        self.facilities = Facilities(shared.sessions, shared.now)
        self.eligibility = EligibilityService(
            shared.sessions, self.adapter, shared.now, shared.redis, shared.reads
        )

    def routes(self) -> Sequence[BaseRoute]:
        checks = routes.EligibilityApi(
            self.facilities,
            self.eligibility,
            self.shared.now,
            self.shared.limits.eligibility,
        )
        settings = self.shared.settings
        endpoint = f"{settings.payments.public_base_url}/fhir"
        fhir = fhir_routes.FhirApi(
            checks,
            Publisher(
                base=settings.register.fhir_canonical_base or endpoint,
                register=REGISTER_NAMES.get(settings.register.adapter, "central register"),
            ),
            endpoint=endpoint,
            version=version("alafia"),
        )
        return [*routes.routes(checks), *fhir_routes.routes(fhir)]

    def jobs(self) -> Sequence[Job]:
        # Bounded: a register that hangs must not hold the payments and SMS of the round.
        return [Job("register.sync", self.sync.work, time_limit=300)]

    async def start(self) -> None:
        # Every process drains the check log: serving ones what they pushed, the worker
        # what a process that is gone left behind.
        self.eligibility.log.start()

    async def stop(self) -> None:
        await self.eligibility.log.aclose()  # checks answered are logged before we go
        await self.adapter.aclose()

    add_commands = staticmethod(commands.add_commands)
