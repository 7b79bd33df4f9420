"""The guard on Africa's Talking's callbacks (SMS reports, inbound SMS, opt-outs, USSD
session ends): AT signs none of them, so each URL carries a secret of ours (`?token=`,
AT_CALLBACK_TOKEN), compared in constant time, and the form must hold what is needed."""

from __future__ import annotations

import hmac

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def callback_form(request: Request, expected: str | None, *required: str) -> FormData:
    """The posted form; `Refused` for a wrong token (`expected`: AT_CALLBACK_TOKEN, None
    where none is set) or a missing field."""
    given = request.query_params.get("token", "")
    if expected is not None and not hmac.compare_digest(given.encode(), expected.encode()):
        raise Refused(401, "missing or wrong token")
    form = await request.form()
    missing = [name for name in required if not str(form.get(name) or "").strip()]
    if missing:
        raise Refused(400, f"missing field(s): {', '.join(missing)}")
    return form


def refusal(refused: Refused) -> Response:
    return JSONResponse({"error": refused.reason}, status_code=refused.status)
