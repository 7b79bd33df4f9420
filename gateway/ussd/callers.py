"""Who is dialling: what a session needs to know about a phone, and what it keeps."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import literal, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from gateway.caller_changes import callers_changed
from gateway.known_phones import version_read
from gateway.ussd.caller_cache import CallerCache
from menus.values import Relationship

# Facility desk phones and agents' phones are few and change rarely: each process keeps
# them in memory rather than making every first hop pay more queries. Every change raises
# their version (gateway.known_phones), read with the household on a session's first
# hop: a process reads them again as soon as it moved, whichever process made the change.
# The time limit only catches rows changed by hand in the database.
KNOWN_PHONES_REFRESH = 300.0
# Households one phone heads that a session knows of: a family phone heads a few (a
# relative's household enrolled from it); a phone heading more is an agent's, not a
# family's, and its greeting needs none past this.
MAX_HOUSEHOLDS = 20
# The language a phone without a household chose (a desk phone, someone who has not
# joined yet), so that it is asked on the first call only: kept this long after the
# last choice, past a yearly campaign.
LANGUAGE_TTL = 400 * 24 * 3600


def language_key(phone: str) -> str:
    # The phone as a hash tag, like the keys of its sessions: one slot for the phone.
    return f"phone:{{{phone}}}:language"


class CallerService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], cache: CallerCache) -> None:
        self.sessions = sessions
        self.cache = cache  # what the database said of a phone, until a write changes it
        self.redis = cache.redis  # and the language of phones without a household
        self._desks: dict[str, int] = {}
        self._agents: dict[str, dict[str, Any]] = {}
        self._known_until = 0.0
        self._known_version: int | None = None

    async def caller(self, phone: str) -> dict[str, Any]:
        """What a session needs to know about the phone that dials: one Redis read for a
        phone seen lately, else one indexed read (and the known phones' version with it)."""
        known, version, chosen = await self._remembered(phone)
        if self._known_version is None or version > self._known_version:
            # Moved since this process read them (an entry kept before the change was
            # forgotten with it, so an older version means only an older entry).
            self._known_until = 0.0
        await self._refresh_known_phones(version)
        facility_id = self._desks.get(phone)
        if facility_id is not None:
            known["facility_id"] = facility_id
        agent = self._agents.get(phone)
        if agent is not None:
            known.update(agent)
        if "language" not in known and chosen is not None:
            known["language"] = chosen.decode() if isinstance(chosen, bytes) else chosen
        return known

    async def _remembered(self, phone: str) -> tuple[dict[str, Any], int, bytes | str | None]:
        """The households and version (from the cache, else the database, then kept) and
        the language a phone without a household chose, read with the cache entry."""
        cached = await self.cache.read(phone, language_key(phone))
        if cached.known is not None:
            return cached.known, cached.version, cached.extra[0]
        known, version, heads = await self._household(phone)
        await self.cache.keep(phone, cached.token, known, version, heads)
        return dict(known), version, cached.extra[0]

    async def _refresh_known_phones(self, version: int) -> None:
        """Desk phones and agents' phones, read again once changed (or old). `version`
        was read before them: phones changed meanwhile carry a higher one, read again
        on the next dial."""
        if time.monotonic() < self._known_until:
            return
        async with self.sessions() as session:
            rows = await session.execute(
                select(models.FacilityPhone.phone, models.FacilityPhone.facility_id)
                .join(models.Facility, models.Facility.id == models.FacilityPhone.facility_id)
                .where(models.Facility.revoked_at.is_(None))
            )
            desks = {phone: facility_id for phone, facility_id in rows.all()}
            # Disabled agents too: their phone gets "account disabled", not the
            # members' menu, which would invite them to act as a member.
            agents = await session.execute(
                select(models.Agent.phone, models.Agent.id, models.SchemeUnit.code).join(
                    models.SchemeUnit, models.SchemeUnit.id == models.Agent.mutual_id
                )
            )
            found = {
                phone: {"agent_id": agent_id, "agent_mutual": mutual}
                for phone, agent_id, mutual in agents.all()
            }
        if self._known_version is not None and version < self._known_version:
            return  # a dial that read a newer version refreshed them while this one read
        self._desks, self._agents, self._known_version = desks, found, version
        self._known_until = time.monotonic() + KNOWN_PHONES_REFRESH

    def forget_known_phones(self) -> None:
        """Read desk and agents' phones again on the next dial (after a change here)."""
        self._known_until = 0.0

    async def heads(self, phone: str) -> list[tuple[str, str, str | None]] | None:
        """The present heads of the phone's households (last name, first names, member
        number) in the order they were registered, as the cache holds them; None: ask
        the database (`gateway.enrolment.headed`)."""
        cached = await self.cache.read(phone)
        if cached.known is None or cached.heads is None:
            return None
        return [(last, first, no) for _, last, first, no, present in cached.heads if present]

    async def _household(self, phone: str) -> tuple[dict[str, Any], int, list[list[Any]] | None]:
        """The households whose phone dials (the latest first), if any, the known
        phones' version, and their heads in full for the cache (None past MAX_HOUSEHOLDS)."""
        # The cover of each one's latest year, for the renewal offer: in the same row, so
        # that knowing whether "Renew" is on the menu costs the session no query of its own.
        latest_cover = (
            select(models.CoveragePeriod.covered_until)
            .where(models.CoveragePeriod.household_id == models.Household.id)
            .order_by(models.CoveragePeriod.starts_on.desc(), models.CoveragePeriod.id.desc())
            .limit(1)
            .correlate(models.Household)
            .scalar_subquery()
        )
        heads = (
            select(
                models.Household.id,
                models.Household.language,
                models.Member.member_no,
                models.Member.last_name,
                models.Member.first_names,
                models.Member.id.label("member_id"),
                models.Member.left_on,
                latest_cover.label("covered_until"),
                models.Product.renewal_opens_days,
            )
            .join(models.Member, models.Member.household_id == models.Household.id)
            .join(models.Product, models.Product.id == models.Household.product_id)
            .where(
                models.Household.phone == phone,
                models.Member.relationship_to_head == Relationship.HEAD,
            )
            .order_by(models.Household.id.desc())
            .limit(MAX_HOUSEHOLDS)
            .subquery()
        )
        # One row at least, whether or not a household has the phone: the version.
        one = select(literal(1).label("one")).subquery()
        query = (
            select(
                version_read().label("version"),
                heads.c.id,
                heads.c.language,
                heads.c.member_no,
                heads.c.last_name,
                heads.c.first_names,
                heads.c.member_id,
                heads.c.left_on,
                heads.c.covered_until,
                heads.c.renewal_opens_days,
            )
            .select_from(one)
            .outerjoin(heads, true())
            .order_by(heads.c.id.desc())
        )
        async with self.sessions() as session:
            rows = (await session.execute(query)).all()
        latest = rows[0]
        if latest.id is None:
            return {"phone": phone}, latest.version, []
        known: dict[str, Any] = {
            "phone": phone,
            "language": latest.language,
            "member_no": latest.member_no,
            # Every household the phone heads, for the greeting and "Mes droits"
            # (menus.journeys.entries.households).
            "households": [
                {"member_no": row.member_no, "name": head_name(row.last_name, row.first_names)}
                for row in rows
            ],
        }
        if latest.covered_until is not None:
            # The renewal window opens this many days before cover ends and stays open
            # after a lapse (`gateway.scheme.calendar.renewal_window`); the menus compare
            # it with the day (`menus.journeys.renew.renewal_due`).
            known["renew_opens"] = renewal_opens(latest.covered_until, latest.renewal_opens_days)
        in_full = None
        if len(rows) < MAX_HOUSEHOLDS:  # all of them: the duplicate check may trust the list
            in_full = [
                [row.member_id, row.last_name, row.first_names, row.member_no, row.left_on is None]
                for row in sorted(rows, key=lambda row: row.member_id)
            ]
        return known, latest.version, in_full

    async def remember_language(self, phone: str, language: str) -> None:
        """For the phone's households (their SMS too) and, for a phone with none, for
        its next call."""
        cached = await self.cache.read(phone)
        if cached.known is not None and "member_no" not in cached.known:
            # Known to head no household (an enrolment would have forgotten that): no
            # UPDATE to make, the most common case of a campaign's first calls.
            await self.redis.set(language_key(phone), language, ex=LANGUAGE_TTL)
            return
        async with self.sessions() as session:
            changed = await session.execute(
                update(models.Household)
                .where(models.Household.phone == phone)
                .values(language=language)
            )
            if changed.rowcount:  # type: ignore[attr-defined]
                callers_changed(session, phone)  # else the language key, read beside it
            await session.commit()
        if not changed.rowcount:  # type: ignore[attr-defined]
            await self.redis.set(language_key(phone), language, ex=LANGUAGE_TTL)


def head_name(last_name: str, first_names: str) -> str:
    """The head as the greeting names them: the family name and the first given name;
    empty while a recorded name waits for its transcription (the menus say so)."""
    if not last_name or not first_names:
        return ""
    return f"{last_name} {first_names.split()[0]}"


def renewal_opens(covered_until: date | str, opens_days: int) -> str:
    """The ISO day a household may renew from (SQLite hands a scalar subquery's date
    back as text)."""
    end = covered_until if isinstance(covered_until, date) else date.fromisoformat(covered_until)
    return (end - timedelta(days=opens_days)).isoformat()
