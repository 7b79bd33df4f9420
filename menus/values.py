"""The domain's closed sets of words that the menus speak too, each named once: the
innermost place, so that the engine, the gateway, the adapters and the database all
import them from here. A member *is* its string (`CoverageStatus.ACTIVE == "active"`)."""

from __future__ import annotations

from enum import StrEnum

# A household or member with no cover period at all, where a status is expected.
NO_PERIOD = "none"


class Channel(StrEnum):
    """Where an enrolment or a payment came from (`households.channel`,
    `payments.channel`)."""

    USSD = "ussd"  # the household itself, on the short code
    AGENT = "agent"  # a field agent, on the short code
    IMPORT = "import"  # a file of households (`alafia import households`)
    VOICE = "voice"  # the household itself, on a call (`POST /voice`)
    BULK = "bulk"  # a sponsored year opened by `alafia renew` (cover periods only)


class CheckOutcome(StrEnum):
    """What an eligibility check answered (`eligibility_checks.outcome`): the register's
    own answers, and what only the gateway can say (a mistyped number, a register that
    did not answer)."""

    COVERED = "covered"
    NOT_COVERED = "not_covered"
    UNKNOWN_MEMBER = "unknown_member"
    BAD_NUMBER = "bad_number"
    REGISTER_UNAVAILABLE = "register_unavailable"


class CheckSource(StrEnum):
    """Whose data answered an eligibility check (`eligibility_checks.source`)."""

    LOCAL = "local"  # the gateway's own
    REGISTER = "register"  # the central register's


class Relationship(StrEnum):
    """A member's relationship to the head of the household."""

    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    OTHER = "other"


class CoverageStatus(StrEnum):
    """Where a coverage period stands (see DESIGN §2)."""

    PENDING_PAYMENT = "pending_payment"
    WAITING = "waiting"
    ACTIVE = "active"
    GRACE = "grace"
    LAPSED = "lapsed"
    CANCELLED = "cancelled"

    @property
    def covers_care(self) -> bool:
        # Rights close only when the grace period is over ("droits fermés").
        return self in (CoverageStatus.ACTIVE, CoverageStatus.GRACE)
