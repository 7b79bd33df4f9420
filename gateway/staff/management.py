"""What the pages that run the scheme's accounts share: field agents and health facilities
changed through the very services `alafia agents|facilities ...` use, and who may change
them (a refusal is `gateway.staff.refusals.refuse`).

    management = dashboard_of(request).management
    if not may_manage_agents(staff.scope):
        await refuse(request, staff, "agent_disabled", agent_id=12)   # audited, then 403
    await management.agents.disable(phone, staff_actor(staff.id), expected="active")

A new agent or desk phone is recognised on its very next dial, in every gateway process:
the services raise the known phones' version with each change (`gateway.known_phones`).
"""

from __future__ import annotations

from dataclasses import dataclass

from db.values import StaffRole
from gateway.agents.accounts import Agents
from gateway.agents.desk import AgentDesk
from gateway.agents.ledger import CashLedger
from gateway.register.facilities import Facilities
from gateway.staff.scope import Scope


@dataclass(frozen=True)
class Management:
    agents: Agents
    cash: CashLedger
    desk: AgentDesk  # an agent's figures, the same the agent reads on the short code
    # The register capability's own: a key revoked or replaced here stops at once in
    # this process (its cache of verified keys is cleared).
    facilities: Facilities


def may_manage_agents(scope: Scope) -> bool:
    """Add, disable, enable, unlock, reset a PIN, record cash handed over: central staff
    anywhere, a mutual's manager within their mutual (`scope.covers`); viewers never."""
    return scope.role in (StaffRole.CENTRAL_ADMIN, StaffRole.MUTUAL_MANAGER)


def may_manage_facilities(scope: Scope) -> bool:
    """Facilities serve members of every mutual: central staff only (whose scope is
    always the whole network)."""
    return scope.role == StaffRole.CENTRAL_ADMIN
