"""What the fault tests share: a peer served behind a gate, and the data of each test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.support.gate import Gate
from tests.support.http_server import serve


@dataclass
class Gated:
    """A protocol peer on a loopback port, behind a gate the test closes on one call."""

    peer: Any
    gate: Gate
    url: str


@contextmanager
def gated(peer: Any) -> Iterator[Gated]:
    gate = Gate(peer.app)
    with serve(gate) as url:
        try:
            yield Gated(peer, gate, url)
        finally:
            gate.release()  # a held call ends, so the server can stop
