"""Agents' PINs and staff passwords, hashed with scrypt (a slow, memory-hard KDF).

scrypt is in the standard library (hashlib, over OpenSSL): no extra dependency for the
one primitive we need. Parameters are stored with each hash, so they can be raised
later and old hashes still verify. A check costs about 50 ms of CPU and 16 MiB: async
code calls `hash_secret_async` / `verify_secret_async`, which run on a small pool of
their own. A flood of logins or PIN guesses then waits there, not in the default thread
pool that enrolments write through, and past `MAX_WAITING` it is refused (`KdfBusy`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# N=2**14, r=8, p=1: the interactive-login setting of the scrypt paper (16 MiB).
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
# Two threads: scrypt is CPU-bound, and these machines have two cores to share with USSD.
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kdf")
MAX_WAITING = 32  # about a second of queue: past that, a flood, not people
_waiting = 0


class KdfBusy(RuntimeError):
    """Too many PIN or password checks waiting: refused rather than queued for minutes."""


async def hash_secret_async(secret: str) -> str:
    return await _on_pool(hash_secret, secret)


async def verify_secret_async(secret: str, stored: str) -> bool:
    return await _on_pool(verify_secret, secret, stored)


async def _on_pool(function: Any, *args: str) -> Any:
    global _waiting
    if _waiting >= MAX_WAITING:
        raise KdfBusy("too many PIN or password checks at once")
    _waiting += 1
    try:
        return await asyncio.get_running_loop().run_in_executor(_POOL, function, *args)
    finally:
        _waiting -= 1


def hash_secret(secret: str) -> str:
    """`scrypt$N$r$p$salt$key`, both in URL-safe base64."""
    salt = os.urandom(SALT_BYTES)
    key = _derive(secret, salt, N, R, P)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(key)}"


def verify_secret(secret: str, stored: str) -> bool:
    """In constant time; False for a malformed stored value rather than an error."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(key)
        derived = _derive(secret, base64.urlsafe_b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(derived, expected)


def _derive(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=KEY_BYTES
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")
