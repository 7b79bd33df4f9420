"""The guard on Africa's Talking's callbacks (the USSD hop, SMS reports, inbound SMS,
opt-outs, USSD session ends, voice calls): AT signs none of them, so each URL carries a
secret of ours (`?token=`: USSD_CALLBACK_TOKEN on /ussd, AT_CALLBACK_TOKEN on the others),
compared in constant time, and CALLBACK_ALLOW_NETWORKS may restrict them to AT's source
networks.

Both are checked whenever they are set, whatever the SMS backend. The source is the peer
address uvicorn gives the application: behind a reverse proxy, uvicorn replaces it with the
client named in X-Forwarded-For only when the proxy is one it trusts (--forwarded-allow-ips,
127.0.0.1 by default), so the proxy must set that header itself (docs/operations.md).
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass, field

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.settings import Network

WRONG_TOKEN = "missing or wrong token"
WRONG_SOURCE = "source address not in CALLBACK_ALLOW_NETWORKS"


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class CallbackGuard:
    token: str | None = field(repr=False)  # None: no token asked
    networks: tuple[Network, ...] = ()  # empty: any source

    def check(self, request: Request) -> None:
        """`Refused` (403) for a source outside the networks, (401) for a wrong token; the
        reason never repeats what was given."""
        if self.networks and not self._from_allowed_network(request):
            raise Refused(403, WRONG_SOURCE)
        if self.token is not None and not same_secret(
            request.query_params.get("token", ""), self.token
        ):
            raise Refused(401, WRONG_TOKEN)

    def _from_allowed_network(self, request: Request) -> bool:
        host = request.client.host if request.client is not None else ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:  # no peer, or a name (a test client): not provably inside
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # an IPv4 peer on a dual-stack socket
        return any(address in network for network in self.networks)


def same_secret(given: str, expected: str) -> bool:
    """Constant time whatever `given` is, so the comparison tells nothing of `expected`."""
    return hmac.compare_digest(given.encode(), expected.encode())


async def callback_form(request: Request, guard: CallbackGuard, *required: str) -> FormData:
    """The posted form once `guard` admits the request; `Refused` otherwise, or for a
    missing field."""
    guard.check(request)
    form = await request.form()
    missing = [name for name in required if not str(form.get(name) or "").strip()]
    if missing:
        raise Refused(400, f"missing field(s): {', '.join(missing)}")
    return form


def refusal(refused: Refused) -> Response:
    return JSONResponse({"error": refused.reason}, status_code=refused.status)
