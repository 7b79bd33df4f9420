"""How our FHIR server answers: FHIR JSON with its version, and every refusal an
OperationOutcome (R4 operationoutcome.html) with the HTTP status that fits."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from gateway.register.fhir.media import CONTENT_TYPE


def outcome(code: str, diagnostics: str) -> dict[str, Any]:
    """An OperationOutcome: how FHIR servers say no. `code` is from R4's issue-type."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }


def answer(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body),
        status_code=status,
        headers={"content-type": CONTENT_TYPE, **(headers or {})},
    )


def refused(
    status: int, code: str, diagnostics: str, headers: dict[str, str] | None = None
) -> Response:
    return answer(outcome(code, diagnostics), status, headers)


def too_large(cap: int) -> tuple[bytes, bytes]:
    """The 413 of the body limit (gateway/limits/bodies.py) under /fhir/."""
    body = outcome("too-long", f"request body too large: at most {cap} bytes")
    return CONTENT_TYPE.encode(), json.dumps(body).encode()
