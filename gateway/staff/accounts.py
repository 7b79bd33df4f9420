"""Staff accounts: who may log in to the dashboard, with which role and over which part
of the scheme, and the login check itself.

Passwords are kept only as scrypt hashes (`gateway.secrets_kdf`), checked in a worker
thread. Five wrong passwords in a row lock an account for fifteen minutes; a right one
resets the count. An unknown email costs the same scrypt check as a known one, so the
time of an answer does not tell whether an account exists. Every login, failure, lock
and change of an account is written to the audit log in the same transaction; never
the password.

From the dashboard a central admin never types nor sees anyone's password: adding an
account or resetting a password gives a one-time code (`PasswordCode`: shown once, kept
only as its SHA-256, valid 24 hours, used once) with which the person sets their own at
`/admin/password`; meanwhile the old password no longer works. The shell's `alafia staff`
and the dashboard's pages go through this same service, under the same rules.
"""

from __future__ import annotations

import hashlib
import re
import secrets
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
CODE_LIFETIME = timedelta(hours=24)
# Read out over a phone or copied from a note: no 0/O, no 1/I/L, no U/V mix-ups.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"
CODE_LENGTH = 16  # about 78 bits: guessing one in its 24 hours is out of reach
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Checked when the email is unknown, so that a miss takes as long as a wrong password.
_DUMMY_HASH = hash_secret("not a password anyone has")

# Outcomes of `authenticate`.


class LoginOutcome(StrEnum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"  # unknown email, wrong password or disabled account
    LOCKED = "locked"


class StaffAccountError(ValueError):
    """Bad input to an account change, said in words an operator can act on. `reason`
    names it for the dashboard's catalogues (`accounts.error.<reason>`), `field` is the
    form field it is about."""

    def __init__(self, message: str, reason: str = "invalid", field: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class PasswordCode:
    code: str  # shown once to the admin, e.g. "ABCD-EFGH-JKMN-PQRS"; never stored
    expires_at: datetime


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
    # Until when the one-time code given to set a password works (None: none given).
    password_code_until: datetime | None = None

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
        raise StaffAccountError(
            f"the password must have at least {MIN_PASSWORD} characters",
            "password_short",
            "password",
        )
    if len(password) > MAX_PASSWORD:
        raise StaffAccountError(
            f"the password must have at most {MAX_PASSWORD} characters", "password_long", "password"
        )


def new_password_code() -> str:
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(code[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def code_hash(typed: str) -> str:
    """The stored form of a code, as typed or pasted: case, spaces and dashes ignored."""
    code = re.sub(r"[\s\-]", "", typed).upper()[: CODE_LENGTH * 2]
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


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
        email = _checked_email(email)
        _check_role(role)
        check_password(password)
        return await self._add(email, role, scope_code, await hash_secret_async(password), actor)

    async def add_with_code(
        self, email: str, role: str, scope_code: str | None, actor: str
    ) -> tuple[int, PasswordCode]:
        """An account whose person sets their own password with the code returned."""
        email = _checked_email(email)
        _check_role(role)
        code = _new_code(self.now())
        account_id = await self._add(
            email, role, scope_code, await _unusable_password(), actor, code
        )
        return account_id, code

    async def _add(
        self,
        email: str,
        role: str,
        scope_code: str | None,
        password_hash: str,
        actor: str,
        code: PasswordCode | None = None,
    ) -> int:
        now = self.now()
        async with writing(self.sessions) as session:
            unit = await _scope_unit(session, role, scope_code)
            if await session.scalar(
                select(models.StaffAccount.id).where(models.StaffAccount.email == email)
            ):
                raise StaffAccountError(
                    f"an account for {email} already exists", "email_taken", "email"
                )
            account = models.StaffAccount(
                email=email,
                role=role,
                scope_unit_id=unit.id if unit else None,
                password_hash=password_hash,
                failed_logins=0,
                created_at=now,
            )
            if code is not None:
                _give_code(account, code)
            session.add(account)
            await session.flush()
            details: dict[str, object] = {"staff_id": account.id, "role": role, "scope": scope_code}
            if code is not None:
                details["password_code_until"] = _iso(code.expires_at)
            session.add(audit.entry(actor, AuditAction.STAFF_ADDED, now, details=details))
            return account.id

    async def check_role(self, role: str, scope_code: str | None) -> None:
        """Raise `StaffAccountError` when an account may not have this role and scope."""
        _check_role(role)
        async with self.sessions() as session:
            await _scope_unit(session, role, scope_code)

    async def change_role(self, email: str, role: str, scope_code: str | None, actor: str) -> bool:
        """A new role or scope, with the account's sessions ended so that its person logs in
        again under it; False when both were already so."""
        _check_role(role)
        async with writing(self.sessions) as session:
            account = await _existing(session, email)
            unit = await _scope_unit(session, role, scope_code)
            before_unit = (
                await session.get(models.SchemeUnit, account.scope_unit_id)
                if account.scope_unit_id is not None
                else None
            )
            before = {"role": account.role, "scope": before_unit.code if before_unit else None}
            after = {"role": role, "scope": unit.code if unit else None}
            changes = {
                key: {"before": before[key], "after": after[key]}
                for key in after
                if before[key] != after[key]
            }
            if not changes:
                return False
            account.role = role
            account.scope_unit_id = unit.id if unit else None
            account.sessions_valid_from = datetime.now(UTC)  # the wall clock, as sessions'
            session.add(
                audit.entry(
                    actor,
                    AuditAction.STAFF_ROLE_CHANGED,
                    self.now(),
                    details=_about(account) | {"changes": changes},
                )
            )
            return True

    async def get(self, staff_id: int) -> StaffAccountView | None:
        async with self.sessions() as session:
            row = (
                await session.execute(_with_scope().where(models.StaffAccount.id == staff_id))
            ).first()
        return _view(*row) if row else None

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
            _take_code_back(account)
            session.add(
                audit.entry(actor, AuditAction.STAFF_DISABLED, self.now(), details=_about(account))
            )

    async def issue_password_code(self, email: str, actor: str) -> PasswordCode:
        """A one-time code with which the person sets a new password. The old password
        stops working now and every open session ends, as with `reset_password`."""
        code = _new_code(self.now())
        unusable = await _unusable_password()
        async with writing(self.sessions) as session:
            account = await _existing(session, email)
            if account.disabled_at is not None:
                raise StaffAccountError(f"{account.email} is disabled", "disabled")
            account.password_hash = unusable
            account.failed_logins = 0
            account.locked_until = None
            account.sessions_valid_from = datetime.now(UTC)
            _give_code(account, code)
            session.add(
                audit.entry(
                    actor,
                    AuditAction.STAFF_PASSWORD_CODE_ISSUED,
                    self.now(),
                    details=_about(account) | {"until": _iso(code.expires_at)},
                )
            )
        return code

    async def set_password(self, code: str, password: str, ip: str | None) -> StaffAccountView:
        """The person's own password, with the code they were given; the code is used up.
        A wrong, used or expired code is refused before any slow hashing is done."""
        hashed = code_hash(code)
        if await self._holder_of(hashed) is None:
            raise StaffAccountError("this code is unknown, used or expired", "code", "code")
        check_password(password)
        password_hash = await hash_secret_async(password)
        async with writing(self.sessions) as session:
            account = await self._code_holder(session, hashed)
            if account is None:  # used by a second tab meanwhile
                raise StaffAccountError("this code is unknown, used or expired", "code", "code")
            account.password_hash = password_hash
            account.failed_logins = 0
            account.locked_until = None
            account.sessions_valid_from = datetime.now(UTC)
            _take_code_back(account)
            session.add(
                audit.entry(
                    staff_actor(account.id),
                    AuditAction.STAFF_PASSWORD_SET,
                    self.now(),
                    details={"ip": ip},
                )
            )
            staff_id = account.id
        found = await self.get(staff_id)
        assert found is not None
        return found

    async def _holder_of(self, hashed: str) -> int | None:
        async with self.sessions() as session:
            account = await self._code_holder(session, hashed, lock=False)
            return account.id if account else None

    async def _code_holder(
        self, session: AsyncSession, hashed: str, *, lock: bool = True
    ) -> models.StaffAccount | None:
        """The active account holding this code, while it is valid."""
        query = select(models.StaffAccount).where(models.StaffAccount.password_code_hash == hashed)
        account = await session.scalar(query.with_for_update() if lock else query)
        if account is None or account.disabled_at is not None:
            return None
        until = account.password_code_expires_at
        if until is None or as_aware(until, self.now()) <= self.now():
            return None
        return account

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
            _take_code_back(account)  # a code given earlier must not undo this password
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
            raise StaffAccountError(
                "a mutual manager needs --scope, the code of their mutual", "scope_needed", "scope"
            )
        return None
    unit = await session.scalar(
        select(models.SchemeUnit).where(models.SchemeUnit.code == scope_code)
    )
    if unit is None:
        raise StaffAccountError(
            f"no scheme unit with code {scope_code!r}", "scope_unknown", "scope"
        )
    if role == StaffRole.MUTUAL_MANAGER and unit.level != UnitLevel.MUTUAL:
        raise StaffAccountError(
            f"{scope_code} is a {unit.level}: a mutual manager's scope is a mutual",
            "scope_mutual",
            "scope",
        )
    if role == StaffRole.CENTRAL_ADMIN and unit.level != UnitLevel.NETWORK:
        raise StaffAccountError(
            f"{scope_code} is a {unit.level}: a central admin sees the whole network (no --scope)",
            "scope_admin",
            "scope",
        )
    return unit


async def _existing(session: AsyncSession, email: str) -> models.StaffAccount:
    account = await session.scalar(
        select(models.StaffAccount)
        .where(models.StaffAccount.email == normalise_email(email))
        .with_for_update()
    )
    if account is None:
        raise StaffAccountError(f"no staff account for {normalise_email(email)}", "no_account")
    return account


def _checked_email(email: str) -> str:
    email = normalise_email(email)
    if not _EMAIL.fullmatch(email) or len(email) > 200:
        raise StaffAccountError(f"{email!r} is not an email address", "email", "email")
    return email


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise StaffAccountError(f"unknown role {role!r}: use {', '.join(ROLES)}", "role", "role")


def _new_code(now: datetime) -> PasswordCode:
    return PasswordCode(new_password_code(), now + CODE_LIFETIME)


def _give_code(account: models.StaffAccount, code: PasswordCode) -> None:
    account.password_code_hash = code_hash(code.code)
    account.password_code_expires_at = code.expires_at


def _take_code_back(account: models.StaffAccount) -> None:
    account.password_code_hash = None
    account.password_code_expires_at = None


async def _unusable_password() -> str:
    """A hash no one knows the password of: until the code is used, no password logs in.
    A real scrypt hash, so that a login tried meanwhile costs what any other does."""
    return await hash_secret_async(secrets.token_urlsafe(32))


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
        password_code_until=account.password_code_expires_at,
    )


def _about(account: models.StaffAccount) -> dict[str, object]:
    return {"staff_id": account.id}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
