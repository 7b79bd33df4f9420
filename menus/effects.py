"""What a journey asks the host to do, and what the host answers.

Effects are values: the engine emits one, the gateway applies it (in a database
transaction, idempotently) and hands back a JSON-friendly result for the next screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict, Union


@dataclass(frozen=True)
class PersonDraft:
    last_name: str
    first_names: str
    sex: str  # "M" or "F"
    birth_date: str  # ISO date; 1 January when only the year is known
    birth_year_only: bool
    relationship: str  # head, spouse, child, parent, other
    occupation: str | None = None
    national_id: str | None = None


@dataclass(frozen=True)
class EnrolHousehold:
    mutual_code: str
    product_code: str
    phone: str
    language: str
    head: PersonDraft
    dependants: tuple[PersonDraft, ...]
    channel: str = "ussd"
    category: str | None = None  # e.g. "indigent", set by agents and imports, never by the caller
    agent_id: int | None = None  # the field agent registering it, from the dialling phone


@dataclass(frozen=True)
class ShowHouseholdRights:
    phone: str


@dataclass(frozen=True)
class ShowMemberStatus:
    member_no: str


@dataclass(frozen=True)
class CheckEligibility:
    """A health facility's desk asks whether a patient is covered today."""

    member_no: str
    facility_id: int  # set by the gateway from the dialling phone, never typed


@dataclass(frozen=True)
class RememberLanguage:
    phone: str
    language: str


@dataclass(frozen=True)
class QuoteDue:
    member_no: str


@dataclass(frozen=True)
class StartPayment:
    member_no: str
    amount: int
    payer_phone: str


Effect = Union[  # noqa: UP007
    EnrolHousehold,
    ShowHouseholdRights,
    ShowMemberStatus,
    CheckEligibility,
    RememberLanguage,
    QuoteDue,
    StartPayment,
]


class EnrolResult(TypedDict):
    outcome: str  # enrolled, duplicate, closed, full, unknown_product
    member_no: str
    premium_due: int
    persons: int
    opens_on: str | None


class CoverageView(TypedDict):
    status: str  # pending_payment, waiting, active, grace, lapsed, cancelled
    start: str | None
    end: str | None
    amount_due: int
    amount_paid: int


class MemberLine(TypedDict):
    member_no: str
    first_names: str
    initial: str


class RightsResult(TypedDict):
    found: bool
    members: list[MemberLine]
    coverage: CoverageView | None


class StatusResult(TypedDict):
    found: bool
    member_no: str
    initial: str
    coverage: CoverageView | None


class EligibilityResult(TypedDict):
    outcome: str  # covered, not_covered, unknown_member, bad_number, register_unavailable
    member_no: str
    status: str | None  # pending_payment, waiting, active, grace, lapsed, cancelled, none
    end: str | None  # ISO day cover ends
    grace_until: str | None  # ISO day a cover in its grace period is still honoured until
    waiting_until: str | None  # ISO day the waiting period ends
    copay_percent: int | None
    first_name: str
    initial: str
    source: str  # local, register


class DueResult(TypedDict):
    found: bool
    member_no: str
    initial: str
    amount_due: int


class PaymentStarted(TypedDict):
    outcome: (
        str  # started, no_provider, nothing_due, above_due, bad_amount, unknown_member, no_period
    )
    amount: int
