"""What the gateway tells the central register, as plain data.

An event carries the whole current state of what it touches (the household and, for coverage
and payment events, the coverage period with every payment so far), never a diff. An adapter
can then apply any event as an upsert: a retry, a replay or two events arriving out of order
never leave the register knowing less than the gateway.

Example (a household of two enrolling; the ids come from no earlier push)::

    RegisterEvent(
        event_id="0b6f...", kind=EventKind.HOUSEHOLD_ENROLLED,
        occurred_at=datetime(2026, 11, 23, 9, 40, tzinfo=UTC),
        household=HouseholdRecord(
            reference="HH-2026-000017", mutual_code="MUT-BORGOU-01", phone="+2290197123456",
            members=(
                MemberRecord("2026000017", "ADJOVI", "Koffi", Sex.MALE, BirthDate(1985),
                             Relationship.HEAD, national_id="1234567890"),
                MemberRecord("2026000025", "ADJOVI", "Afi", Sex.FEMALE,
                             BirthDate(1990, 3, 12), Relationship.SPOUSE),
            ),
        ),
    )
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from menus.values import CoverageStatus, Relationship


class EventKind(StrEnum):
    HOUSEHOLD_ENROLLED = "household_enrolled"
    MEMBER_ADDED = "member_added"
    # Staff corrected a member (name, birth date), the contact phone, or who belongs to the
    # household (a member moved in or out). The record carries every member as they are now;
    # `member_no`, when set, names the person corrected, for the log only.
    HOUSEHOLD_UPDATED = "household_updated"
    COVERAGE_ACTIVATED = "coverage_activated"
    COVERAGE_LAPSED = "coverage_lapsed"
    PAYMENT_RECORDED = "payment_recorded"


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"


@dataclass(frozen=True)
class BirthDate:
    """A date of birth; many members only know their year."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if (self.month is None) != (self.day is None):
            raise ValueError("give both month and day of birth, or neither")
        dt.date(self.year, self.month or 1, self.day or 1)  # raises on an impossible date

    @property
    def year_only(self) -> bool:
        return self.month is None

    def isoformat(self) -> str:
        """ISO 8601 at the precision known: "1985" or "1985-03-12"."""
        return f"{self.year:04d}" if self.year_only else self.as_date().isoformat()

    def as_date(self) -> dt.date:
        """A full date, on 1 January when only the year is known."""
        return dt.date(self.year, self.month or 1, self.day or 1)

    @classmethod
    def parse(cls, text: str) -> BirthDate:
        """Read "YYYY", "YYYY-MM-DD" or the date part of an ISO timestamp."""
        if len(text) == 4 and text.isdigit():
            return cls(int(text))
        day = dt.date.fromisoformat(text[:10])
        return cls(day.year, day.month, day.day)


@dataclass(frozen=True)
class MemberRecord:
    member_no: str
    family_name: str
    given_names: str
    sex: Sex
    birth_date: BirthDate
    relationship: Relationship
    national_id: str | None = None  # Benin's NPI
    phone: str | None = None  # E.164, the member's own phone if they have one


@dataclass(frozen=True)
class LeftMember:
    """A member dropped from the household (at a renewal): gone, or dead."""

    member: MemberRecord
    left_on: dt.date
    died: bool = False


@dataclass(frozen=True)
class HouseholdRecord:
    reference: str  # the gateway's own household reference
    mutual_code: str
    members: tuple[MemberRecord, ...]  # every current member, head included
    phone: str | None = None  # E.164 contact phone of the household
    # Where the household lives, as the gateway records it; a register maps these names
    # to its own places (openIMIS: OPENIMIS_LOCATIONS).
    commune: str | None = None
    village: str | None = None
    # household_updated only: the members who left it, for registers that keep a status per
    # person (DCI); the others ignore them.
    left: tuple[LeftMember, ...] = ()

    def __post_init__(self) -> None:
        heads = [m for m in self.members if m.relationship is Relationship.HEAD]
        if len(heads) != 1:
            raise ValueError(f"household {self.reference} needs exactly one head")
        numbers = [m.member_no for m in self.members]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"household {self.reference} repeats a member number")

    @property
    def head(self) -> MemberRecord:
        return next(m for m in self.members if m.relationship is Relationship.HEAD)

    def member(self, member_no: str) -> MemberRecord:
        for member in self.members:
            if member.member_no == member_no:
                return member
        raise KeyError(member_no)


@dataclass(frozen=True)
class PaymentRecord:
    reference: str  # the gateway's payment UUID
    amount: int  # whole francs: XOF has no minor unit
    paid_on: dt.date
    provider: str  # "mtn_momo", "fedapay", "cash"...
    currency: str = "XOF"
    provider_transaction_id: str | None = None
    payer_phone: str | None = None


@dataclass(frozen=True)
class CoverageRecord:
    """One coverage period (policy) of a household, with every payment made towards it."""

    reference: str  # the gateway's coverage-period id
    product_code: str
    status: CoverageStatus
    enrolled_on: dt.date
    start: dt.date  # first day care is covered, after the waiting period
    end: dt.date  # last day of cover, before any grace period
    premium_due: int  # XOF for the whole period
    payments: tuple[PaymentRecord, ...] = ()
    renewal: bool = False

    @property
    def amount_paid(self) -> int:
        return sum(p.amount for p in self.payments)


_NEEDS_COVERAGE = frozenset(
    {EventKind.COVERAGE_ACTIVATED, EventKind.COVERAGE_LAPSED, EventKind.PAYMENT_RECORDED}
)


@dataclass(frozen=True)
class RegisterEvent:
    """One thing that happened, waiting in the outbox to reach the central register."""

    event_id: str  # the outbox id: stable across retries
    kind: EventKind
    household: HouseholdRecord
    occurred_at: dt.datetime
    coverage: CoverageRecord | None = None
    member_no: str | None = None  # member_added: who joined; household_updated: who changed
    payment_reference: str | None = None  # payment_recorded: which payment is new
    # Register ids stored from earlier pushes (PushResult.register_ids), so a retry updates
    # what exists instead of creating it again.
    known_ids: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "known_ids", MappingProxyType(dict(self.known_ids)))
        if self.kind in _NEEDS_COVERAGE and self.coverage is None:
            raise ValueError(f"{self.kind} needs the coverage period")
        if self.kind is EventKind.MEMBER_ADDED:
            if self.member_no is None:
                raise ValueError("member_added needs the new member's number")
            self.household.member(self.member_no)
        if self.kind is EventKind.PAYMENT_RECORDED:
            assert self.coverage is not None
            if self.payment_reference not in {p.reference for p in self.coverage.payments}:
                raise ValueError("payment_recorded needs the payment among the period's payments")
