"""Households and their cover: enrolment (written once, with its SMS and register event),
renewal (the next cover year, members brought up to date) and what a household or
member is entitled to on a day."""

from __future__ import annotations

from gateway.capability import Built, Capability
from gateway.enrolment.entitlements import RightsService
from gateway.enrolment.renewal import RenewalService
from gateway.enrolment.service import EnrolmentService
from gateway.infrastructure import Shared
from gateway.sms.capability import Sms


class Enrolment(Capability):
    name = "enrolment"

    def __init__(self, shared: Shared, built: Built) -> None:
        super().__init__(shared, built)
        self.service = EnrolmentService(shared.sync_sessions, built.get(Sms).outbox, shared.now)
        self.renewal = RenewalService(shared.sync_sessions, built.get(Sms).outbox, shared.now)
        self.rights = RightsService(shared.sessions)
