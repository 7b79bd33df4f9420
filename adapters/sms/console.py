"""An SMS sender that prints: `alafia demo` and development, with no aggregator account.

Each message is written as a block a person can read in a terminal:

    --- SMS to +229******56 (1 segment) ---
    Votre cotisation de 1500 F est enregistrée.

Numbers are masked as in the logs, because a demo terminal is often projected or recorded.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TextIO
from uuid import uuid4

from adapters.sms.base import OutgoingSms, SendOutcome, SendResult
from menus.identifiers import mask_phone

NAME = "console"


class ConsoleSender:
    """An `SmsSender` that accepts everything and shows it on a text stream."""

    name = NAME

    def __init__(
        self,
        stream: TextIO | None = None,
        segments: Callable[[str], int] | None = None,
    ) -> None:
        # None means "sys.stdout at the time of sending", so redirections (and pytest's
        # capture) made after construction still see the output.
        self._stream = stream
        self._segments = segments  # optional: the caller's segment counter, shown if given

    async def send(self, sms: OutgoingSms) -> Sequence[SendResult]:
        stream = self._stream if self._stream is not None else sys.stdout
        label = ""
        if self._segments is not None:
            count = self._segments(sms.text)
            label = f" ({count} segment{'s' if count != 1 else ''})"
        results: list[SendResult] = []
        for phone in sms.phones:
            stream.write(f"--- SMS to {mask_phone(phone)}{label} ---\n{sms.text}\n")
            results.append(
                SendResult(phone, SendOutcome.ACCEPTED, provider_id=f"console-{uuid4().hex}")
            )
        stream.flush()
        return results

    async def aclose(self) -> None:
        return None
