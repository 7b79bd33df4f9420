"""A local FedaPay API, speaking the wire protocol the production adapter speaks.

It checks the secret key, keeps transactions the way FedaPay shapes them
({"v1/transaction": {...}}), hands out payment tokens, takes the mobile-money push for the
Benin modes, signs webhooks, and can be told to misbehave:

    peer = FedapayPeer()
    peer.set_outcome("+2290196000001", "declined")    # this payer declines the prompt
    peer.fail_next("push", 500)
    peer.hang_next("create", after=True)              # create it, answer after the client left
    with serve(peer.app) as base_url: ...
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.peers.faults import FaultInjection
from tests.peers.momo import RecordedRequest

ROUTES = ("create", "search", "status", "token", "push", "currency")
BENIN_MODES = frozenset({"mtn_open", "moov", "sbin"})
XOF = {"id": 1, "klass": "v1/currency", "name": "FCFA", "iso": "XOF", "code": 952, "prefix": None}


def signature_header(raw_body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The X-FEDAPAY-SIGNATURE value FedaPay would send for `raw_body`."""
    t = int(time.time()) if timestamp is None else timestamp
    s = hmac.new(secret.encode(), f"{t}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return f"t={t},s={s}"


class FedapayPeer(FaultInjection):
    routes = ROUTES

    def __init__(
        self, *, secret_key: str = "sk_sandbox_peer", webhook_secret: str = "wh_sandbox_peer"
    ) -> None:
        super().__init__()
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.requests: list[RecordedRequest] = []
        self.transactions: dict[int, dict[str, Any]] = {}
        self.outcomes: dict[str, str] = {}  # phone number -> status after the push
        self._tokens: dict[str, int] = {}
        self._next_id = 104291
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/v1/transactions", self._create, methods=["POST"]),
                Route("/v1/transactions/search", self._search, methods=["GET"]),
                Route("/v1/transactions/{id:int}", self._retrieve, methods=["GET"]),
                Route("/v1/transactions/{id:int}/token", self._token, methods=["POST"]),
                Route("/v1/currencies/{id:int}", self._currency, methods=["GET"]),
                Route("/v1/{mode}", self._push, methods=["POST"]),
            ]
        )

    # -- what a test can ask for ---------------------------------------------------------

    def set_outcome(self, phone_number: str, status: str) -> None:
        with self._lock:
            self.outcomes[phone_number] = status

    def settle(self, transaction_id: int, status: str) -> None:
        with self._lock:
            self.transactions[transaction_id]["status"] = status

    def requests_to(self, route: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.route == route]

    def webhook_body(self, transaction_id: int, name: str) -> bytes:
        with self._lock:
            entity = dict(self.transactions[transaction_id])
        return json.dumps({"name": name, "entity": entity}).encode()

    async def deliver_webhook(
        self, url: str, transaction_id: int, name: str, *, timestamp: int | None = None
    ) -> int:
        """POST a signed event about a transaction to `url`, as FedaPay does."""
        body = self.webhook_body(transaction_id, name)
        header = signature_header(body, self.webhook_secret, timestamp)
        async with httpx.AsyncClient() as client:
            response = await client.post(
                url,
                content=body,
                headers={"Content-Type": "application/json", "X-FEDAPAY-SIGNATURE": header},
            )
        return response.status_code

    # -- the API -----------------------------------------------------------------------------

    async def _create(self, request: Request) -> Response:
        if early := await self._begin("create", request):
            return early
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _invalid({"body": ["must be JSON"]})
        errors = _creation_errors(body)
        if errors:
            return _invalid(errors)
        now = _now()
        with self._lock:
            transaction_id = self._next_id
            self._next_id += 1
            phone = (body.get("customer") or {}).get("phone_number") or {}
            transaction = {
                "klass": "v1/transaction",
                "id": transaction_id,
                "reference": f"trx_{secrets.token_urlsafe(3)}_{int(time.time() * 1000)}",
                "amount": body["amount"],
                "description": body["description"],
                "callback_url": body.get("callback_url"),
                "status": "pending",
                "mode": None,
                "currency_id": XOF["id"],
                "customer_id": transaction_id + 1000,
                "merchant_reference": body.get("merchant_reference"),
                "custom_metadata": body.get("custom_metadata") or {},
                "last_error_code": None,
                "amount_debited": None,
                "fees": None,
                "created_at": now,
                "updated_at": now,
                "approved_at": None,
                "declined_at": None,
                "canceled_at": None,
                "_phone": phone.get("number"),
            }
            self.transactions[transaction_id] = transaction
        return await self._end("create", JSONResponse({"v1/transaction": _public(transaction)}))

    async def _search(self, request: Request) -> Response:
        if early := await self._begin("search", request):
            return early
        query = request.query_params.get("search", "")
        with self._lock:
            found = [
                _public(t)
                for t in self.transactions.values()
                if query
                and query
                in (
                    t["reference"],
                    t["merchant_reference"],
                    t["custom_metadata"].get("payment_ref"),
                )
            ]
        meta = {"current_page": 1, "total_count": len(found)}
        return await self._end("search", JSONResponse({"v1/transactions": found, "meta": meta}))

    async def _retrieve(self, request: Request) -> Response:
        if early := await self._begin("status", request):
            return early
        with self._lock:
            transaction = self.transactions.get(request.path_params["id"])
            answer = (
                JSONResponse({"v1/transaction": _public(transaction)})
                if transaction is not None
                else JSONResponse({"message": "Transaction introuvable"}, status_code=404)
            )
        return await self._end("status", answer)

    async def _token(self, request: Request) -> Response:
        if early := await self._begin("token", request):
            return early
        transaction_id = request.path_params["id"]
        with self._lock:
            if transaction_id not in self.transactions:
                return JSONResponse({"message": "Transaction introuvable"}, status_code=404)
            token = secrets.token_urlsafe(32)
            self._tokens[token] = transaction_id
        answer = JSONResponse({"token": token, "url": f"https://process.fedapay.com/{token}"})
        return await self._end("token", answer)

    async def _currency(self, request: Request) -> Response:
        if early := await self._begin("currency", request):
            return early
        if request.path_params["id"] != XOF["id"]:
            return JSONResponse({"message": "Devise introuvable"}, status_code=404)
        return await self._end("currency", JSONResponse({"v1/currency": XOF}))

    async def _push(self, request: Request) -> Response:
        if early := await self._begin("push", request):
            return early
        mode = request.path_params["mode"]
        if mode not in BENIN_MODES:
            return _invalid({"mode": [f"{mode} n'est pas un mode de paiement disponible"]})
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _invalid({"body": ["must be JSON"]})
        with self._lock:
            transaction_id = self._tokens.get(body.get("token"))
            if transaction_id is None:
                return _invalid({"token": ["Token invalide"]})
            transaction = self.transactions[transaction_id]
            if transaction["status"] != "pending":
                return _invalid({"token": ["Transaction déjà traitée"]})
            number = (body.get("phone_number") or {}).get("number") or transaction["_phone"]
            status = self.outcomes.get(number, "approved")
            transaction["mode"] = mode
            transaction["status"] = status
            transaction["updated_at"] = _now()
            if status != "pending":
                transaction[f"{status}_at"] = transaction["updated_at"]
            if status == "approved":
                transaction["amount_debited"] = transaction["amount"]
                transaction["fees"] = 0
        return await self._end("push", JSONResponse({"message": "success"}))

    # -- plumbing -------------------------------------------------------------------------------

    async def _begin(self, route: str, request: Request) -> Response | None:
        """Record the request, play any fault due before processing, check the secret key."""
        recorded = RecordedRequest(
            route=route,
            method=request.method,
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
        )
        with self._lock:
            self.requests.append(recorded)
        if fault := await self._fault(route, after=False):
            return fault
        if request.headers.get("authorization") != f"Bearer {self.secret_key}":
            return JSONResponse({"message": "Clé API invalide"}, status_code=401)
        return None

    async def _end(self, route: str, answer: Response) -> Response:
        return await self._fault(route, after=True) or answer

    def _fault_response(self, status: int, hung: bool) -> Response:
        return JSONResponse(
            {"message": "Injected hang" if hung else "Injected fault"}, status_code=status
        )


def _creation_errors(body: Any) -> dict[str, list[str]]:
    if not isinstance(body, dict):
        return {"body": ["must be an object"]}
    errors: dict[str, list[str]] = {}
    if not isinstance(body.get("description"), str) or not body["description"].strip():
        errors["description"] = ["est obligatoire"]
    amount = body.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        errors["amount"] = ["doit être un entier positif"]
    currency = body.get("currency")
    if not isinstance(currency, dict) or currency.get("iso") != XOF["iso"]:
        errors["currency"] = ["devise non prise en charge"]
    customer = body.get("customer")
    if customer is not None:
        phone = customer.get("phone_number") if isinstance(customer, dict) else None
        if not isinstance(phone, dict) or not phone.get("number") or not phone.get("country"):
            errors["customer.phone_number"] = ["numéro et pays obligatoires"]
    return errors


def _public(transaction: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in transaction.items() if not k.startswith("_")}


def _invalid(errors: dict[str, list[str]]) -> JSONResponse:
    return JSONResponse({"message": "Requête invalide", "errors": errors}, status_code=400)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
