"""The running gateway behind a test app: its shared infrastructure and its capabilities,
for tests that drive a service directly (a worker job, a ledger entry)."""

from __future__ import annotations

from starlette.applications import Starlette

from gateway.capability import C
from gateway.infrastructure import Shared
from gateway.process import Gateway


def gateway_of(app: Starlette) -> Gateway:
    found: Gateway = app.state.gateway
    return found


def shared(app: Starlette) -> Shared:
    return gateway_of(app).shared


def part(app: Starlette, kind: type[C]) -> C:
    """The capability `kind` of the app's gateway, e.g. `part(app, Payments).ledger`."""
    return gateway_of(app).get(kind)
