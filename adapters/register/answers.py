"""Reading a register's JSON answer strictly: a missing or mistyped field is a malformed
answer, never a silent default that would half-apply what the register said."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from adapters.register.errors import RegisterMalformedAnswer


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or RegisterMalformedAnswer."""
    where = f"{response.request.method} {response.request.url.path}"
    try:
        body = response.json()
    except ValueError as exc:
        raise RegisterMalformedAnswer(f"{where}: answer is not JSON: {exc}") from exc
    return as_dict(body, where)


def as_dict(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RegisterMalformedAnswer(f"{where}: expected an object, got {type(value).__name__}")
    return value


def as_list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise RegisterMalformedAnswer(f"{where}: expected a list, got {type(value).__name__}")
    return value


def get_str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise RegisterMalformedAnswer(f"{where}: '{key}' missing or not a string")
    return value


def opt_str(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RegisterMalformedAnswer(f"{where}: '{key}' is not a string")
    return value


def get_dict(obj: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    return as_dict(obj.get(key), f"{where}.{key}")


def opt_list(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    return [] if value is None else as_list(value, f"{where}.{key}")
