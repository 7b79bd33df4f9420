"""The scheme as the menus see it, read from the database and kept in memory.

Mutuals and products change a few times a year; reading them on every hop would cost a
query per hop for nothing. Each process refreshes its copy every
`SCHEME_REFRESH_SECONDS`, so `alafia scheme load` reaches running servers within that.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.values import UnitLevel
from gateway.enrolment import pricing
from gateway.scheme.calendar import calendar_of
from menus.context import Mutual, Occupation, Product, SchemeSnapshot

log = logging.getLogger(__name__)


def _window(product: models.Product) -> tuple[tuple[int, int], tuple[int, int]] | None:
    if not product.window_start or not product.window_end:
        return None
    start_month, start_day = (int(x) for x in product.window_start.split("-"))
    end_month, end_day = (int(x) for x in product.window_end.split("-"))
    return (start_month, start_day), (end_month, end_day)


def offers(unit: models.SchemeUnit, mutual: models.SchemeUnit) -> bool:
    """A product set on a zone or network is offered by every mutual below it."""
    return mutual.path == unit.path or mutual.path.startswith(unit.path + "/")


def product_rule(
    product: models.Product,
    mutual_codes: frozenset[str] = frozenset(),
    subsidy: models.Subsidy | None = None,
    sponsor_ids: dict[str, int] | None = None,
) -> Product:
    """The product's rules as plain values, shared by the menus and the services.
    `subsidy` is the sponsor's share for every household on it, if any; with the
    sponsors' ids by code, the menus price a household person by person."""
    pricer = None
    if sponsor_ids is not None:
        rules = pricing.rules_from(product, subsidy, sponsor_ids)
        pricer = pricing.household_pricer(calendar_of(product), rules)
    return Product(
        code=product.code,
        names=dict(product.names),
        mutual_codes=mutual_codes,
        premium_per_person=product.premium_per_person,
        household_premium=product.household_premium,
        max_members=product.max_members,
        window=_window(product),
        sponsor_percent=(subsidy.percent or 0) if subsidy else 0,
        sponsor_per_person=(subsidy.amount_per_person or 0) if subsidy else 0,
        household_price=pricer,
        min_part_payment=product.min_part_payment,
    )


async def read_scheme(session: AsyncSession) -> SchemeSnapshot:
    units = (await session.scalars(select(models.SchemeUnit))).all()
    mutual_rows = sorted(
        (u for u in units if u.level == UnitLevel.MUTUAL), key=lambda u: (u.commune or "", u.name)
    )
    products = (
        await session.scalars(
            select(models.Product).where(models.Product.active).order_by(models.Product.id)
        )
    ).all()
    occupations = (
        await session.scalars(select(models.Occupation).order_by(models.Occupation.position))
    ).all()
    by_id = {u.id: u for u in units}
    # Product-wide subsidies only: a category's share depends on the household, which a
    # self-enrolling caller does not declare.
    subsidies = {
        s.product_id: s
        for s in await session.scalars(
            select(models.Subsidy)
            .where(models.Subsidy.category.is_(None))
            .order_by(models.Subsidy.id.desc())  # the oldest wins, as in pricing.rules_of
        )
    }
    sponsor_ids = {s.code: s.id for s in await session.scalars(select(models.Sponsor))}
    return SchemeSnapshot(
        mutuals=tuple(Mutual(u.code, u.name, u.commune or "") for u in mutual_rows),
        products=tuple(
            product_rule(
                p,
                frozenset(m.code for m in mutual_rows if offers(by_id[p.unit_id], m)),
                subsidies.get(p.id),
                sponsor_ids,
            )
            for p in products
        ),
        occupations=tuple(Occupation(o.code, dict(o.names)) for o in occupations),
    )


class SchemeCache:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], refresh_seconds: int) -> None:
        self.sessions = sessions
        self.refresh_seconds = refresh_seconds
        self.current = SchemeSnapshot()
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def get(self) -> SchemeSnapshot:
        if time.monotonic() - self._loaded_at < self.refresh_seconds:
            return self.current
        async with self._lock:
            if time.monotonic() - self._loaded_at >= self.refresh_seconds:
                try:
                    await self.reload()
                except Exception:
                    if not self.current.mutuals:
                        raise
                    # The database blinked: serve the copy we have, try again soon.
                    log.warning("scheme refresh failed; keeping the previous copy", exc_info=True)
                    self._loaded_at = time.monotonic() - self.refresh_seconds + 5
        return self.current

    async def reload(self) -> None:
        async with self.sessions() as session:
            self.current = await read_scheme(session)
        self._loaded_at = time.monotonic()
        log.debug(
            "scheme: %d mutuals, %d products",
            len(self.current.mutuals),
            len(self.current.products),
        )
