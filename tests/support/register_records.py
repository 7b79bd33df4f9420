"""A household as the central-register adapters receive it, for their tests."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from adapters.register import (
    BirthDate,
    CoverageRecord,
    EventKind,
    HouseholdRecord,
    MemberRecord,
    PaymentRecord,
    RegisterEvent,
    Sex,
)
from menus.values import CoverageStatus, Relationship

TODAY = dt.date.today()
HEAD = MemberRecord(
    member_no="2026000017",
    family_name="ADJOVI",
    given_names="Koffi",
    sex=Sex.MALE,
    birth_date=BirthDate(1985),
    relationship=Relationship.HEAD,
    national_id="1234567890",
)
SPOUSE = MemberRecord(
    member_no="2026000025",
    family_name="ADJOVI",
    given_names="Afi Reine",
    sex=Sex.FEMALE,
    birth_date=BirthDate(1990, 3, 12),
    relationship=Relationship.SPOUSE,
    phone="+2290196000001",
)
CHILD = MemberRecord(
    member_no="2026000033",
    family_name="ADJOVI",
    given_names="Sena",
    sex=Sex.FEMALE,
    birth_date=BirthDate(2019, 7, 1),
    relationship=Relationship.CHILD,
)


def household(*members: MemberRecord) -> HouseholdRecord:
    return HouseholdRecord(
        reference="HH-2026-000017",
        mutual_code="MUT-BORGOU-01",
        members=members or (HEAD, SPOUSE),
        phone="+2290197123456",
    )


def coverage(
    status: CoverageStatus,
    *,
    start: dt.date = TODAY - dt.timedelta(days=30),
    end: dt.date = TODAY + dt.timedelta(days=300),
    product: str = "FAM-2026",
    payments: tuple[PaymentRecord, ...] = (),
) -> CoverageRecord:
    return CoverageRecord(
        reference="CP-2026-0042",
        product_code=product,
        status=status,
        enrolled_on=start - dt.timedelta(days=60),
        start=start,
        end=end,
        premium_due=3150,
        payments=payments,
    )


def event(
    kind: EventKind,
    home: HouseholdRecord | None = None,
    *,
    known_ids: Mapping[str, str] | None = None,
    **fields: Any,
) -> RegisterEvent:
    return RegisterEvent(
        event_id=str(uuid.uuid4()),
        kind=kind,
        household=home or household(),
        occurred_at=dt.datetime.now(dt.UTC),
        known_ids=known_ids or {},
        **fields,
    )
