"""HTTP plumbing shared by the register adapters: the one place that decides what a failure
means for the outbox (retry later, dead-letter, or log and retry)."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.register.errors import (
    RegisterMalformedAnswer,
    RegisterRejected,
    RegisterUnavailable,
)

# Statuses that say "not now" rather than "not this": the same request may pass later.
_TRY_AGAIN = frozenset({408, 425, 429})
# The register refuses *us*: a credentials or rights problem, fixed in configuration.
_REFUSES_US = frozenset({401, 403})
# Enough of an error body to diagnose, not enough to copy personal data into every log line.
_SNIPPET = 300


def timeout(seconds: float) -> httpx.Timeout:
    """Per-phase timeouts; connecting fails fast so a register that is down does not hold a
    worker for the whole read budget."""
    return httpx.Timeout(seconds, connect=min(seconds, 5.0))


async def send(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send one request; a transport failure becomes RegisterUnavailable."""
    try:
        return await client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise RegisterUnavailable(f"{method} {url}: no answer within the timeout") from exc
    except httpx.TransportError as exc:
        raise RegisterUnavailable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    except httpx.DecodingError as exc:  # a body that says gzip and is not
        raise RegisterMalformedAnswer(f"{method} {url}: {type(exc).__name__}: {exc}") from exc


def raise_for_login(response: httpx.Response) -> None:
    """A refused login is the configuration's fault (a wrong base URL answers 404, wrong
    credentials 400 or 401), never an event's: keep the events, report the cause."""
    try:
        raise_for_status(response)
    except RegisterRejected as exc:
        raise RegisterUnavailable(f"{exc} (check the register's URL and credentials)") from exc


def raise_for_status(response: httpx.Response) -> None:
    """Turn a non-2xx answer into the error that tells the outbox what to do."""
    status = response.status_code
    if 200 <= status < 300:
        return
    where = f"{response.request.method} {response.request.url.path}"
    detail = f"{where}: HTTP {status}: {response.text[:_SNIPPET]}"
    if status >= 500 or status in _TRY_AGAIN:
        raise RegisterUnavailable(detail)
    if status in _REFUSES_US:
        raise RegisterUnavailable(f"{detail} (check the register credentials and rights)")
    if status >= 400:
        raise RegisterRejected(detail, status_code=status)
    # A redirect means a wrong base URL or a proxy in the way: nothing the event can fix.
    raise RegisterMalformedAnswer(detail)
