"""A staff account as pages and commands show it: its role, scope, state and whether a
one-time password code is waiting, read with its unit's code and path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select

from db import models
from gateway.staff.scope import Scope


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


def with_scope() -> Select[models.StaffAccount, str | None, str | None]:
    """Accounts with the code and path of their unit (None for the whole scheme)."""
    return select(models.StaffAccount, models.SchemeUnit.code, models.SchemeUnit.path).outerjoin(
        models.SchemeUnit, models.SchemeUnit.id == models.StaffAccount.scope_unit_id
    )


def view_of(account: models.StaffAccount, code: str | None, path: str | None) -> StaffAccountView:
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
