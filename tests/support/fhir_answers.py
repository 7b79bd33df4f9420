"""A pytest plugin: every answer of the gateway's `/fhir/*` that any test receives, through
any httpx client (in-process ASGI or a real server), is parsed by an independent FHIR
library, `fhir.resources` (its R4B models: R4's resources, pydantic-checked), before the
test sees it. A test cannot forget to validate: `httpx.Client.send` and
`httpx.AsyncClient.send` are wrapped for the whole run, and an answer that fails raises
`FhirAnswerError` in the test that asked.

Besides the library's parsing (required elements, cardinalities, types, no unknown
element), what it does not check is checked here:
- the media type: `application/fhir+json; fhirVersion=4.0`;
- an error status (4xx, 5xx) carries an OperationOutcome, and a 2xx does not;
- every extension URL is absolute (R4 ext-1, http or https);
- every local reference (`#id`) names a contained resource (R4 ref-1, dom-3).

The number of answers checked is printed at the end of the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class

CONTENT_TYPE = "application/fhir+json; fhirVersion=4.0"


class FhirAnswerError(AssertionError):
    pass


_checked = {"answers": 0}


def is_fhir_path(path: str) -> bool:
    return path == "/fhir" or path.startswith("/fhir/")


def _walk(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    yield key, node
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _walk(value, name)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value, key)


def check_resource(body: Any, status: int = 200) -> None:
    """Raise FhirAnswerError unless `body` is a valid R4 resource fit for `status`."""
    if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
        raise FhirAnswerError(f"not a FHIR resource: {body!r:.200}")
    kind = body["resourceType"]
    try:
        get_fhir_model_class(kind).model_validate(body)
    except Exception as error:  # pydantic's ValidationError, or an unknown resourceType
        raise FhirAnswerError(f"fhir.resources (R4B) refuses this {kind}: {error}") from error
    if status >= 400 and kind != "OperationOutcome":
        raise FhirAnswerError(f"HTTP {status} with a {kind}, not an OperationOutcome")
    if status < 400 and kind == "OperationOutcome":
        raise FhirAnswerError(f"HTTP {status} with an OperationOutcome")
    contained = {r.get("id") for r in body.get("contained", []) if isinstance(r, dict)}
    for key, value in _walk(body):
        if key == "extension" and isinstance(value, list):
            for extension in value:
                url = urlsplit(str(extension.get("url", "")))
                if url.scheme not in ("http", "https") or not url.netloc:
                    raise FhirAnswerError(f"extension URL not absolute: {extension!r}")
        local = key == "reference" and isinstance(value, str) and value.startswith("#")
        if local and value[1:] not in contained:
            raise FhirAnswerError(f"{value} names no contained resource")


def check_answer(response: httpx.Response) -> None:
    """Raise FhirAnswerError unless this answer of /fhir/* is good FHIR R4 JSON."""
    _checked["answers"] += 1
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    if response.headers.get("content-type") != CONTENT_TYPE:
        raise FhirAnswerError(f"{where}: Content-Type {response.headers.get('content-type')!r}")
    try:
        body = json.loads(response.content)
    except ValueError as error:
        raise FhirAnswerError(f"{where}: not JSON: {response.text[:200]!r}") from error
    try:
        check_resource(body, response.status_code)
    except FhirAnswerError as error:
        raise FhirAnswerError(f"{where}: {error}") from None


def _wrap_async(send: Any) -> Any:
    @wraps(send)
    async def checked(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> Any:
        response = await send(self, request, **kwargs)
        if is_fhir_path(request.url.path) and request.method != "HEAD":
            await response.aread()
            check_answer(response)
        return response

    return checked


def _wrap_sync(send: Any) -> Any:
    @wraps(send)
    def checked(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> Any:
        response = send(self, request, **kwargs)
        if is_fhir_path(request.url.path) and request.method != "HEAD":
            response.read()
            check_answer(response)
        return response

    return checked


def pytest_configure(config: pytest.Config) -> None:
    httpx.AsyncClient.send = _wrap_async(httpx.AsyncClient.send)  # type: ignore[method-assign]
    httpx.Client.send = _wrap_sync(httpx.Client.send)  # type: ignore[method-assign]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _checked["answers"]:
        terminalreporter.write_line(
            f"FHIR: {_checked['answers']} answers of /fhir/* validated by fhir.resources (R4B)"
        )
