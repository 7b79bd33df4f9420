"""Staff accounts: who may log in to the dashboard, with which role and over which part
of the scheme, and the login check itself.

Passwords are kept only as scrypt hashes (`gateway.secrets_kdf`), checked in a worker
thread. Five wrong passwords in a row lock an account for fifteen minutes; a right one
resets the count. An unknown email costs the same scrypt check as a known one, so the
time of an answer does not tell whether an account exists. Every login, failure, lock
and change of an account is written to the audit log in the same transaction; never
the password.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import as_aware, writing
from db.values import AuditAction, StaffRole, UnitLevel
from gateway import audit
from gateway.actors import staff_actor
from gateway.secrets_kdf import hash_secret, hash_secret_async, verify_secret_async
from gateway.staff.scope import ROLES, Scope

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # scrypt reads all of it: a megabyte "password" is a denial of service
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Checked when the email is unknown, so that a miss takes as long as a wrong password.
_DUMMY_HASH = hash_secret("not a password anyone has")

# Outcomes of `authenticate`.


class LoginOutcome(StrEnum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"  # unknown email, wrong password or disabled account
    LOCKED = "locked"


class StaffAccountError(ValueError):
    """Bad input to an account change, said in words an operator can act on."""


@dataclass(frozen=True)
class StaffAccountView:
    id: int
    email: str
    role: str
    scope_code: str | None
    scope_path: str | None
    disabled_at: datetime | None
    locked_until: datetime | None
    last_login_at: datetime | None

    @property
    def scope(self) -> Scope:
        return Scope(self.role, self.scope_path)


@dataclass(frozen=True)
class LoginAttempt:
    outcome: LoginOutcome
    account: StaffAccountView | None = None  # only when OK


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise StaffAccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise StaffAccountError(f"the password must have at most {MAX_PASSWORD} characters")


class StaffAccounts:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], now: Callable[[], datetime]
    ) -> None:
        self.sessions = sessions
        self.now = now

    async def add(
        self, email: str, role: str, scope_code: str | None, password: str, actor: str
    ) -> int:
        """The new account's id. `scope_code` is a scheme unit's code (None: everything,
        for central admins and viewers of the whole scheme)."""
        email = normalise_email(email)
        if not _EMAIL.fullmatch(email) or len(email) > 200:
            raise StaffAccountError(f"{email!r} is not an email address")
        if role not in ROLES:
            raise StaffAccountError(f"unknown role {role!r}: use {', '.join(ROLES)}")
        check_password(password)
        password_hash = await hash_secret_async(password)
        now = self.now()
        async with writing(self.sessions) as session:
            unit = await _scope_unit(session, role, scope_code)
            if await session.scalar(
                select(models.StaffAccount.id).where(models.StaffAccount.email == email)
            ):
                raise StaffAccountError(f"an account for {email} already exists")
            account = models.StaffAccount(
                email=email,
                role=role,
                scope_unit_id=unit.id if unit else None,
                password_hash=password_hash,
                failed_logins=0,
                created_at=now,
            )
            session.add(account)
            await session.flush()
            session.add(
                audit.entry(
                    actor,
                    AuditAction.STAFF_ADDED,
                    now,
                    details={"staff_id": account.id, "role": role, "scope": scope_code},
                )
            )
            return account.id

    async def list(self) -> list[StaffAccountView]:
        async with self.sessions() as session:
            rows = (await session.execute(_with_scope().order_by(models.StaffAccount.email))).all()
        return [_view(account, code, path) for account, code, path in rows]

    async def find(self, email: str) -> StaffAccountView | None:
        async with self.sessions() as session:
            row = (
                await session.execute(
                    _with_scope().where(models.StaffAccount.email == normalise_email(email))
                )
            ).first()
        return _view(*row) if row else None

    async def disable(self, email: str, actor: str) -> None:
        """The account can no longer log in, and its open sessions stop working at their
        next request (`current_staff` reads the account every time)."""
        async with writing(self.sessions) as session:
            account = await _existing(session, email)
            account.disabled_at = account.disabled_at or self.now()
            session.add(
                audit.entry(actor, AuditAction.STAFF_DISABLED, self.now(), details=_about(account))
            )

    async def reset_password(self, email: str, password: str, actor: str) -> None:
        """A new password; also lifts a lock, as the person has just been checked by whoever
        ran the reset."""
        check_password(password)
        password_hash = await hash_secret_async(password)
        async with writing(self.sessions) as session:
            account = await _existing(session, email)
            account.password_hash = password_hash
            account.failed_logins = 0
            account.locked_until = None
            # Whoever held the old password is logged out everywhere. The wall clock, as
            # sessions' start times are (the scheme's clock may be set in tests).
            account.sessions_valid_from = datetime.now(UTC)
            session.add(
                audit.entry(
                    actor, AuditAction.STAFF_PASSWORD_RESET, self.now(), details=_about(account)
                )
            )

    async def unlock(self, email: str, actor: str) -> None:
        async with writing(self.sessions) as session:
            account = await _existing(session, email)
            account.failed_logins = 0
            account.locked_until = None
            session.add(
                audit.entry(actor, AuditAction.STAFF_UNLOCKED, self.now(), details=_about(account))
            )

    async def authenticate(self, email: str, password: str, ip: str | None) -> LoginAttempt:
        """Check a login. Only OK carries the account; the caller says the same thing for
        every failure, so that a stranger learns nothing about which emails exist."""
        email = normalise_email(email)[:200]
        password = password[:MAX_PASSWORD]
        async with self.sessions() as session:
            row = (
                await session.execute(_with_scope().where(models.StaffAccount.email == email))
            ).first()
        stored = row[0].password_hash if row else _DUMMY_HASH
        # The slow part, outside any transaction: no row is locked while scrypt runs.
        matches = await verify_secret_async(password, stored)
        now = self.now()
        details: dict[str, object] = {"ip": ip}
        async with writing(self.sessions) as session:
            if row is None:
                session.add(
                    audit.entry(
                        "anonymous",
                        AuditAction.LOGIN_FAILED,
                        now,
                        details=details | {"reason": "unknown_account"},
                    )
                )
                return LoginAttempt(LoginOutcome.BAD_CREDENTIALS)
            account = await session.get(models.StaffAccount, row[0].id, with_for_update=True)
            if account is None:  # deleted between the two reads
                return LoginAttempt(LoginOutcome.BAD_CREDENTIALS)
            actor = staff_actor(account.id)
            locked_until = account.locked_until and as_aware(account.locked_until, now)
            if account.disabled_at is not None:
                reason = "disabled"
            elif locked_until is not None and locked_until > now:
                session.add(
                    audit.entry(
                        actor, AuditAction.LOGIN_FAILED, now, details=details | {"reason": "locked"}
                    )
                )
                return LoginAttempt(LoginOutcome.LOCKED)
            elif matches:
                account.failed_logins = 0
                account.locked_until = None
                account.last_login_at = now
                session.add(audit.entry(actor, AuditAction.LOGIN, now, details=details))
                return LoginAttempt(LoginOutcome.OK, _view(account, row[1], row[2]))
            else:
                reason = "wrong_password"
            session.add(
                audit.entry(
                    actor, AuditAction.LOGIN_FAILED, now, details=details | {"reason": reason}
                )
            )
            if reason == "wrong_password":
                account.failed_logins = (account.failed_logins or 0) + 1
                if account.failed_logins >= MAX_FAILURES:
                    # A fresh count after the lock: five more tries once it is over.
                    account.failed_logins = 0
                    account.locked_until = now + LOCK_FOR
                    session.add(
                        audit.entry(
                            actor,
                            AuditAction.LOCKED,
                            now,
                            details=details | {"until": _iso(now + LOCK_FOR)},
                        )
                    )
                    return LoginAttempt(LoginOutcome.LOCKED)
            return LoginAttempt(LoginOutcome.BAD_CREDENTIALS)

    async def record_logout(self, staff_id: int, ip: str | None) -> None:
        async with writing(self.sessions) as session:
            session.add(
                audit.entry(
                    staff_actor(staff_id), AuditAction.LOGOUT, self.now(), details={"ip": ip}
                )
            )


async def _scope_unit(
    session: AsyncSession, role: str, scope_code: str | None
) -> models.SchemeUnit | None:
    """The unit a new account sees, checked against what its role allows."""
    if scope_code is None or scope_code == "":
        if role == StaffRole.MUTUAL_MANAGER:
            raise StaffAccountError("a mutual manager needs --scope, the code of their mutual")
        return None
    unit = await session.scalar(
        select(models.SchemeUnit).where(models.SchemeUnit.code == scope_code)
    )
    if unit is None:
        raise StaffAccountError(f"no scheme unit with code {scope_code!r}")
    if role == StaffRole.MUTUAL_MANAGER and unit.level != UnitLevel.MUTUAL:
        raise StaffAccountError(
            f"{scope_code} is a {unit.level}: a mutual manager's scope is a mutual"
        )
    if role == StaffRole.CENTRAL_ADMIN and unit.level != UnitLevel.NETWORK:
        raise StaffAccountError(
            f"{scope_code} is a {unit.level}: a central admin sees the whole network (no --scope)"
        )
    return unit


async def _existing(session: AsyncSession, email: str) -> models.StaffAccount:
    account = await session.scalar(
        select(models.StaffAccount)
        .where(models.StaffAccount.email == normalise_email(email))
        .with_for_update()
    )
    if account is None:
        raise StaffAccountError(f"no staff account for {normalise_email(email)}")
    return account


def _with_scope() -> Select[models.StaffAccount, str | None, str | None]:
    """Accounts with the code and path of their unit (None for the whole scheme)."""
    return select(models.StaffAccount, models.SchemeUnit.code, models.SchemeUnit.path).outerjoin(
        models.SchemeUnit, models.SchemeUnit.id == models.StaffAccount.scope_unit_id
    )


def _view(account: models.StaffAccount, code: str | None, path: str | None) -> StaffAccountView:
    return StaffAccountView(
        id=account.id,
        email=account.email,
        role=account.role,
        scope_code=code,
        scope_path=path,
        disabled_at=account.disabled_at,
        locked_until=account.locked_until,
        last_login_at=account.last_login_at,
    )


def _about(account: models.StaffAccount) -> dict[str, object]:
    return {"staff_id": account.id}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
