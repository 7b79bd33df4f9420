"""The households a phone already heads, by the head's name: asked as soon as the name
is typed, so that a family enrolling twice is told at once, not after every answer.

The final check (`EnrolmentService`) stays: it also compares birth years and NPIs, and
sees a household written meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db import models
from menus import recorded
from menus.effects import FindHeadedHousehold, HeadedResult
from menus.values import Relationship

Heads = Sequence[tuple[str, str, str | None]]  # last name, first names, member number
# The heads a phone's households have now, if known without the database (the callers'
# cache, `gateway.ussd.callers`); None: ask it.
KnownHeads = Callable[[str], Awaitable[Heads | None]]


class HeadedHouseholds:
    def __init__(self, sessions: sessionmaker[Session], known: KnownHeads | None = None) -> None:
        self.sessions = sessions
        self.known = known

    async def find(self, request: FindHeadedHousehold) -> HeadedResult:
        heads = await self.known(request.phone) if self.known is not None else None
        if heads is not None:
            return _decided(request, heads)
        return await asyncio.to_thread(self._find, request)

    def _find(self, request: FindHeadedHousehold) -> HeadedResult:
        with self.sessions() as session:
            heads = session.execute(
                select(models.Member.last_name, models.Member.first_names, models.Member.member_no)
                .join(models.Household, models.Household.id == models.Member.household_id)
                .where(
                    models.Household.phone == request.phone,
                    models.Member.relationship_to_head == Relationship.HEAD,
                    models.Member.left_on.is_(None),
                )
                .order_by(models.Member.id)
            ).all()
        return _decided(request, [(last, first, no) for last, first, no in heads])


def _decided(request: FindHeadedHousehold, heads: Heads) -> HeadedResult:
    """The household of the same head, else another one the phone heads, else none."""
    # A spoken name cannot be compared yet: the final check sees it.
    spoken = recorded.recording_of(request.last_name) is not None
    for last_name, first_names, member_no in heads:
        if not spoken and (last_name, first_names) == (request.last_name, request.first_names):
            return HeadedResult(same=member_no or "", other=None)
    other = next((no for _, _, no in heads if no), None)
    return HeadedResult(same=None, other=other)
