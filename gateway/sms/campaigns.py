"""Campaign messages from staff to a part of the scheme: a mutual, a commune.

Every household of the segment gets the message once, on its contact phone, in its
language, unless that number opted out. The count is shown before anything is
queued; the messages then wait out quiet hours like any reminder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from db import models
from db.engine import writing
from db.values import MessagePurpose, UnitLevel
from gateway.sms.outbox import Outbox, insert_once
from gateway.sms.renewal_amounts import next_year_amounts, years_to_renew
from gateway.sms.texts import CAMPAIGN_TEMPLATES

CHUNK = 1000
RENEW = "campaign_renew"  # says what renewing costs each household


class CampaignError(ValueError):
    pass


@dataclass(frozen=True)
class Segment:
    mutual: str | None = None  # a mutual's code
    commune: str | None = None

    def describe(self) -> str:
        parts = [f"mutual {self.mutual}" if self.mutual else "", self.commune or ""]
        return ", ".join(p for p in parts if p) or "the whole scheme"


class Campaigns:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        now: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.now = now

    async def audience(self, segment: Segment) -> int:
        """How many numbers the campaign would reach."""
        async with self.sessions() as session:
            await _check(session, segment)
            query = _households(segment).with_only_columns(models.Household.phone).distinct()
            return int(
                await session.scalar(select(func.count()).select_from(query.subquery())) or 0
            )

    async def send(self, segment: Segment, template: str, requested_by: str) -> tuple[int, int]:
        """Queue the campaign; returns its id and how many messages were queued."""
        if template not in CAMPAIGN_TEMPLATES:
            raise CampaignError(
                f"unknown template {template!r}: use {', '.join(CAMPAIGN_TEMPLATES)}"
            )
        now = self.now()
        async with writing(self.sessions) as session:
            mutual_id = await _check(session, segment)
            campaign = models.SmsCampaign(
                template=template,
                mutual_id=mutual_id,
                commune=segment.commune,
                recipients=0,
                requested_by=requested_by,
                created_at=now,
            )
            session.add(campaign)
            await session.flush()
            campaign_id = campaign.id
        # A national campaign reaches hundreds of thousands of households: it is queued
        # in short transactions of CHUNK households, never one that holds the outbox.
        queued, after = 0, 0
        while True:
            added, after = await self._queue_chunk(segment, template, campaign_id, after, now)
            queued += added
            if after == 0:
                break
        async with writing(self.sessions) as session:
            await session.execute(
                update(models.SmsCampaign)
                .where(models.SmsCampaign.id == campaign_id)
                .values(recipients=queued)
            )
        return campaign_id, queued

    async def _queue_chunk(
        self, segment: Segment, template: str, campaign_id: int, after: int, now: datetime
    ) -> tuple[int, int]:
        """Queue the next CHUNK households after id `after`; returns how many messages
        were queued and the last household id (0 when there were no more)."""
        async with writing(self.sessions) as session:
            rows = (
                await session.execute(
                    _households(segment)
                    .with_only_columns(
                        models.Household.id,
                        models.Household.phone,
                        models.Household.language,
                        models.SchemeUnit.name,
                    )
                    .where(models.Household.id > after)
                    .order_by(models.Household.id)
                    .limit(CHUNK)
                )
            ).all()
            dialect = session.get_bind().dialect.name
            amounts = (
                await _renewal_amounts(session, [row[0] for row in rows], now)
                if template == RENEW
                else {}
            )
            queued = 0
            for household_id, phone, language, mutual_name in rows:
                params: dict[str, Any] = {"mutual": mutual_name}
                if template == RENEW:
                    if amounts.get(household_id) is None:
                        continue  # renewed and paid already: nothing to ask
                    params["amount"] = amounts[household_id]
                message = self.outbox.message(
                    phone=phone,
                    language=language,
                    purpose=MessagePurpose.CAMPAIGN,
                    template=template,
                    params=params,
                    now=now,
                    household_id=household_id,
                    # One per number, even where a phone is the contact of two households.
                    dedupe_key=f"campaign:{campaign_id}:{phone}",
                    campaign_id=campaign_id,
                )
                queued += len((await session.execute(insert_once(message, dialect))).all())
            return queued, rows[-1][0] if rows else 0


async def _renewal_amounts(
    session: AsyncSession, household_ids: list[int], now: datetime
) -> dict[int, int | None]:
    """What each household pays to renew its latest cover year (`campaign_renew` says
    it); None for one whose renewal already opened rights."""

    def read(sync: Session) -> dict[int, int | None]:
        latest = years_to_renew(sync, household_ids, now.date())
        amounts = next_year_amounts(sync, list(latest.values()), now.date())
        return {household: amounts.get(period) for household, period in latest.items()}

    return await session.run_sync(read)


async def _check(session: AsyncSession, segment: Segment) -> int | None:
    if segment.mutual is None:
        return None
    mutual_id = await session.scalar(
        select(models.SchemeUnit.id).where(
            models.SchemeUnit.code == segment.mutual, models.SchemeUnit.level == UnitLevel.MUTUAL
        )
    )
    if mutual_id is None:
        raise CampaignError(f"no mutual with code {segment.mutual!r}")
    return mutual_id


def _households(segment: Segment) -> Select[Any]:
    query = (
        select(models.Household)
        .join(models.SchemeUnit, models.SchemeUnit.id == models.Household.mutual_id)
        .where(
            ~select(models.SmsOptOut.phone)
            .where(models.SmsOptOut.phone == models.Household.phone)
            .exists()
        )
    )
    if segment.mutual is not None:
        query = query.where(models.SchemeUnit.code == segment.mutual)
    if segment.commune is not None:
        query = query.where(func.lower(models.Household.commune) == segment.commune.lower())
    return query
