"""Every capability of the gateway, in the order they are built (each may use those above
it). The app, the worker and the CLI loop over this list: a new capability is a package
with a `capability.py` and one line here (docs/architecture.md)."""

from __future__ import annotations

from gateway.agents.capability import Agents
from gateway.backups.capability import Backups
from gateway.capability import Capability
from gateway.catalogues.capability import Catalogues
from gateway.enrolment.capability import Enrolment
from gateway.groups.capability import Groups
from gateway.imports.capability import Imports
from gateway.metrics.capability import Metrics
from gateway.payments.capability import Payments
from gateway.register.capability import Register
from gateway.scheme.capability import Scheme
from gateway.simulator.capability import Simulator
from gateway.sms.capability import Sms
from gateway.staff.capability import Staff
from gateway.transcriptions.capability import Transcriptions
from gateway.ussd.capability import Ussd
from gateway.voice.capability import Voice

CAPABILITIES: tuple[type[Capability], ...] = (
    Metrics,
    Scheme,
    Register,
    Sms,
    Payments,
    Enrolment,
    Agents,
    Ussd,
    Voice,
    Staff,
    Groups,
    Simulator,
    Transcriptions,
    Imports,
    Backups,
    Catalogues,
)
