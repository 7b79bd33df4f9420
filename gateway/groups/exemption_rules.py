"""The rules of an exemption's dates (a pregnancy has an end, at most 300 days away),
shared by the staff desk and the household import."""

from __future__ import annotations

from datetime import date

from db.values import ExemptionGround

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
