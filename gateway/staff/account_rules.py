"""What a staff account must be: an email address, a password of a sane length, a known
role, and a scope that role allows. Said in words an operator can act on."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.values import StaffRole, UnitLevel
from gateway.staff.scope import ROLES

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # scrypt reads all of it: a megabyte "password" is a denial of service
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class StaffAccountError(ValueError):
    """Bad input to an account change, said in words an operator can act on. `reason`
    names it for the dashboard's catalogues (`accounts.error.<reason>`), `field` is the
    form field it is about."""

    def __init__(self, message: str, reason: str = "invalid", field: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.field = field


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


async def scope_unit(
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


def checked_email(email: str) -> str:
    email = normalise_email(email)
    if not _EMAIL.fullmatch(email) or len(email) > 200:
        raise StaffAccountError(f"{email!r} is not an email address", "email", "email")
    return email


def check_role(role: str) -> None:
    if role not in ROLES:
        raise StaffAccountError(f"unknown role {role!r}: use {', '.join(ROLES)}", "role", "role")
