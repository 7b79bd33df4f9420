"""The one interface every SMS sender implements.

A send names one text and the numbers that get it: Africa's Talking takes one text for
many numbers in a single call, which is how a campaign leaves quickly. Each number gets
its own answer, because one call can be accepted for some numbers and refused for others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class SendOutcome(StrEnum):
    ACCEPTED = "accepted"  # the aggregator took it; a delivery report may follow
    REFUSED = "refused"  # final for this number: invalid, blacklisted, no balance...
    RETRY = "retry"  # nothing is known to have left: try again later


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    text: str
    phones: tuple[str, ...]  # E.164, each at most once


@dataclass(frozen=True, slots=True)
class SendResult:
    phone: str
    outcome: SendOutcome
    provider_id: str | None = None  # the aggregator's message id, for delivery reports
    reason: str | None = None  # the aggregator's word for a refusal or an error
    cost: str | None = None  # as the aggregator states it, e.g. "XOF 25.0000"


class SmsSender(Protocol):
    name: str

    async def send(self, sms: OutgoingSms) -> Sequence[SendResult]:
        """One result per number of `sms`. Never raises for what happens on the wire:
        a timeout or an outage is a RETRY result for every number."""
        ...

    async def aclose(self) -> None: ...
