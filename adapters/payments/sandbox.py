"""The demo sandbox's client: MoMo's protocol, reaching every operator.

`alafia demo` runs a MoMo-compatible simulator inside the gateway (gateway.payments.sandbox);
this is the production MoMo adapter pointed at it, except that the simulator takes
payers of every operator so that any demo phone can pay.
"""

from __future__ import annotations

from adapters.payments.base import Operator
from adapters.payments.momo import MomoCollection


class SandboxCollection(MomoCollection):
    serves: frozenset[Operator] = frozenset({"mtn", "moov", "celtiis"})
