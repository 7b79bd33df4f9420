"""The price rules of a product kept in each process, read again once they changed.

Pricing a household asked the database twice for rules that change a few times a year
(the subsidy that applies and the free-care sponsor's id): 38 % of an enrolment's CPU.
Whoever writes a product, a subsidy, a sponsor, a payer group or a group contract raises
the rules' version in the same transaction (`rules_changed`); an enrolment reads the
version in the query it already makes for the product (`version_read`), so every process
prices by the new rules from the next enrolment on, whichever process (or command) made
the change. The same pattern as the known phones (`gateway.known_phones`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import ScalarSelect, event, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from db import models
from gateway.enrolment import pricing

PRICING_RULES = "pricing_rules"
# Products × categories × cover-start days seen between two changes: a few dozen.
MAX_ENTRIES = 1024

_RAISE = (
    update(models.CacheVersion)
    .where(models.CacheVersion.name == PRICING_RULES)
    .values(version=models.CacheVersion.version + 1)
)
# No migration created the row: the first change creates it.
_CREATE = insert(models.CacheVersion).values(name=PRICING_RULES, version=1)


def rules_changed(session: Session) -> None:
    """In the transaction of the change: committed with it, or not at all."""
    if not session.execute(_RAISE).rowcount:  # type: ignore[attr-defined]
        session.execute(_CREATE)


async def rules_changed_async(session: AsyncSession) -> None:
    if not (await session.execute(_RAISE)).rowcount:  # type: ignore[attr-defined]
        await session.execute(_CREATE)


# What the rules are read from (`pricing.rules_of`).
_PRICED = (models.Product, models.Subsidy, models.Sponsor, models.PayerGroup, models.GroupContract)


@contextmanager
def rules_watched(session: Session) -> Iterator[None]:
    """Raise the version at the end if any row the rules are read from was written
    meanwhile (a scheme loaded again unchanged changes nothing, its version neither)."""
    touched: list[bool] = []

    def seen(flushing: Session, _context: Any, _instances: Any) -> None:
        written = (*flushing.new, *flushing.deleted)
        if not touched and any(
            isinstance(row, _PRICED) and (row in written or flushing.is_modified(row))
            for row in (*written, *flushing.dirty)
        ):
            touched.append(True)

    event.listen(session, "before_flush", seen)
    try:
        yield
        session.flush()
    finally:
        event.remove(session, "before_flush", seen)
    if touched:
        rules_changed(session)


def version_read() -> ScalarSelect[int]:
    """The version as a column of another query (0 until the first change)."""
    return (
        select(func.coalesce(func.max(models.CacheVersion.version), 0))
        .where(models.CacheVersion.name == PRICING_RULES)
        .scalar_subquery()
    )


class RulesCache:
    """`pricing.rules_of` per product, household category and day, until the version
    moves."""

    def __init__(self) -> None:
        self._version: int | None = None
        self._rules: dict[tuple[int, str | None, date | None], pricing.PriceRules] = {}

    def rules(
        self,
        session: Session,
        product: models.Product,
        household_category: str | None,
        on: date | None,
        version: int,
    ) -> pricing.PriceRules:
        """`version` was read with `product`, in the same statement: rules read after
        it are at least as new."""
        if version != self._version:
            self._rules, self._version = {}, version
        key = (product.id, household_category, on)
        found = self._rules.get(key)
        if found is None:
            found = pricing.rules_of(session, product, household_category, on)
            if len(self._rules) >= MAX_ENTRIES:
                self._rules.clear()
            self._rules[key] = found
        return found
