"""How long to wait before trying again what failed: the SMS dispatcher and the register
sync back off the same way, each with its own ceiling."""

from __future__ import annotations

import random
from datetime import timedelta


def backoff(attempts: int, most: float, jitter: float) -> timedelta:
    """30 s after a first failure, doubling, never more than `most` seconds, stretched by
    up to `jitter` (a share) so that a backlog does not come back all at once."""
    seconds = min(30 * 2 ** max(attempts - 1, 0), most)
    return timedelta(seconds=seconds * random.uniform(1.0, 1.0 + jitter))
