"""Staff accounts: who may log in to the dashboard, with which role and over which part
of the scheme, and the login check itself.

Passwords are kept only as scrypt hashes (`gateway.secrets_kdf`), checked in a worker
thread. Five wrong passwords from one address lock the account for fifteen minutes at
that address only, and thirty from one address stop its tries at any account
(`login_limits`, counted in Redis); a right one resets the count. An unknown email costs
the same scrypt check as a known one, so the time of an answer does not tell whether an
account exists. Every login, failure, lock and change of an account is written to the
audit log; never the password.

From the dashboard a central admin never types nor sees anyone's password: adding an
account or resetting a password gives a one-time code (`PasswordCode`: shown once, kept
only as its SHA-256, valid 24 hours, used once) with which the person sets their own at
`/admin/password`; meanwhile the old password no longer works. The shell's `alafia staff`
and the dashboard's pages go through this same service, under the same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import as_aware, writing
from db.values import AuditAction
from gateway import audit
from gateway.actors import staff_actor
from gateway.metrics import events
from gateway.secrets_kdf import hash_secret, hash_secret_async, verify_secret_async
from gateway.staff.account_rules import (
    MAX_PASSWORD,
    StaffAccountError,
    check_password,
    check_role,
    checked_email,
    normalise_email,
    scope_unit,
)
from gateway.staff.account_views import StaffAccountView, view_of, with_scope
from gateway.staff.login_limits import LoginLimits
from gateway.staff.password_codes import (
    PasswordCode,
    code_hash,
    give_code,
    new_code,
    take_code_back,
    unusable_password,
)

# Checked when the email is unknown, so that a miss takes as long as a wrong password.
_DUMMY_HASH = hash_secret("not a password anyone has")

# Outcomes of `authenticate`.


class LoginOutcome(StrEnum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"  # unknown email, wrong password or disabled account
    LOCKED = "locked"  # too many failures for this account from this address
    THROTTLED = "throttled"  # too many failures from this address, whatever the account


@dataclass(frozen=True)
class LoginAttempt:
    outcome: LoginOutcome
    account: StaffAccountView | None = None  # only when OK
    retry_after: int | None = None  # seconds, when a limit refused or locked


class StaffAccounts:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        now: Callable[[], datetime],
        logins: LoginLimits | None = None,
    ) -> None:
        self.sessions = sessions
        self.now = now
        self._logins = logins  # only the login page and the unlocking need Redis

    @property
    def logins(self) -> LoginLimits:
        if self._logins is None:
            raise RuntimeError("logins are checked with the login limits (Redis)")
        return self._logins

    async def _lift(self, email: str) -> None:
        """Lift the account's per-address locks too, where Redis is at hand."""
        if self._logins is not None:
            await self._logins.lift(email)

    async def add(
        self, email: str, role: str, scope_code: str | None, password: str, actor: str
    ) -> int:
        """The new account's id. `scope_code` is a scheme unit's code (None: everything,
        for central admins and viewers of the whole scheme)."""
        email = checked_email(email)
        check_role(role)
        check_password(password)
        return await self._add(email, role, scope_code, await hash_secret_async(password), actor)

    async def add_with_code(
        self, email: str, role: str, scope_code: str | None, actor: str
    ) -> tuple[int, PasswordCode]:
        """An account whose person sets their own password with the code returned."""
        email = checked_email(email)
        check_role(role)
        code = new_code(self.now())
        account_id = await self._add(
            email, role, scope_code, await unusable_password(), actor, code
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
            unit = await scope_unit(session, role, scope_code)
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
                give_code(account, code)
            session.add(account)
            await session.flush()
            details: dict[str, object] = {"staff_id": account.id, "role": role, "scope": scope_code}
            if code is not None:
                details["password_code_until"] = _iso(code.expires_at)
            session.add(audit.entry(actor, AuditAction.STAFF_ADDED, now, details=details))
            return account.id

    async def check_role(self, role: str, scope_code: str | None) -> None:
        """Raise `StaffAccountError` when an account may not have this role and scope."""
        check_role(role)
        async with self.sessions() as session:
            await scope_unit(session, role, scope_code)

    async def change_role(self, email: str, role: str, scope_code: str | None, actor: str) -> bool:
        """A new role or scope, with the account's sessions ended so that its person logs in
        again under it; False when both were already so."""
        check_role(role)
        async with writing(self.sessions) as session:
            account = await _existing(session, email)
            unit = await scope_unit(session, role, scope_code)
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
                await session.execute(with_scope().where(models.StaffAccount.id == staff_id))
            ).first()
        return view_of(*row) if row else None

    async def list(self) -> list[StaffAccountView]:
        async with self.sessions() as session:
            rows = (await session.execute(with_scope().order_by(models.StaffAccount.email))).all()
        return [view_of(account, code, path) for account, code, path in rows]

    async def find(self, email: str) -> StaffAccountView | None:
        async with self.sessions() as session:
            row = (
                await session.execute(
                    with_scope().where(models.StaffAccount.email == normalise_email(email))
                )
            ).first()
        return view_of(*row) if row else None

    async def disable(self, email: str, actor: str) -> None:
        """The account can no longer log in, and its open sessions stop working at their
        next request (`current_staff` reads the account every time)."""
        async with writing(self.sessions) as session:
            account = await _existing(session, email)
            account.disabled_at = account.disabled_at or self.now()
            take_code_back(account)
            session.add(
                audit.entry(actor, AuditAction.STAFF_DISABLED, self.now(), details=_about(account))
            )

    async def issue_password_code(self, email: str, actor: str) -> PasswordCode:
        """A one-time code with which the person sets a new password. The old password
        stops working now and every open session ends, as with `reset_password`."""
        code = new_code(self.now())
        unusable = await unusable_password()
        async with writing(self.sessions) as session:
            account = await _existing(session, email)
            if account.disabled_at is not None:
                raise StaffAccountError(f"{account.email} is disabled", "disabled")
            account.password_hash = unusable
            account.failed_logins = 0
            account.locked_until = None
            account.sessions_valid_from = datetime.now(UTC)
            give_code(account, code)
            session.add(
                audit.entry(
                    actor,
                    AuditAction.STAFF_PASSWORD_CODE_ISSUED,
                    self.now(),
                    details=_about(account) | {"until": _iso(code.expires_at)},
                )
            )
        await self._lift(normalise_email(email))
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
            take_code_back(account)
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
            take_code_back(account)  # a code given earlier must not undo this password
            # Whoever held the old password is logged out everywhere. The wall clock, as
            # sessions' start times are (the scheme's clock may be set in tests).
            account.sessions_valid_from = datetime.now(UTC)
            session.add(
                audit.entry(
                    actor, AuditAction.STAFF_PASSWORD_RESET, self.now(), details=_about(account)
                )
            )
        await self._lift(normalise_email(email))

    async def unlock(self, email: str, actor: str) -> None:
        async with writing(self.sessions) as session:
            account = await _existing(session, email)
            account.failed_logins = 0
            account.locked_until = None
            session.add(
                audit.entry(actor, AuditAction.STAFF_UNLOCKED, self.now(), details=_about(account))
            )
        await self._lift(normalise_email(email))

    async def authenticate(self, email: str, password: str, ip: str | None) -> LoginAttempt:
        """Check a login. Only OK carries the account; the caller says the same thing for
        every failure, so that a stranger learns nothing about which emails exist.

        Too many failures lock the account for the address they came from only, and too
        many from one address stop it whatever the account (`login_limits`): both are
        looked at before the password is."""
        email = normalise_email(email)[:200]
        password = password[:MAX_PASSWORD]
        details: dict[str, object] = {"ip": ip}
        refusal = await self.logins.refusal(email, ip)
        if refusal is not None:
            why = "too_many_from_address" if refusal.per_address else "locked"
            await self._audit(email, AuditAction.LOGIN_FAILED, details | {"reason": why})
            outcome = LoginOutcome.THROTTLED if refusal.per_address else LoginOutcome.LOCKED
            return LoginAttempt(outcome, retry_after=refusal.verdict.retry_after)
        async with self.sessions() as session:
            row = (
                await session.execute(with_scope().where(models.StaffAccount.email == email))
            ).first()
        stored = row[0].password_hash if row else _DUMMY_HASH
        # The slow part, outside any transaction: no row is locked while scrypt runs.
        matches = await verify_secret_async(password, stored)
        now = self.now()
        async with writing(self.sessions) as session:
            account = (
                await session.get(models.StaffAccount, row[0].id, with_for_update=True)
                if row is not None
                else None
            )
            reason = _refused_because(account, matches)
            actor = staff_actor(account.id) if account is not None else "anonymous"
            if reason is not None:
                failed = details | {"reason": reason}
                session.add(audit.entry(actor, AuditAction.LOGIN_FAILED, now, details=failed))
            elif account is not None and row is not None:
                account.last_login_at = now
                session.add(audit.entry(actor, AuditAction.LOGIN, now, details=details))
                view = view_of(account, row[1], row[2])
        if reason is None:
            await self.logins.succeeded(email, ip)
            return LoginAttempt(LoginOutcome.OK, view)
        locked = await self.logins.failed(email, ip)
        if locked is None:
            return LoginAttempt(LoginOutcome.BAD_CREDENTIALS)
        if row is not None:
            await self._locked(email, now + timedelta(seconds=locked.retry_after), details)
        return LoginAttempt(LoginOutcome.LOCKED, retry_after=locked.retry_after)

    async def _locked(self, email: str, until: datetime, details: dict[str, object]) -> None:
        """Audit a lock at one address, and show staff the account was locked out there
        (`locked_until`: the account page and `alafia staff list` read it)."""
        async with writing(self.sessions) as session:
            account = await session.scalar(
                select(models.StaffAccount)
                .where(models.StaffAccount.email == email)
                .with_for_update()
            )
            if account is None:
                return
            account.locked_until = until
            session.add(
                audit.entry(
                    staff_actor(account.id),
                    AuditAction.LOCKED,
                    self.now(),
                    details=details | {"until": _iso(until)},
                )
            )
        events.locked_out(events.STAFF)

    async def _audit(self, email: str, action: AuditAction, details: dict[str, object]) -> None:
        """An entry about a login, by the account when it exists, else by "anonymous"."""
        async with writing(self.sessions) as session:
            account_id = await session.scalar(
                select(models.StaffAccount.id).where(models.StaffAccount.email == email)
            )
            actor = staff_actor(account_id) if account_id is not None else "anonymous"
            session.add(audit.entry(actor, action, self.now(), details=details))

    async def record_logout(self, staff_id: int, ip: str | None) -> None:
        async with writing(self.sessions) as session:
            session.add(
                audit.entry(
                    staff_actor(staff_id), AuditAction.LOGOUT, self.now(), details={"ip": ip}
                )
            )


def _refused_because(account: models.StaffAccount | None, matches: bool) -> str | None:
    """Why a login fails (audited), or None when it succeeds."""
    if account is None:
        return "unknown_account"
    if account.disabled_at is not None:
        return "disabled"
    # `locked_until` only tells staff that an address was locked out (see `_locked`): the
    # lock itself is per address, in Redis, so that it keeps out nobody else.
    return None if matches else "wrong_password"


async def _existing(session: AsyncSession, email: str) -> models.StaffAccount:
    account = await session.scalar(
        select(models.StaffAccount)
        .where(models.StaffAccount.email == normalise_email(email))
        .with_for_update()
    )
    if account is None:
        raise StaffAccountError(f"no staff account for {normalise_email(email)}", "no_account")
    return account


def _about(account: models.StaffAccount) -> dict[str, object]:
    return {"staff_id": account.id}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
