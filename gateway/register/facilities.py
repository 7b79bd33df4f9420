"""Health facilities: an API key each (shown once, stored hashed, revocable) and the
desk phones allowed to check cover by USSD and SMS. Every change is audited with who made
it (`facility_added`, `facility_key_replaced`, `facility_revoked`, `facility_phones_set`),
never with a key: only its prefix.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import writing
from db.values import AuditAction
from gateway.audit import entry
from gateway.caller_changes import callers_changed
from gateway.known_phones import phones_changed

KEY_CACHE_SECONDS = 30.0
_KEY = re.compile(r"alf_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})")
CODE = re.compile(r"[A-Za-z0-9_.-]{1,32}")

# What `FacilityError.reason` may be.
BAD_CODE = "code"  # not 1 to 32 letters, digits, '-', '_' or '.'
CODE_TAKEN = "code_taken"
NAME = "name"  # not 2 to 120 characters
PHONE_TAKEN = "phone_taken"  # a desk phone of another facility (`FacilityError.phone`)
AGENT_PHONE = "agent_phone"  # a field agent's phone (`FacilityError.phone`)
CONFLICT = "conflict"  # another change at the same moment took the code or a phone
NO_FACILITY = "no_facility"
STALE = "stale"  # the facility changed since the version the change was asked from


class FacilityError(ValueError):
    """A change that cannot be made; the message says why in English, `reason` names it
    for a form and `phone` is the desk phone at fault, if any."""

    def __init__(self, message: str, reason: str, phone: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.phone = phone


@dataclass(frozen=True)
class FacilityRef:
    id: int
    code: str
    name: str


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def facility_code(typed: str) -> str:
    """A code as stored: 1 to 32 letters, digits, '-', '_' or '.' (FacilityError BAD_CODE)."""
    if not CODE.fullmatch(typed):
        raise FacilityError(
            f"{typed!r} is not a code of 1 to 32 letters, digits, '-', '_' or '.'", BAD_CODE
        )
    return typed


def facility_name(typed: str) -> str:
    """A name as stored: spaces tidied, 2 to 120 characters (FacilityError NAME)."""
    name = " ".join(typed.split())
    if not 2 <= len(name) <= 120:
        raise FacilityError("the name must have 2 to 120 characters", NAME)
    return name


def version_of(key_prefix: str, revoked: bool, phones: Iterable[str]) -> str:
    """What a form remembers of the facility it was shown for: its key, whether it is
    revoked and its desk phones. A change naming another version is refused (STALE)."""
    seen = f"{key_prefix}|{revoked}|{','.join(sorted(phones))}"
    return hashlib.sha256(seen.encode()).hexdigest()[:16]


class Facilities:
    """Every change takes `by`, the actor the audit log names (`staff:7`, `cli:root`), and
    may take `expected`, the facility's `version` as the person asking saw it."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], now: Callable[[], datetime]
    ) -> None:
        self.sessions = sessions
        self.now = now
        self._verified: dict[str, tuple[float, FacilityRef]] = {}

    async def add(
        self, code: str, name: str, phones: Sequence[str] = (), *, by: str
    ) -> tuple[FacilityRef, str]:
        """A new facility and its API key, which is shown this once and never again."""
        code, name = facility_code(code), facility_name(name)
        prefix, key = _new_key()
        now = self.now()
        try:
            async with writing(self.sessions) as session:
                if await session.scalar(
                    select(models.Facility.id).where(models.Facility.code == code)
                ):
                    raise FacilityError(f"facility {code!r} already exists", CODE_TAKEN)
                await _refuse_taken(session, set(phones), None)
                facility = models.Facility(
                    code=code, name=name, key_prefix=prefix, key_hash=_hash(key), created_at=now
                )
                session.add(facility)
                await session.flush()
                session.add_all(
                    models.FacilityPhone(phone=p, facility_id=facility.id) for p in set(phones)
                )
                await phones_changed(session)  # its desk phones are known at once everywhere
                details = {"facility_id": facility.id, "code": code, "key_prefix": prefix}
                session.add(
                    entry(
                        by,
                        AuditAction.FACILITY_ADDED,
                        now,
                        details={**details, "phones": sorted(set(phones))},
                    )
                )
                await session.flush()
                return FacilityRef(facility.id, code, name), key
        except IntegrityError:
            raise FacilityError(
                f"facility {code!r} exists, or one of its phones belongs to another", CONFLICT
            ) from None

    async def new_key(self, code: str, *, by: str, expected: str | None = None) -> str:
        """Replace a facility's key (the old one stops working at once here, and within
        KEY_CACHE_SECONDS in the other processes); also lifts a revocation."""
        prefix, key = _new_key()
        now = self.now()
        async with writing(self.sessions) as session:
            facility = await self._get(session, code, expected)
            facility.key_prefix, facility.key_hash = prefix, _hash(key)
            if facility.revoked_at is not None:
                await phones_changed(session)  # its desk phones serve again
            facility.revoked_at = None
            session.add(
                entry(
                    by,
                    AuditAction.FACILITY_KEY_REPLACED,
                    now,
                    details={"facility_id": facility.id, "code": code, "key_prefix": prefix},
                )
            )
        self._verified.clear()
        return key

    async def revoke(self, code: str, *, by: str, expected: str | None = None) -> None:
        now = self.now()
        async with writing(self.sessions) as session:
            facility = await self._get(session, code, expected)
            facility.revoked_at = now
            await phones_changed(session)  # its desk phones stop at once everywhere
            session.add(
                entry(
                    by,
                    AuditAction.FACILITY_REVOKED,
                    now,
                    details={"facility_id": facility.id, "code": code},
                )
            )
        self._verified.clear()

    async def set_phones(
        self, code: str, phones: Sequence[str], *, by: str, expected: str | None = None
    ) -> None:
        now = self.now()
        try:
            async with writing(self.sessions) as session:
                facility = await self._get(session, code, expected)
                await _refuse_taken(session, set(phones), facility.id)
                replaced = await session.scalars(
                    delete(models.FacilityPhone)
                    .where(models.FacilityPhone.facility_id == facility.id)
                    .returning(models.FacilityPhone.phone)
                )
                callers_changed(session, *replaced)  # a plain DELETE: named here
                session.add_all(
                    models.FacilityPhone(phone=p, facility_id=facility.id) for p in set(phones)
                )
                await phones_changed(session)
                session.add(
                    entry(
                        by,
                        AuditAction.FACILITY_PHONES_SET,
                        now,
                        details={
                            "facility_id": facility.id,
                            "code": code,
                            "phones": sorted(set(phones)),
                        },
                    )
                )
        except IntegrityError:
            raise FacilityError(
                "one of these phones belongs to another facility", CONFLICT
            ) from None

    async def listing(self, code: str | None = None) -> list[dict[str, object]]:
        """Every facility (or the one of `code`), by code, with its `version`."""
        query = select(models.Facility).order_by(models.Facility.code)
        phone_query = select(models.FacilityPhone)
        if code is not None:
            query = query.where(models.Facility.code == code)
            phone_query = phone_query.join(
                models.Facility, models.Facility.id == models.FacilityPhone.facility_id
            ).where(models.Facility.code == code)
        async with self.sessions() as session:
            facilities = (await session.scalars(query)).all()
            phones = (await session.scalars(phone_query)).all()
        by_facility: dict[int, list[str]] = {}
        for phone in phones:
            by_facility.setdefault(phone.facility_id, []).append(phone.phone)
        rows: list[dict[str, object]] = []
        for f in facilities:
            desk = sorted(by_facility.get(f.id, []))
            revoked = f.revoked_at is not None
            rows.append(
                {
                    "code": f.code,
                    "name": f.name,
                    "key_prefix": f.key_prefix,
                    "revoked": revoked,
                    "phones": desk,
                    "created_at": f.created_at,
                    "version": version_of(f.key_prefix, revoked, desk),
                }
            )
        return rows

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
    async def _get(
        session: AsyncSession, code: str, expected: str | None = None
    ) -> models.Facility:
        facility = await session.scalar(
            select(models.Facility).where(models.Facility.code == code).with_for_update()
        )
        if facility is None:
            raise FacilityError(f"no facility with code {code!r}", NO_FACILITY)
        if expected is not None:
            phones = await session.scalars(
                select(models.FacilityPhone.phone).where(
                    models.FacilityPhone.facility_id == facility.id
                )
            )
            current = version_of(facility.key_prefix, facility.revoked_at is not None, phones.all())
            if current != expected:
                raise FacilityError(f"facility {code!r} changed meanwhile", STALE)
        return facility


async def _refuse_taken(session: AsyncSession, phones: set[str], facility_id: int | None) -> None:
    """Refuse a desk phone of another facility, or a field agent's: the short code would
    not know whether its caller checks cover or registers households."""
    if not phones:
        return
    others = (
        select(models.FacilityPhone.phone, models.Facility.code)
        .join(models.Facility, models.Facility.id == models.FacilityPhone.facility_id)
        .where(models.FacilityPhone.phone.in_(sorted(phones)))
        .order_by(models.FacilityPhone.phone)
    )
    if facility_id is not None:
        others = others.where(models.FacilityPhone.facility_id != facility_id)
    taken = (await session.execute(others)).first()
    if taken is not None:
        raise FacilityError(
            f"{taken.phone} is already one of the desk phones of another facility, {taken.code}",
            PHONE_TAKEN,
            taken.phone,
        )
    agent_phone = await session.scalar(
        select(models.Agent.phone)
        .where(models.Agent.phone.in_(sorted(phones)))
        .order_by(models.Agent.phone)
    )
    if agent_phone is not None:
        raise FacilityError(f"{agent_phone} is a field agent's phone", AGENT_PHONE, agent_phone)


def _new_key() -> tuple[str, str]:
    prefix = secrets.token_hex(6)
    return prefix, f"alf_{prefix}_{secrets.token_urlsafe(32)}"
