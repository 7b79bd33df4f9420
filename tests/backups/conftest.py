"""Fixtures of the backup tests: the suite's database with money in it, and an empty one
of the same kind to restore into."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from db import models
from db.engine import create_engine_async, session_factory
from gateway.enrolment.service import EnrolmentService
from gateway.scheme import document as scheme
from tests.backups.databases import empty_database, restore_target_url
from tests.conftest import DATA_TABLES
from tests.support.book import SPONSORED, Book, write_book


@pytest.fixture
def sponsored_scheme(db: Session, clean: None) -> Iterator[None]:
    with db.begin():
        scheme.load(db, SPONSORED)
    yield
    db.rollback()
    with db.begin():
        db.execute(text("DELETE FROM sponsor_settlements"))
        for table in DATA_TABLES:
            db.execute(text(f"DELETE FROM {table}"))
        db.execute(delete(models.Subsidy))
        # The demo's own sponsor (ETAT, free care) stays: the demo products name it.
        db.execute(delete(models.Sponsor).where(models.Sponsor.code.like("T-%")))
        db.execute(delete(models.Product).where(models.Product.code == "T-HALF"))


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine_async(database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def book(
    sponsored_scheme: None,
    sessions: async_sessionmaker[AsyncSession],
    enrolment: EnrolmentService,
) -> Book:
    return await write_book(sessions, enrolment)


@pytest.fixture
def target(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the suite's kind, to restore into."""
    url = restore_target_url(database_url, tmp_path)
    empty_database(url)
    yield url
    empty_database(url)
