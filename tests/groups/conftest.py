"""What the group payer, exemption and bulk renewal tests share: a clean slate that also
drops the groups' own sponsors and subsidies, and a browser-like client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway.groups.payers import SPONSOR_PREFIX


def drop_groups(db: Session) -> None:
    with db.begin():
        db.execute(text("DELETE FROM sponsor_settlements"))
        db.execute(text("DELETE FROM group_contracts"))
        db.execute(text("DELETE FROM payer_groups"))
        grouped = select(models.Sponsor.id).where(models.Sponsor.code.like(SPONSOR_PREFIX + "%"))
        db.execute(delete(models.Subsidy).where(models.Subsidy.sponsor_id.in_(grouped)))
        db.execute(delete(models.Sponsor).where(models.Sponsor.code.like(SPONSOR_PREFIX + "%")))


@pytest.fixture
def no_groups(db: Session, clean: None) -> Iterator[None]:
    drop_groups(db)
    yield
    db.rollback()
    with db.begin():
        db.execute(text("DELETE FROM register_events"))
        for table in ("cover_lines", "period_shares", "member_exemptions", "payments"):
            db.execute(text(f"DELETE FROM {table}"))
        db.execute(text("DELETE FROM coverage_periods"))
        db.execute(text("UPDATE households SET group_id = NULL"))
    drop_groups(db)


@pytest.fixture
async def web(app: Starlette, no_groups: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://gateway.test") as http:
        yield http


# The products of these tests (tests/groups/scheme.py), for every test module here.
from tests.groups.scheme import products  # noqa: E402, F401
