"""The one interface the gateway has to a central beneficiary register, and what it returns.

The gateway never waits for the register: events are recorded locally and pushed later from
an outbox. What an adapter raises (see ``errors``) tells the outbox whether to retry, to
dead-letter, or to mark the event as not applicable to this register.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from adapters.register.events import BirthDate, RegisterEvent, Sex


@dataclass(frozen=True)
class PushResult:
    """Every register id known after the push: the earlier ones plus any just assigned.

    The caller stores the whole map and hands it back as ``RegisterEvent.known_ids`` on the
    next event of the same household, e.g. ``{"group": "7d1e...", "patient:2026000017":
    "3ea4...", "contract:CP-2026-0042": "5c1d..."}``.
    """

    register_ids: Mapping[str, str]


@dataclass(frozen=True)
class RegisterPerson:
    """A person as the register knows them."""

    register_id: str | None  # None where the register exposes no id of its own (DCI)
    member_no: str | None
    national_id: str | None
    family_name: str
    given_names: str
    sex: Sex | None
    birth_date: BirthDate | None
    phone: str | None = None
    is_head: bool | None = None


class Eligibility(StrEnum):
    COVERED = "covered"
    NOT_COVERED = "not_covered"
    UNKNOWN_MEMBER = "unknown_member"


@dataclass(frozen=True)
class RegisterEligibility:
    """The register's answer to "is this member covered on this day?"."""

    member_no: str
    on: dt.date
    status: Eligibility
    # The period the answer rests on, when the register says: the covering one, or else the
    # latest it knows (so a health worker can say "expired on 31/12").
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    coverage_ref: str | None = None

    @property
    def covered(self) -> bool:
        return self.status is Eligibility.COVERED


class CentralRegister(Protocol):
    """A central beneficiary register (openIMIS, a DCI social registry...)."""

    async def push(self, event: RegisterEvent) -> PushResult:
        """Apply the event on the register; a retry of the same event never duplicates."""
        ...

    async def find_person(
        self, national_id: str | None, member_no: str | None
    ) -> RegisterPerson | None:
        """Look a person up by national id (NPI) first, then by member number."""
        ...

    async def check_eligibility(self, member_no: str, on: dt.date) -> RegisterEligibility:
        """Ask whether the member is covered on the given day."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP connections; call once at shutdown."""
        ...
