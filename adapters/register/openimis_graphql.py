"""What the openIMIS adapter asks of openIMIS's GraphQL API, and how it reads the answers.

No I/O here. The FHIR API cannot carry what happens to a policy after it is created: a
Contract ``PUT`` is not routed at all in 1.7.0 (``views/fhir/contract.py`` has no update) and
only re-saves in later releases, and a Contract create reads only its first premium
(``contractConverter.py``, ``build_imis_contributions``). openIMIS's own screens record later
premiums and suspend policies through these GraphQL mutations, which apply the policy rules
(``contribution/services.py``, ``premium_updated``: a premium that completes the policy value
activates it; ``ENFORCE`` activates it even when our scheme counts other money, a sponsor's,
towards it):

- ``createPremium`` for each payment, named by a client mutation id made from our payment
  reference, so that a retry first asks openIMIS's mutation log whether it already passed;
- ``suspendPolicies`` for a cover year that lapsed or was cancelled while openIMIS still holds
  it in force;
- ``policiesByInsuree`` to answer "is this member covered?": the FHIR
  CoverageEligibilityRequest runs an SQL Server procedure (``uspServiceItemEnquiry``,
  ``converters/coverageEligibilityRequestConverter.py``) and answers 500 on PostgreSQL for
  every member who holds an active policy.

openIMIS runs a mutation inside the request and writes its outcome to its mutation log
(``core/schema.py``, ``OpenIMISMutation``): status 2 passed, 1 failed with a message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from adapters.register.answers import as_dict, as_list, get_str
from adapters.register.base import Eligibility, RegisterEligibility
from adapters.register.errors import RegisterMalformedAnswer
from adapters.register.events import PaymentRecord

PATH = "/api/graphql"

CREATE_PREMIUM = """
mutation AlafiaPremium($input: CreatePremiumMutationInput!) {
  createPremium(input: $input) { clientMutationId internalId }
}"""

SUSPEND_POLICIES = """
mutation AlafiaSuspend($input: SuspendPoliciesMutationInput!) {
  suspendPolicies(input: $input) { clientMutationId internalId }
}"""

MUTATION_LOG = """
query AlafiaMutationLog($id: String!) {
  mutationLogs(clientMutationId: $id, orderBy: ["requestDateTime"]) {
    edges { node { status error } }
  }
}"""

POLICIES_BY_INSUREE = """
query AlafiaPolicies($chfId: String!) {
  policiesByInsuree(chfId: $chfId) {
    edges { node { policyUuid productCode status enrollDate effectiveDate expiryDate } }
  }
}"""

# openIMIS pay types (contribution: B bank, C cash, M mobile phone, F funding).
_PAY_TYPES = {"cash": "C", "bank": "B", "funding": "F"}


class PolicyStatus(IntEnum):
    """openIMIS policy statuses (policy/models.py)."""

    IDLE = 1
    ACTIVE = 2
    SUSPENDED = 4
    EXPIRED = 8
    READY = 16


class MutationStatus(IntEnum):
    """openIMIS's MutationLog statuses."""

    RECEIVED = 0
    ERROR = 1
    SUCCESS = 2


@dataclass(frozen=True)
class Outcome:
    status: MutationStatus
    error: str | None


def premium_mutation_id(payment: PaymentRecord) -> str:
    return f"alafia-premium-{payment.reference}"


def suspend_mutation_id(policy_id: str) -> str:
    return f"alafia-suspend-{policy_id}"


def create_premium(policy_id: str, payment: PaymentRecord, *, enforce: bool) -> dict[str, Any]:
    """A payment towards a policy; the receipt is our payment reference, unique per product
    in openIMIS (``check_unique_premium_receipt_code_within_product``)."""
    values: dict[str, Any] = {
        "clientMutationId": premium_mutation_id(payment),
        "clientMutationLabel": f"Alafia payment {payment.reference}",
        "policyUuid": policy_id,
        "amount": str(payment.amount),
        "receipt": payment.reference,
        "payDate": payment.paid_on.isoformat(),
        "payType": _PAY_TYPES.get(payment.provider, "M"),
        "isPhotoFee": False,
    }
    if enforce:
        values["action"] = "ENFORCE"
    return {"query": CREATE_PREMIUM, "variables": {"input": values}}


def suspend_policy(policy_id: str) -> dict[str, Any]:
    values = {
        "clientMutationId": suspend_mutation_id(policy_id),
        "clientMutationLabel": "Alafia: cover lapsed",
        "uuids": [policy_id],
    }
    return {"query": SUSPEND_POLICIES, "variables": {"input": values}}


def mutation_log(client_mutation_id: str) -> dict[str, Any]:
    return {"query": MUTATION_LOG, "variables": {"id": client_mutation_id}}


def policies_by_insuree(member_no: str) -> dict[str, Any]:
    return {"query": POLICIES_BY_INSUREE, "variables": {"chfId": member_no}}


@dataclass(frozen=True)
class Policy:
    uuid: str
    status: int
    starts_on: dt.date | None  # effective date: cover starts, once paid
    ends_on: dt.date | None
    enrolled_on: dt.date | None = None  # enrolment date: the Contract's period.start
    product_code: str | None = None

    def covers(self, day: dt.date) -> bool:
        return (
            self.status == PolicyStatus.ACTIVE
            and self.starts_on is not None
            and self.starts_on <= day
            and (self.ends_on is None or day <= self.ends_on)
        )


def policies(body: Mapping[str, Any]) -> list[Policy]:
    """An insuree's policies as openIMIS's own screens list them."""
    data = as_dict(body.get("data"), "graphql.data")
    found = as_dict(data.get("policiesByInsuree"), "policiesByInsuree")
    result = []
    for edge in as_list(found.get("edges"), "policiesByInsuree.edges"):
        node = as_dict(as_dict(edge, "policiesByInsuree.edge").get("node"), "policy")
        status = node.get("status")
        if not isinstance(status, int):
            raise RegisterMalformedAnswer(f"policy status {status!r}")
        result.append(
            Policy(
                uuid=get_str(node, "policyUuid", "policy"),
                status=status,
                starts_on=_date(node.get("effectiveDate")),
                ends_on=_date(node.get("expiryDate")),
                enrolled_on=_date(node.get("enrollDate")),
                product_code=_str_or_none(node.get("productCode")),
            )
        )
    return result


def eligibility(found: list[Policy], member_no: str, on: dt.date) -> RegisterEligibility:
    """Covered when an active policy's cover dates hold the day; otherwise the latest period
    known, so a health worker can say when cover ended. The policy is named as openIMIS's
    Coverage resource, which carries the policy's UUID."""
    covering = [p for p in found if p.covers(on)]
    if covering:
        return _answer(member_no, on, Eligibility.COVERED, covering[0])
    dated = [p for p in found if p.starts_on is not None]
    if dated:
        latest = max(dated, key=lambda p: p.ends_on or dt.date.max)
        return _answer(member_no, on, Eligibility.NOT_COVERED, latest)
    return RegisterEligibility(member_no, on, Eligibility.NOT_COVERED)


def _answer(
    member_no: str, on: dt.date, status: Eligibility, policy: Policy
) -> RegisterEligibility:
    return RegisterEligibility(
        member_no, on, status, policy.starts_on, policy.ends_on, f"Coverage/{policy.uuid}"
    )


def _date(value: object) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise RegisterMalformedAnswer(f"not a date: {value!r}") from exc


def errors_of(body: Mapping[str, Any]) -> str | None:
    """GraphQL's own errors (a malformed request, a refused token): no mutation ran."""
    errors = body.get("errors")
    if not errors:
        return None
    messages = [str(e.get("message")) if isinstance(e, Mapping) else str(e) for e in errors]
    return "; ".join(messages)


def outcomes(body: Mapping[str, Any]) -> list[Outcome]:
    """Every logged run of one client mutation id, oldest first."""
    data = as_dict(body.get("data"), "graphql.data")
    logs = as_dict(data.get("mutationLogs"), "mutationLogs")
    found = []
    for edge in as_list(logs.get("edges"), "mutationLogs.edges"):
        node = as_dict(as_dict(edge, "mutationLogs.edge").get("node"), "mutationLogs.node")
        try:
            status = MutationStatus(int(node.get("status")))  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise RegisterMalformedAnswer(f"mutation log status {node.get('status')!r}") from exc
        error = node.get("error")
        found.append(Outcome(status, error if isinstance(error, str) else None))
    return found


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
