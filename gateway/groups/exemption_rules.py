"""The rules of an exemption (pregnancy with its end, indigence), shared by the staff
desk and the household import, and the row that records one."""

from __future__ import annotations

from datetime import date, datetime

from db import models
from db.values import ExemptionGround, ExemptionSource

GROUNDS = tuple(ground.value for ground in ExemptionGround)
LONGEST_PREGNANCY_DAYS = 300  # an end date further away is a typing mistake


class ExemptionRefused(ValueError):
    """`reason` is a key of the dashboard's texts (`exemptions.error.<reason>`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason.replace("_", " "))
        self.reason = reason


def check(ground: str, starts_on: date, ends_on: date | None) -> None:
    """The rules of an exemption's dates, for staff and for the import alike."""
    if ground not in GROUNDS:
        raise ExemptionRefused("ground")
    if ends_on is not None and ends_on < starts_on:
        raise ExemptionRefused("ends_before_start")
    if ground == ExemptionGround.PREGNANCY:
        if ends_on is None:
            raise ExemptionRefused("pregnancy_needs_end")
        if (ends_on - starts_on).days > LONGEST_PREGNANCY_DAYS:
            raise ExemptionRefused("pregnancy_too_long")


def exemption_row(
    member_id: int,
    ground: str,
    source: ExemptionSource,
    starts_on: date,
    ends_on: date | None,
    by: str,
    now: datetime,
) -> models.MemberExemption:
    return models.MemberExemption(
        member_id=member_id,
        ground=ground,
        source=source,
        starts_on=starts_on,
        ends_on=ends_on,
        recorded_by=by,
        created_at=now,
    )
