"""Premiums due and paid, and money collected: the few rows every breakdown of the
dashboard's money is rolled up from (one scan each), and how they are summed.

Premiums are those of cover years opened in the period, cancelled ones left out; money
collected is succeeded payments settled in the period (see `gateway.stats.figures`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select

from db import models
from gateway.stats import rollup
from gateway.stats.selection import Selection
from menus.values import CoverageStatus

H = models.Household
P = models.CoveragePeriod
PAY = models.Payment


async def premium_rows(session: Any, sel: Selection) -> list[Any]:
    """Premiums of the cover years opened in the period, per mutual and product: one scan
    that every breakdown of premiums is rolled up from."""
    return list(
        (
            await session.execute(
                select(
                    H.mutual_id,
                    H.product_id,
                    func.sum(P.premium_due),
                    func.sum(P.amount_paid),
                    func.sum(P.sponsor_share),
                    func.sum(P.sponsor_paid),
                )
                .select_from(P)
                .join(H, H.id == P.household_id)
                .where(
                    P.status != CoverageStatus.CANCELLED, *sel.households(), *sel.days(P.starts_on)
                )
                .group_by(H.mutual_id, H.product_id)
            )
        ).all()
    )


def premiums_by(
    rows: Sequence[Any], key: Callable[[Any], Any], total_only: bool = False
) -> list[dict[str, Any]]:
    """Premium rows summed under `key`; one row of zeros for a total over nothing."""
    sums: dict[Any, list[int]] = {}
    for row in rows:
        total = sums.setdefault(key(row), [0, 0, 0, 0])
        for i, value in enumerate(row[2:]):
            total[i] += int(value or 0)
    if not sums and total_only:
        sums[None] = [0, 0, 0, 0]
    return [_premium_row(k, *values) for k, values in sorted(sums.items(), key=_by_key)]


def _premium_row(
    key: Any, due: int, paid: int, sponsor_due: int, sponsor_paid: int
) -> dict[str, Any]:
    return {
        "key": key,
        "premium_due": due,
        "premium_paid": paid,
        "collection_rate": round(paid / due, 4) if due else None,
        "sponsor_share": sponsor_due,
        "sponsor_paid": sponsor_paid,
    }


async def collected_rows(session: Any, sel: Selection) -> list[Any]:
    """Succeeded payments settled in the period, per provider and channel: from the daily
    roll-up up to its watermark, counted live after it (`gateway.stats.rollup`)."""
    return await rollup.collected_rows(session, sel)


def collected_by(
    rows: Sequence[Any], key: Callable[[Any], Any], total_only: bool = False
) -> list[dict[str, Any]]:
    sums: dict[Any, list[int]] = {}
    for row in rows:
        total = sums.setdefault(key(row), [0, 0])
        total[0] += int(row[2])
        total[1] += int(row[3] or 0)
    if not sums and total_only:
        sums[None] = [0, 0]
    return [
        {"key": k, "payments": payments, "amount": amount}
        for k, (payments, amount) in sorted(sums.items(), key=_by_key)
    ]


def _by_key(item: tuple[Any, Any]) -> str:
    return str(item[0])
