"""The DCI standard's own OpenAPI files, as validators for what we send and what the peer answers.

The schemas are vendored, unchanged, in ``tests/peers/dci_schemas/`` (source, release and
licence in its README). Each message is checked against the operation's own schema inside
the file (``paths./registry/...post.requestBody...schema``), so ``$ref`` pointers resolve
exactly as the standard wrote them, with ``openapi-schema-validator``'s OpenAPI 3.0 dialect.

Two answers have no envelope schema in the standard: ``/registry/sync/enrollment/updates``
and ``/registry/sync/enrolled`` declare ``default: $ref: '#/components/schemas/...Response'``
(a schema where OpenAPI wants a response object). We read that as "the message is an
``EnrollmentUpdatesResponse``/``EnrolledResponse``" and check the envelope around it with the
standard's ``MsgCallbackHeader_V1.0.0``, as its other synchronous answers are built.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from jsonschema.exceptions import best_match
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT4

FOLDER = Path(__file__).parent / "dci_schemas"
Api = Literal["ibr", "social"]
FILES: dict[Api, str] = {"ibr": "ibr_api_v1.0.0.yaml", "social": "social_api_v1.0.0.yaml"}


@cache
def _registry() -> Registry:
    resources = []
    for api, name in FILES.items():
        document = yaml.safe_load((FOLDER / name).read_text(encoding="utf-8"))
        resources.append((f"urn:dci:{api}", DRAFT4.create_resource(document)))
    return Registry().with_resources(resources)


def _pointer(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")


def _operation(api: Api, path: str) -> str:
    return f"urn:dci:{api}#/paths/{_pointer(path)}/post"


def _component(api: Api, name: str) -> str:
    return f"urn:dci:{api}#/components/schemas/{name}"


def request_schema(api: Api, path: str) -> dict[str, Any]:
    return {"$ref": f"{_operation(api, path)}/requestBody/content/application~1json/schema"}


def answer_schema(api: Api, path: str) -> dict[str, Any]:
    if path == "/registry/sync/enrollment/updates":
        return _enveloped(api, "EnrollmentUpdatesResponse")
    if path == "/registry/sync/enrolled":
        return _enveloped(api, "EnrolledResponse")
    return {"$ref": f"{_operation(api, path)}/responses/default/content/application~1json/schema"}


def _enveloped(api: Api, message: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "signature": {"$ref": _component(api, "MsgSignature")},
            "header": {"$ref": _component(api, "MsgCallbackHeader_V1.0.0")},
            "message": {"$ref": _component(api, message)},
        },
        "required": ["header", "message"],
    }


def problems(schema: dict[str, Any], body: Any) -> list[str]:
    """Every way ``body`` breaks ``schema``, most relevant first; empty when it holds."""
    # Formats checked too: message_ts and timestamp are `date-time`, the standard's ISO 8601.
    validator = OAS30Validator(schema, registry=_registry(), format_checker=oas30_format_checker)
    errors = list(validator.iter_errors(body))
    if not errors:
        return []
    first = best_match(errors)
    where = "/".join(str(p) for p in first.absolute_path) or "(body)"
    rest = [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors]
    return [f"{where}: {first.message}", *[r for r in rest if r != f"{where}: {first.message}"]]


def request_problems(api: Api, path: str, body: Any) -> list[str]:
    return problems(request_schema(api, path), body)


def answer_problems(api: Api, path: str, body: Any) -> list[str]:
    return problems(answer_schema(api, path), body)
