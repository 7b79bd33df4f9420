"""One-time codes with which a person sets their own dashboard password: given by a
central admin (or `alafia staff`), shown once, kept only as their SHA-256, valid 24 hours,
used once. Meanwhile the account's password is one nobody knows."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from db import models
from gateway.secrets_kdf import hash_secret_async

CODE_LIFETIME = timedelta(hours=24)
# Read out over a phone or copied from a note: no 0/O, no 1/I/L, no U/V mix-ups.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"
CODE_LENGTH = 16  # about 78 bits: guessing one in its 24 hours is out of reach


@dataclass(frozen=True)
class PasswordCode:
    code: str  # shown once to the admin, e.g. "ABCD-EFGH-JKMN-PQRS"; never stored
    expires_at: datetime


def new_password_code() -> str:
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(code[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def code_hash(typed: str) -> str:
    """The stored form of a code, as typed or pasted: case, spaces and dashes ignored."""
    code = re.sub(r"[\s\-]", "", typed).upper()[: CODE_LENGTH * 2]
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def new_code(now: datetime) -> PasswordCode:
    return PasswordCode(new_password_code(), now + CODE_LIFETIME)


def give_code(account: models.StaffAccount, code: PasswordCode) -> None:
    account.password_code_hash = code_hash(code.code)
    account.password_code_expires_at = code.expires_at


def take_code_back(account: models.StaffAccount) -> None:
    account.password_code_hash = None
    account.password_code_expires_at = None


async def unusable_password() -> str:
    """A hash no one knows the password of: until the code is used, no password logs in.
    A real scrypt hash, so that a login tried meanwhile costs what any other does."""
    return await hash_secret_async(secrets.token_urlsafe(32))
