"""SMS: the outbox every capability writes to, its dispatcher, reminders, Africa's
Talking's callbacks, campaigns and `alafia sms ...`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from starlette.routing import BaseRoute

from gateway.callback_guard import CallbackGuard
from gateway.capability import Built, Capability, Job
from gateway.infrastructure import Shared
from gateway.register.capability import Register
from gateway.sms import commands, senders
from gateway.sms.campaigns import Campaigns
from gateway.sms.dispatch import Dispatcher
from gateway.sms.inbound import InboundService
from gateway.sms.outbox import Outbox
from gateway.sms.reminders import Reminders
from gateway.sms.reports import Reports
from gateway.sms.routes import SmsCallbacks


class Sms(Capability):
    name = "sms"

    def __init__(self, shared: Shared, built: Built) -> None:
        super().__init__(shared, built)
        settings = shared.settings
        sms = settings.sms
        register = built.get(Register)
        self.outbox = Outbox.configured(settings)
        self.sender = senders.build(sms)
        self.dispatcher = Dispatcher(
            shared.sessions,
            self.sender,
            shared.now,
            rate=sms.rate,
            concurrency=sms.concurrency,
            give_up_after=timedelta(seconds=sms.give_up_after),
            quiet_hours=self.outbox.quiet_hours,
        )
        self.reminders = Reminders(
            shared.sessions,
            self.outbox,
            shared.now,
            premium_due_days=sms.premium_due_days,
            cover_ending_days=sms.cover_ending_days,
            every_seconds=sms.sweep_seconds,
        )
        self.inbound = InboundService(
            shared.sessions,
            self.outbox,
            shared.now,
            per_10_minutes=sms.inbound_per_10_minutes,
            country=settings.country,
            facilities=register.facilities,
            eligibility=register.eligibility,
            member_checks=shared.limits.member_checks,
        )
        self.reports = Reports(shared.sessions, shared.now)
        self.campaigns = Campaigns(shared.sessions, self.outbox, shared.now)
        self.callbacks = SmsCallbacks(
            self.reports,
            self.inbound,
            CallbackGuard(sms.callback_token, settings.callback_networks),
            settings.country,
        )

    def routes(self) -> Sequence[BaseRoute]:
        return self.callbacks.routes()

    def jobs(self) -> Sequence[Job]:
        return [
            Job("sms.dispatch", self.dispatcher.work, time_limit=120),
            Job("sms.reminders", self.reminders.work, time_limit=300),
        ]

    async def stop(self) -> None:
        await self.sender.aclose()

    add_commands = staticmethod(commands.add_commands)
