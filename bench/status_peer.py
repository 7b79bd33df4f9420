"""A stand-in for MTN MoMo Collection that confirms every payment, for bench/callbacks_load.py.

It speaks just enough of the Open API (see /work/shared/reference/mtn-momo-collection.md)
for the gateway's worker to confirm payments with the production adapter:

    POST /collection/token/                         -> an access token
    POST /collection/v1_0/requesttopay              -> 202 (not expected in the benchmark)
    GET  /collection/v1_0/requesttopay/{reference}  -> SUCCESSFUL, for any UUID
    GET  /stats                                     -> how many calls of each kind it answered

The status body says STATUS_PEER_AMOUNT (default 1575) STATUS_PEER_CURRENCY (default XOF),
what the benchmark's payments ask. `/stats` lets the benchmark check that each payment
was asked about about once, however many callbacks arrived for it.

    python bench/status_peer.py --port 8002
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from uuid import UUID

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "bench-status-peer-token"


def create_app() -> Starlette:
    amount = os.environ.get("STATUS_PEER_AMOUNT", "1575")
    currency = os.environ.get("STATUS_PEER_CURRENCY", "XOF")
    calls: Counter[str] = Counter()
    asked: set[str] = set()  # distinct references asked about

    async def token(request: Request) -> Response:
        calls["token"] += 1
        if not request.headers.get("authorization", "").lower().startswith("basic "):
            return JSONResponse({"error": "basic auth expected"}, status_code=401)
        return JSONResponse(
            {"access_token": TOKEN, "token_type": "access_token", "expires_in": 3600}
        )

    def authorised(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    async def request_to_pay(request: Request) -> Response:
        calls["request_to_pay"] += 1
        if not authorised(request):
            return JSONResponse({"code": "UNAUTHORIZED"}, status_code=401)
        return Response(status_code=202)

    async def status(request: Request) -> Response:
        calls["status"] += 1
        if not authorised(request):
            return JSONResponse({"code": "UNAUTHORIZED"}, status_code=401)
        raw = request.path_params["reference"]
        try:
            reference = str(UUID(raw))
        except ValueError:
            return JSONResponse({"code": "RESOURCE_NOT_FOUND"}, status_code=404)
        asked.add(reference)
        return JSONResponse(
            {
                "amount": amount,  # MTN sends amounts as strings
                "currency": currency,
                "financialTransactionId": str(1_000_000_000 + len(asked)),
                "externalId": reference[:8],
                "payer": {"partyIdType": "MSISDN", "partyId": "2290197000000"},
                "payerMessage": "Cotisation mutuelle de sante",
                "payeeNote": reference[:8],
                "status": "SUCCESSFUL",
            }
        )

    async def stats(request: Request) -> Response:
        return JSONResponse({**calls, "distinct_references": len(asked)})

    return Starlette(
        routes=[
            Route("/collection/token/", token, methods=["POST"]),
            Route("/collection/v1_0/requesttopay", request_to_pay, methods=["POST"]),
            Route("/collection/v1_0/requesttopay/{reference}", status, methods=["GET"]),
            Route("/stats", stats, methods=["GET"]),
        ]
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    args = parser.parse_args()
    # No access log: the peer should cost the shared CPUs as little as it can.
    uvicorn.run(
        create_app,
        factory=True,
        host=args.host,
        port=args.port,
        workers=1,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
