"""HTTP and JSON plumbing shared by the provider adapters.

Its one job is to turn what can go wrong on the wire into the few outcomes the gateway acts
on: "we do not know" (`ProviderUnavailable`), "refused" and "misconfigured" are decided by each
adapter from the status code, because only it knows what a 404 or a 400 means for its call.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from adapters.payments.base import MalformedResponse, ProviderUnavailable


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    timeout: httpx.Timeout,
    provider_transaction_id: str | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Make one request; any transport failure means we cannot know what the provider did."""
    try:
        return await client.request(method, url, timeout=timeout, **kwargs)
    except httpx.TimeoutException as exc:
        raise ProviderUnavailable(
            f"{method} {_path(url)} timed out ({type(exc).__name__})",
            provider_transaction_id=provider_transaction_id,
        ) from exc
    except httpx.TransportError as exc:
        raise ProviderUnavailable(
            f"{method} {_path(url)} failed: {type(exc).__name__}: {exc}",
            provider_transaction_id=provider_transaction_id,
        ) from exc


def is_transient(status_code: int) -> bool:
    """Statuses after which the same question may get another answer later."""
    return status_code in (408, 425, 429) or status_code >= 500


def unavailable(
    response: httpx.Response, *, provider_transaction_id: str | None = None
) -> ProviderUnavailable:
    return ProviderUnavailable(
        f"{response.request.method} {response.request.url.path} answered"
        f" {response.status_code}: {_excerpt(response)}",
        status_code=response.status_code,
        retry_after=_retry_after(response),
        provider_transaction_id=provider_transaction_id,
    )


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The response body as a JSON object, or `MalformedResponse`."""
    try:
        body = response.json()
    except ValueError as exc:
        raise MalformedResponse(
            f"{response.request.url.path} answered {response.status_code} with a body that"
            f" is not JSON: {_excerpt(response)}",
            status_code=response.status_code,
        ) from exc
    if not isinstance(body, dict):
        raise MalformedResponse(
            f"{response.request.url.path} answered a JSON {type(body).__name__}, not an object",
            status_code=response.status_code,
        )
    return body


def error_body(response: httpx.Response) -> dict[str, Any]:
    """An error response's JSON object, or an empty one: error bodies are not always JSON."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def whole_amount(value: object) -> int | None:
    """A provider amount ("4725", 4725, "4725.00") as whole units; `None` if it is not one.

    `None` makes the caller's exact comparison fail loudly instead of rounding money.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        return None  # absent, or an HTTP date: the caller's own backoff applies
    return seconds if seconds >= 0 else None


def _excerpt(response: httpx.Response, limit: int = 200) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:limit] if text else "(empty body)"


def _path(url: str) -> str:
    return httpx.URL(url).path
