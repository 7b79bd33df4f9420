"""FHIR content negotiation (R4 http.html#mime-type): which format a client asks for,
by `_format` first, then `Accept`; and what it sends, by `Content-Type`.

We speak JSON only. A client that asks for XML (or Turtle, or HTML) is told so with a
406 rather than handed JSON it will fail to parse; one that names another FHIR version
(`fhirVersion=3.0`) likewise. A body sent as XML is a 415.
"""

from __future__ import annotations

from dataclasses import dataclass

FHIR_JSON = "application/fhir+json"
# Every answer says which version it is (R4 versioning.html#mt-version).
CONTENT_TYPE = f"{FHIR_JSON}; fhirVersion=4.0"
FHIR_VERSION = "4.0"

# Media types a client may ask for or send to get or give FHIR JSON.
JSON_TYPES = frozenset({FHIR_JSON, "application/json", "application/json+fhir"})
# What `_format` may say for JSON (R4 http.html#parameters).
JSON_FORMATS = frozenset({"json", *JSON_TYPES})
# Ranges that include JSON.
WILDCARDS = frozenset({"*/*", "application/*"})


@dataclass(frozen=True)
class Refusal:
    status: int  # 406 or 415
    diagnostics: str


def _parameters(text: str) -> tuple[str, dict[str, str]]:
    """A media type and its parameters, names lower-cased."""
    kind, *rest = text.split(";")
    parameters = {}
    for part in rest:
        name, _, value = part.partition("=")
        parameters[name.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), parameters


def _our_version(parameters: dict[str, str]) -> bool:
    version = parameters.get("fhirversion")
    return version is None or version == FHIR_VERSION or version.startswith(FHIR_VERSION + ".")


def _json_acceptable(accept: str) -> bool:
    for item in accept.split(","):
        if not item.strip():
            continue
        kind, parameters = _parameters(item)
        try:
            weight = float(parameters.get("q", "1"))
        except ValueError:
            weight = 1.0
        if weight > 0 and (kind in JSON_TYPES or kind in WILDCARDS) and _our_version(parameters):
            return True
    return False


def refusal(format_: str | None, accept: str | None) -> Refusal | None:
    """Why we cannot answer in the format asked for; None when JSON will do.

    `_format` wins over `Accept` (a browser or a client that cannot set headers)."""
    if format_ is not None:
        kind, parameters = _parameters(format_.replace(" ", "+"))  # `+` arrives as a space
        if kind in JSON_FORMATS and _our_version(parameters):
            return None
        return Refusal(
            406, f"_format={format_} is not served: this server speaks FHIR R4 JSON only"
        )
    if not accept or not accept.strip() or _json_acceptable(accept):
        return None
    return Refusal(
        406,
        f"Accept: {accept} is not served: this server answers {CONTENT_TYPE} only",
    )


def body_refusal(content_type: str | None) -> Refusal | None:
    """Why we cannot read a body of this type; None for JSON or no type given (the body
    is then read as JSON and refused if it is not)."""
    if not content_type or not content_type.strip():
        return None
    kind, parameters = _parameters(content_type)
    if kind in JSON_TYPES and _our_version(parameters):
        return None
    return Refusal(
        415, f"Content-Type: {content_type} is not read: send FHIR R4 JSON ({FHIR_JSON})"
    )
