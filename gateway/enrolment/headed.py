"""The households a phone already heads, by the head's name: asked as soon as the name
is typed, so that a family enrolling twice is told at once, not after every answer.

The final check (`EnrolmentService`) stays: it also compares birth years and NPIs, and
sees a household written meanwhile."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db import models
from menus import recorded
from menus.effects import FindHeadedHousehold, HeadedResult
from menus.values import Relationship


class HeadedHouseholds:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    async def find(self, request: FindHeadedHousehold) -> HeadedResult:
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
        # A spoken name cannot be compared yet: the final check sees it.
        spoken = recorded.recording_of(request.last_name) is not None
        for last_name, first_names, member_no in heads:
            if not spoken and (last_name, first_names) == (
                request.last_name,
                request.first_names,
            ):
                return HeadedResult(same=member_no or "", other=None)
        other = next((no for _, _, no in heads if no), None)
        return HeadedResult(same=None, other=other)
