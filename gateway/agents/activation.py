"""One-time activation codes: what a new agent (or one whose PIN staff reset) types on the
short code before choosing a first PIN. Without it, anyone able to post to /ussd as the
agent's phone could choose the PIN first and take the account.

Staff get the code from `alafia agents add|reset-pin` (or the dashboard) and hand it
over; it works once, for `VALID_FOR`. Only its slow-KDF hash is stored, with the expiry.
Wrong codes count toward the PIN lock-out (gateway.agents.pins).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gateway.secrets_kdf import hash_secret_async

VALID_FOR = timedelta(hours=72)
DIGITS = 8  # typed on a phone keypad; a hundred million codes for about 20 tries


@dataclass(frozen=True)
class Activation:
    """A code just issued: shown to staff this once, never stored."""

    agent_id: int
    code: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class Issued:
    code: str = field(repr=False)
    code_hash: str = field(repr=False)
    expires_at: datetime


async def issue(now: datetime) -> Issued:
    """A new code, its hash (computed off the event loop) and its expiry."""
    code = f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
    return Issued(code, await hash_secret_async(code), now + VALID_FOR)


def shown(code: str) -> str:
    """In two groups, easier to read out: 1234 5678 (typed with or without the space)."""
    return f"{code[:4]} {code[4:]}"


def typed(text: str) -> str:
    """The code as the agent typed it, spaces left out."""
    return "".join(text.split())


def grant_of(code_hash: str) -> str:
    """What a session keeps once the agent gave the right code: it names that code's
    hash, so setting the PIN can check that the same code is still unused, and tells
    nothing about the code itself."""
    return hashlib.sha256(code_hash.encode("ascii")).hexdigest()
