"""Health facilities: an API key each (shown once, stored hashed, revocable) and the
desk phones allowed to check cover by USSD and SMS.

API keys are long random secrets, so a fast hash (SHA-256) protects them as well as a
slow one would, and costs microseconds on a check that must answer in milliseconds.
(PINs and passwords, which people choose, get a slow KDF.) A verified key is kept in
memory for KEY_CACHE_SECONDS: a revoked key stops working within that time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import writing

KEY_CACHE_SECONDS = 30.0
_KEY = re.compile(r"alf_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})")


class FacilityError(ValueError):
    pass


@dataclass(frozen=True)
class FacilityRef:
    id: int
    code: str
    name: str


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Facilities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], now: Callable[[], datetime]
    ) -> None:
        self.sessions = sessions
        self.now = now
        self._verified: dict[str, tuple[float, FacilityRef]] = {}

    async def add(
        self, code: str, name: str, phones: Sequence[str] = ()
    ) -> tuple[FacilityRef, str]:
        """A new facility and its API key, which is shown this once and never again."""
        prefix, key = _new_key()
        try:
            async with writing(self.sessions) as session:
                facility = models.Facility(
                    code=code,
                    name=name,
                    key_prefix=prefix,
                    key_hash=_hash(key),
                    created_at=self.now(),
                )
                session.add(facility)
                await session.flush()
                session.add_all(
                    models.FacilityPhone(phone=p, facility_id=facility.id) for p in set(phones)
                )
                await session.flush()
                return FacilityRef(facility.id, code, name), key
        except IntegrityError:
            raise FacilityError(
                f"facility {code!r} exists, or one of its phones belongs to another"
            ) from None

    async def new_key(self, code: str) -> str:
        """Replace a facility's key (the old one stops working at once here, and within
        KEY_CACHE_SECONDS in the other processes); also lifts a revocation."""
        prefix, key = _new_key()
        async with writing(self.sessions) as session:
            facility = await self._get(session, code)
            facility.key_prefix, facility.key_hash = prefix, _hash(key)
            facility.revoked_at = None
        self._verified.clear()
        return key

    async def revoke(self, code: str) -> None:
        async with writing(self.sessions) as session:
            facility = await self._get(session, code)
            facility.revoked_at = self.now()
        self._verified.clear()

    async def set_phones(self, code: str, phones: Sequence[str]) -> None:
        try:
            async with writing(self.sessions) as session:
                facility = await self._get(session, code)
                await session.execute(
                    delete(models.FacilityPhone).where(
                        models.FacilityPhone.facility_id == facility.id
                    )
                )
                session.add_all(
                    models.FacilityPhone(phone=p, facility_id=facility.id) for p in set(phones)
                )
        except IntegrityError:
            raise FacilityError("one of these phones belongs to another facility") from None

    async def listing(self) -> list[dict[str, object]]:
        async with self.sessions() as session:
            facilities = (
                await session.scalars(select(models.Facility).order_by(models.Facility.code))
            ).all()
            phones = (await session.execute(select(models.FacilityPhone))).scalars().all()
        by_facility: dict[int, list[str]] = {}
        for phone in phones:
            by_facility.setdefault(phone.facility_id, []).append(phone.phone)
        return [
            {
                "code": f.code,
                "name": f.name,
                "key_prefix": f.key_prefix,
                "revoked": f.revoked_at is not None,
                "phones": sorted(by_facility.get(f.id, [])),
            }
            for f in facilities
        ]

    async def by_key(self, key: str) -> FacilityRef | None:
        """The facility a bearer key belongs to; None for a wrong or revoked key."""
        cached = self._verified.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        found = _KEY.fullmatch(key)
        if found is None:
            return None
        async with self.sessions() as session:
            facility = await session.scalar(
                select(models.Facility).where(models.Facility.key_prefix == found.group(1))
            )
        if (
            facility is None
            or facility.revoked_at is not None
            or not hmac.compare_digest(facility.key_hash, _hash(key))
        ):
            return None
        ref = FacilityRef(facility.id, facility.code, facility.name)
        if len(self._verified) > 10_000:  # a bound, not an eviction policy: keys are few
            self._verified.clear()
        self._verified[key] = (time.monotonic() + KEY_CACHE_SECONDS, ref)
        return ref

    async def by_phone(self, phone: str) -> FacilityRef | None:
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(models.Facility)
                    .join(
                        models.FacilityPhone, models.FacilityPhone.facility_id == models.Facility.id
                    )
                    .where(
                        models.FacilityPhone.phone == phone, models.Facility.revoked_at.is_(None)
                    )
                )
            ).scalar_one_or_none()
        return FacilityRef(row.id, row.code, row.name) if row is not None else None

    @staticmethod
    async def _get(session: AsyncSession, code: str) -> models.Facility:
        facility = await session.scalar(
            select(models.Facility).where(models.Facility.code == code).with_for_update()
        )
        if facility is None:
            raise FacilityError(f"no facility with code {code!r}")
        return facility


def _new_key() -> tuple[str, str]:
    prefix = secrets.token_hex(6)
    return prefix, f"alf_{prefix}_{secrets.token_urlsafe(32)}"
