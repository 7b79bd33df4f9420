"""The central beneficiary register: one interface, one module per kind of register.

The implementations (``openimis.OpenImisRegister``, ``dci.DciRegister``) are imported from
their own modules, so that loading the interface loads no vendor code.
"""

from adapters.register.base import (
    CentralRegister,
    Eligibility,
    PushResult,
    RegisterEligibility,
    RegisterPerson,
)
from adapters.register.errors import (
    RegisterError,
    RegisterMalformedAnswer,
    RegisterRejected,
    RegisterUnavailable,
    RegisterUnsupported,
)
from adapters.register.events import (
    BirthDate,
    CoverageRecord,
    EventKind,
    HouseholdRecord,
    MemberRecord,
    PaymentRecord,
    RegisterEvent,
    Sex,
)

__all__ = [
    "BirthDate",
    "CentralRegister",
    "CoverageRecord",
    "Eligibility",
    "EventKind",
    "HouseholdRecord",
    "MemberRecord",
    "PaymentRecord",
    "PushResult",
    "RegisterEligibility",
    "RegisterError",
    "RegisterEvent",
    "RegisterMalformedAnswer",
    "RegisterPerson",
    "RegisterRejected",
    "RegisterUnavailable",
    "RegisterUnsupported",
    "Sex",
]
