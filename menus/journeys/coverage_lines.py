"""How a coverage period reads on a screen, shared by the rights journeys."""

from __future__ import annotations

from datetime import date
from typing import Any

from menus.text import Money, T, Text
from menus.values import CoverageStatus

# The grounds (db.values.CoverGround) on which a free-care sponsor pays a person's
# premium; "member" is the ordinary case and goes unsaid.
FREE_CARE_GROUNDS = ("under_five", "pregnancy", "indigent")


def coverage_lines(coverage: dict[str, Any] | None, show_amount: bool = True) -> list[Text]:
    """`show_amount` is False for someone else's number: what a household owes tells
    its size, which is not for a stranger to learn."""
    if coverage is None:
        return [T("status_none")]
    lines: list[Text] = [T("coverage_status", {"status": T(f"status_{coverage['status']}")})]
    if coverage["status"] == CoverageStatus.WAITING and coverage["start"]:
        lines.append(T("coverage_from", {"date": date.fromisoformat(coverage["start"])}))
    elif coverage["end"] and coverage["status"] in (
        CoverageStatus.ACTIVE,
        CoverageStatus.GRACE,
        CoverageStatus.LAPSED,
    ):
        lines.append(T("coverage_until", {"date": date.fromisoformat(coverage["end"])}))
    if show_amount and coverage.get("amount_paid", 0) > 0:
        lines.append(T("amount_paid", {"amount": Money(coverage["amount_paid"])}))
    if show_amount and coverage["amount_due"] > 0:
        lines.append(T("amount_due", {"amount": Money(coverage["amount_due"])}))
    return lines
