"""Misbehaviour on request, shared by the provider peers: answer an error, or hang until
the test releases the server, before or after the request did its work."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from dataclasses import dataclass

from starlette.responses import Response

HANG_LIMIT = 30.0  # seconds; a forgotten release() must not hold the test server forever


@dataclass(frozen=True)
class Fault:
    status: int | None  # None: hang until released
    after: bool  # misbehave only after the request has been processed


class FaultInjection:
    """Mixed into a peer; the peer names its `routes` and words its errors."""

    routes: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._faults: dict[str, list[Fault]] = defaultdict(list)
        self._released = threading.Event()
        self._faults_lock = threading.Lock()  # the app runs in the server's thread

    def fail_next(
        self, route: str, status: int = 500, *, times: int = 1, after: bool = False
    ) -> None:
        self._add_fault(route, Fault(status, after), times)

    def hang_next(self, route: str, *, times: int = 1, after: bool = False) -> None:
        self._add_fault(route, Fault(None, after), times)

    def release(self) -> None:
        """Let every hanging request finish (they answer 504 to a client long gone)."""
        self._released.set()

    def _fault_response(self, status: int, hung: bool) -> Response:
        raise NotImplementedError

    def _add_fault(self, route: str, fault: Fault, times: int) -> None:
        if route not in self.routes:
            raise ValueError(f"unknown route {route!r}; use one of {self.routes}")
        with self._faults_lock:
            self._faults[route].extend([fault] * times)

    async def _fault(self, route: str, *, after: bool) -> Response | None:
        with self._faults_lock:
            queue = self._faults[route]
            if not queue or queue[0].after != after:
                return None
            fault = queue.pop(0)
        if fault.status is not None:
            return self._fault_response(fault.status, hung=False)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HANG_LIMIT
        while not self._released.is_set() and loop.time() < deadline:
            await asyncio.sleep(0.01)
        return self._fault_response(504, hung=True)
