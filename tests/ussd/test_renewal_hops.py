"""A renewal hop costs no more than an enrolment hop: the first hop's one caller query
tells the menu whether to offer "Renew" (no query of its own), and every later hop runs
only the queries of the effect it asks for (none for a screen of the journey)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway.enrolment.service import EnrolmentService
from gateway.payments.capability import Payments
from tests.conftest import Clock
from tests.support.gateway import part, shared
from tests.support.households import enrol_household
from tests.support.ussd_phone import Phone

PHONE = "+2290197000661"


@contextmanager
def statements(app: Starlette) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    # The async engine of reads and the synchronous one of enrolment and renewal.
    engines = (shared(app).db.sync_engine, shared(app).sync_sessions.kw["bind"])
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)


def ours(seen: list[str]) -> list[str]:
    """The hop's own statements, without the scheme cache's refresh (the suite refreshes
    it every second, so a slow hop may carry one: units, products, occupations,
    subsidies, sponsors)."""
    refresh = (
        "scheme_units",
        "FROM products",
        "FROM occupations",
        "FROM subsidies",
        "FROM sponsors",
    )
    return [s for s in seen if not any(table in s for table in refresh)]


async def test_renewal_hops_run_no_query_but_their_effects(
    app: Starlette,
    client: httpx.AsyncClient,
    enrolment: EnrolmentService,
    db: Session,
    clock: Clock,
) -> None:
    head = await enrol_household(enrolment, PHONE, persons=2)
    await part(app, Payments).ledger.record_cash(head, 3150, "Rose Assogba")
    until = db.scalar(select(models.CoveragePeriod.covered_until))
    assert until is not None
    clock.day = until - timedelta(days=10)
    await Phone(client, "+2290197000662").dial()  # the known phones read, as on any first dial
    phone = Phone(client, PHONE)
    with statements(app) as seen:
        home = await phone.dial()
    assert "5. Renouveler" in home  # its number for every caller
    first = ours(seen)
    assert len(first) == 1 and "households" in first[0], first  # the caller, as before
    with statements(app) as seen:
        whose = await phone.type("5")
    assert "Renouveler pour:" in whose
    assert ours(seen) == []  # a screen of the journey: no query
    with statements(app) as seen:
        members = await phone.type("1")
    assert "Garder et continuer" in members
    assert ours(seen)  # the offer, an effect: its own reads
    with statements(app) as seen:
        summary = await phone.type("1")
    assert "Cotisation de l'année: 3150 F" in summary
    assert ours(seen) == []
