"""openIMIS as the central register: its FHIR R4 API for insurees and new policies, its GraphQL
API for what happens to a policy afterwards (see ``openimis_graphql`` for why).

    POST {base}/api/api_fhir_r4/login/        {"username", "password"} -> {"token", "exp"}
    POST Patient/                             the head (openIMIS creates the family), then each
                                              member pointing at that family
    GET  Patient/<uuid>/                      the family's UUID, read back from the head
    PUT  Patient/<uuid>/                      a member corrected (never the head: openIMIS would
                                              detach it from its family)
    GET  Location/<uuid>/, InsurancePlan/?identifier=<code>   looked up once per process
    POST Contract/                            each cover year, a renewal included, as a new
                                              policy "Offered", idle until paid
    POST {base}/api/graphql                   createPremium per payment, suspendPolicies on a
                                              lapse, mutationLogs to know what already passed
    POST {base}/api/graphql                   policiesByInsuree: is a member covered on a day

Every id kept is an openIMIS UUID: ``patient:<member no>``, ``group`` (the family),
``contract:<cover year>``; ``premium:<payment>`` and ``suspended:<cover year>`` mark what
openIMIS confirmed. A retry sends only what is not marked; a premium whose answer was lost is
found in openIMIS's mutation log instead of being paid twice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import Any

import httpx

from adapters.http_client import HttpAdapter
from adapters.register import openimis_fhir as fhir
from adapters.register import openimis_graphql as gql
from adapters.register.answers import get_str, json_object
from adapters.register.base import Eligibility, PushResult, RegisterEligibility, RegisterPerson
from adapters.register.errors import (
    RegisterError,
    RegisterMalformedAnswer,
    RegisterRejected,
    RegisterUnavailable,
)
from adapters.register.events import (
    CoverageRecord,
    EventKind,
    HouseholdRecord,
    MemberRecord,
    PaymentRecord,
    RegisterEvent,
)
from adapters.register.tokens import AccessToken, TokenCache, send_authorized
from adapters.register.transport import raise_for_login, raise_for_status, send, timeout
from menus.values import CoverageStatus, Relationship

FHIR_PATH = "/api/api_fhir_r4/"
GROUP_KEY = "group"
ANY_PLACE = "*"  # the location key every household without a closer match falls back on

_COVERAGE_KINDS = frozenset(
    {EventKind.COVERAGE_ACTIVATED, EventKind.PAYMENT_RECORDED, EventKind.COVERAGE_LAPSED}
)
# Cover years our scheme counts as paid: their last payment may activate the openIMIS policy
# even when part of the money (a sponsor's) never passes through openIMIS.
_PAID = frozenset({CoverageStatus.WAITING, CoverageStatus.ACTIVE, CoverageStatus.GRACE})
_IN_FORCE = frozenset({gql.PolicyStatus.IDLE, gql.PolicyStatus.ACTIVE})
_ENDED = frozenset({CoverageStatus.LAPSED, CoverageStatus.CANCELLED})
_EXISTS = re.compile(r"Exists patient with following chfid")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def patient_key(member_no: str) -> str:
    return f"patient:{member_no}"


def contract_key(coverage_reference: str) -> str:
    return f"contract:{coverage_reference}"


def premium_key(payment_reference: str) -> str:
    return f"premium:{payment_reference}"


def suspended_key(coverage_reference: str) -> str:
    return f"suspended:{coverage_reference}"


def place_key(commune: str | None, village: str | None = None) -> str:
    """How a household's place is written in OPENIMIS_LOCATIONS: "commune/village" or
    "commune", compared without case or extra spaces."""
    parts = [" ".join((p or "").split()).casefold() for p in (commune, village) if p]
    return "/".join(parts)


@dataclass(frozen=True)
class OpenImisSettings:
    base_url: str  # e.g. https://imis.example.bj, without /api/api_fhir_r4
    username: str
    password: str = field(repr=False)
    # The enrolment officer openIMIS records as the author of every policy (Practitioner UUID).
    officer_id: str = ""
    # Our "commune/village" (or "commune", or "*") -> openIMIS village Location UUID.
    locations: Mapping[str, str] = field(default_factory=dict)
    # Our product code -> openIMIS product code or UUID; a product not listed keeps its code.
    products: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: float = 10.0
    member_no_code: str = "Code"
    national_id_code: str = "PPN"
    national_id_type: str | None = "N"  # openIMIS identification type of the NPI


class OpenImisRegister(HttpAdapter):
    def __init__(self, settings: OpenImisSettings) -> None:
        self._settings = settings
        self._identifiers = fhir.Identifiers(
            member_no_code=settings.member_no_code,
            national_id_code=settings.national_id_code,
            national_id_type=settings.national_id_type,
        )
        self._locations = {
            place_key(*key.split("/", 1)) or key: village
            for key, village in settings.locations.items()
        }
        base = settings.base_url.rstrip("/")
        self._graphql_url = base + gql.PATH
        super().__init__(
            base_url=base + FHIR_PATH,
            timeout=timeout(settings.timeout_seconds),
            headers={"Accept": "application/fhir+json, application/json"},
        )
        self._tokens = TokenCache(self._login)
        self._places: dict[str, fhir.Place] = {}  # village UUID -> names, read once
        self._products: dict[str, str] = {}  # our product code -> openIMIS UUID, read once

    async def push(self, event: RegisterEvent) -> PushResult:
        ids = dict(event.known_ids)
        try:
            family_id = await self._write_household(event, ids)
            if event.kind in _COVERAGE_KINDS:
                assert event.coverage is not None  # RegisterEvent guarantees it
                await self._write_coverage(event.coverage, event.household, family_id, ids)
        except RegisterError as exc:
            exc.register_ids = {**exc.register_ids, **ids}
            raise
        return PushResult(register_ids=MappingProxyType(ids))

    async def find_person(
        self, national_id: str | None, member_no: str | None
    ) -> RegisterPerson | None:
        """By member number only: openIMIS retrieves insurees by UUID or insuree number and
        has no search by id document (``views/fhir/insuree.py``)."""
        if national_id is None and member_no is None:
            raise ValueError("give a national id, a member number, or both")
        if not member_no:
            return None
        resource = await self._by_identifier("Patient", member_no)
        return fhir.person(resource, self._identifiers) if resource is not None else None

    async def check_eligibility(self, member_no: str, on: dt.date) -> RegisterEligibility:
        found = gql.policies(await self._graphql(gql.policies_by_insuree(member_no)))
        if not found and await self._by_identifier("Patient", member_no) is None:
            return RegisterEligibility(member_no, on, Eligibility.UNKNOWN_MEMBER)
        return gql.eligibility(found, member_no, on)

    # -- the family ------------------------------------------------------------------------

    async def _write_household(self, event: RegisterEvent, ids: dict[str, str]) -> str:
        """Create what openIMIS lacks (the head first: posting it creates the family), and
        rewrite the members a correction touched; return the family UUID. The place is
        needed (and must be mapped) only for what is written."""
        household = event.household
        head = household.head
        head_key = patient_key(head.member_no)
        if head_key not in ids:
            place = await self._place_of(household)
            ids[head_key] = await self._create_patient(head, household, place, None)
        if GROUP_KEY not in ids:
            ids[GROUP_KEY] = await self._family_of(ids[head_key])
        family_id = ids[GROUP_KEY]
        for member in household.members:
            if member.relationship is Relationship.HEAD:
                continue
            key = patient_key(member.member_no)
            if key not in ids:
                place = await self._place_of(household)
                ids[key] = await self._create_patient(member, household, place, family_id)
            elif event.kind is EventKind.HOUSEHOLD_UPDATED:
                place = await self._place_of(household)
                body = fhir.patient(
                    member, household, self._identifiers, place, family_id=family_id
                )
                await self._call("PUT", f"Patient/{ids[key]}/", json={**body, "id": ids[key]})
        return family_id

    async def _create_patient(
        self,
        member: MemberRecord,
        household: HouseholdRecord,
        place: fhir.Place,
        family_id: str | None,
    ) -> str:
        body = fhir.patient(member, household, self._identifiers, place, family_id=family_id)
        try:
            response = await self._call("POST", "Patient/", json=body)
        except RegisterRejected as exc:
            if not _EXISTS.search(str(exc)):
                raise
            # Created by an earlier try whose answer was lost: take it if openIMIS says which.
            found = await self._by_identifier("Patient", member.member_no)
            if found is None:
                raise
            return fhir.uuid_of(found)
        return fhir.uuid_of(json_object(response))

    async def _family_of(self, head_id: str) -> str:
        response = await self._call("GET", f"Patient/{head_id}/")
        family_id = fhir.family_of(json_object(response))
        if family_id is None:
            raise RegisterMalformedAnswer(f"Patient/{head_id} is a head without a family")
        return family_id

    async def _place_of(self, household: HouseholdRecord) -> fhir.Place:
        keys = (
            place_key(household.commune, household.village),
            place_key(household.commune),
            ANY_PLACE,
        )
        village_id = next((self._locations[k] for k in keys if k and k in self._locations), None)
        if village_id is None:
            where = place_key(household.commune, household.village) or "no commune"
            raise RegisterRejected(
                f"household {household.reference} ({where}): no openIMIS village for it in"
                " OPENIMIS_LOCATIONS; add one, then retry"
            )
        if village_id not in self._places:
            chain: list[dict[str, Any]] = []
            location_id: str | None = village_id
            while location_id is not None and len(chain) < 4:
                location = json_object(await self._call("GET", f"Location/{location_id}/"))
                chain.append(location)
                location_id = fhir.parent_of(location)
            self._places[village_id] = fhir.place(chain)
        return self._places[village_id]

    # -- the cover year --------------------------------------------------------------------

    async def _write_coverage(
        self,
        coverage: CoverageRecord,
        household: HouseholdRecord,
        family_id: str,
        ids: dict[str, str],
    ) -> None:
        key = contract_key(coverage.reference)
        if key not in ids:
            parties = fhir.ContractParties(
                officer_id=self._settings.officer_id,
                product_id=await self._product_id(coverage.product_code),
                family_id=family_id,
                head_id=ids[patient_key(household.head.member_no)],
                insuree_ids=[ids[patient_key(m.member_no)] for m in household.members],
            )
            ids[key] = await self._create_contract(coverage, household, parties)
        policy_id = ids[key]
        payments = [p for p in coverage.payments if premium_key(p.reference) not in ids]
        for index, payment in enumerate(payments):
            last = index == len(payments) - 1
            enforce = last and coverage.status in _PAID
            await self._mutate(gql.create_premium(policy_id, payment, enforce=enforce))
            ids[premium_key(payment.reference)] = payment.reference
        if not coverage.payments and coverage.status in _PAID:
            # Nothing for the household to pay (free care, a sponsor, the amount carried from
            # the year before): openIMIS activates a policy only on a premium, so the year
            # goes as one funding premium (pay type F), forced (contribution/services.py).
            funding = PaymentRecord(
                reference=coverage.reference,
                amount=coverage.premium_due,
                paid_on=min(coverage.start, coverage.enrolled_on),
                provider="funding",
            )
            if premium_key(funding.reference) not in ids:
                await self._mutate(gql.create_premium(policy_id, funding, enforce=True))
                ids[premium_key(funding.reference)] = funding.reference
        if coverage.status in _ENDED and suspended_key(coverage.reference) not in ids:
            contract = json_object(await self._call("GET", f"Contract/{policy_id}/"))
            if fhir.contract_status(contract) in fhir.IN_FORCE:
                await self._mutate(gql.suspend_policy(policy_id))
            ids[suspended_key(coverage.reference)] = policy_id

    async def _create_contract(
        self, coverage: CoverageRecord, household: HouseholdRecord, parties: fhir.ContractParties
    ) -> str:
        """Offer the cover year, unless an earlier try whose answer was lost already did:
        openIMIS cannot search contracts by identifier, and refuses a second policy only when
        the first one's enrolment date falls inside the new one's dates
        (``contractSerializer.py``), so its own list of the head's policies is asked first."""
        asked = await self._call(
            "POST", self._graphql_url, json=gql.policies_by_insuree(household.head.member_no)
        )
        found = gql.policies(_graphql_body(asked))
        product = self._settings.products.get(coverage.product_code, coverage.product_code)
        same = [
            p
            for p in found
            # This year's policy, from an earlier try: the same product, still in force,
            # enrolled by this year's enrolment day (earlier when paid ahead, see below) and
            # reaching into this year. Not matched on its end, which moves with the day of
            # the push while the year is unpaid; the years before ended before this one starts.
            if (_UUID.match(product) or p.product_code == product)
            and p.status in _IN_FORCE
            and p.enrolled_on is not None
            and p.enrolled_on <= coverage.enrolled_on
            and p.ends_on is not None
            and p.ends_on >= coverage.start
        ]
        if same:
            return same[0].uuid
        # openIMIS refuses an enrolment date after its own today
        # (``policy.enroll_date_in_the_future``): a renewal paid before its year starts is
        # enrolled on the day of its first payment (or openIMIS's today, if earlier).
        days = [coverage.enrolled_on, *(p.paid_on for p in coverage.payments[:1])]
        server_day = _server_day(asked)
        if server_day is not None:
            days.append(server_day)
        body = fhir.contract(coverage, parties, enrolled_on=min(days))
        response = await self._call("POST", "Contract/", json=body)
        return fhir.uuid_of(json_object(response))

    async def _product_id(self, product_code: str) -> str:
        if product_code not in self._products:
            code = self._settings.products.get(product_code, product_code)
            if _UUID.match(code):
                self._products[product_code] = code
            else:
                plan = await self._by_identifier("InsurancePlan", code)
                if plan is None:
                    raise RegisterRejected(
                        f"openIMIS has no product {code!r} (for {product_code}): create it, or"
                        " map it in OPENIMIS_PRODUCTS, then retry"
                    )
                self._products[product_code] = fhir.uuid_of(plan)
        return self._products[product_code]

    # -- GraphQL ---------------------------------------------------------------------------

    async def _mutate(self, request: dict[str, Any]) -> None:
        """Run a mutation once: a retry whose first answer was lost finds it in the log."""
        mutation_id = request["variables"]["input"]["clientMutationId"]
        if await self._applied(mutation_id):
            return
        await self._graphql(request)
        await self._applied(mutation_id, after_sending=True)

    async def _applied(self, mutation_id: str, *, after_sending: bool = False) -> bool:
        """Whether openIMIS's mutation log says it was applied. Before sending, only a
        success means done and a newest entry still received means wait: an earlier
        refusal is sent again (its cause may be fixed; openIMIS's unique receipt still
        guards against paying twice). After sending, the newest entry is the answer."""
        logged = gql.outcomes(await self._graphql(gql.mutation_log(mutation_id)))
        if not after_sending and any(o.status is gql.MutationStatus.SUCCESS for o in logged):
            return True
        if not logged:
            if after_sending:
                raise RegisterMalformedAnswer(f"openIMIS logged nothing for {mutation_id}")
            return False
        newest = logged[-1]
        if newest.status is gql.MutationStatus.SUCCESS:
            return True
        if newest.status is gql.MutationStatus.RECEIVED:
            # A production openIMIS applies mutations later, through its task queue.
            raise RegisterUnavailable(f"openIMIS has not applied {mutation_id} yet")
        if not after_sending:
            return False
        error = newest.error or "no reason given"
        if fhir.is_transient(error):
            raise RegisterUnavailable(f"openIMIS could not apply {mutation_id}: {error}"[:300])
        raise RegisterRejected(f"openIMIS refused {mutation_id}: {error}"[:300])

    async def _graphql(self, request: dict[str, Any]) -> dict[str, Any]:
        return _graphql_body(await self._call("POST", self._graphql_url, json=request))

    # -- HTTP ------------------------------------------------------------------------------

    async def _by_identifier(self, resource_type: str, value: str) -> dict[str, Any] | None:
        """openIMIS's ``?identifier=`` retrieves one resource by insuree number or code
        (its ``id`` is then that number: read the UUID identifier), 404 when none."""
        response = await self._call(
            "GET", f"{resource_type}/", params={"identifier": value}, allow=frozenset({404})
        )
        if response.status_code == 404:
            return None
        body = json_object(response)
        if body.get("resourceType") == "Bundle":  # a later openIMIS may answer a search set
            entries = [e.get("resource") for e in body.get("entry") or [] if isinstance(e, dict)]
            return next((r for r in entries if isinstance(r, dict)), None)
        if body.get("resourceType") != resource_type:
            raise RegisterMalformedAnswer(f"{resource_type} lookup: a {body.get('resourceType')!r}")
        return body

    async def _call(
        self, method: str, path: str, *, allow: frozenset[int] = frozenset(), **kwargs: Any
    ) -> httpx.Response:
        response = await send_authorized(self._client, self._tokens, method, path, **kwargs)
        if response.status_code >= 500:
            # openIMIS answers a refused write with 500 and an OperationOutcome saying why:
            # retrying the same data 48 times would change nothing.
            reason = fhir.refusal(_json_or_none(response))
            if reason is not None:
                where = f"{method} {response.request.url.path}"
                message = f"{where}: openIMIS refused: {reason}"[:300]
                raise RegisterRejected(message, status_code=500)
        if response.status_code not in allow:
            raise_for_status(response)
        return response

    async def _login(self) -> AccessToken:
        credentials = {"username": self._settings.username, "password": self._settings.password}
        response = await send(self._client, "POST", "login/", json=credentials)
        raise_for_login(response)
        body = json_object(response)
        expires = body.get("exp")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise RegisterMalformedAnswer("login: 'exp' missing or not a Unix time")
        return AccessToken(get_str(body, "token", "login"), float(expires))


def _json_or_none(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def settings_problems(settings: OpenImisSettings) -> list[str]:
    """What makes these settings unusable, in words for the operator."""
    problems = []
    if not _UUID.match(settings.officer_id):
        problems.append("OPENIMIS_OFFICER_UUID must be the UUID of an openIMIS enrolment officer")
    if not settings.locations:
        problems.append(
            'OPENIMIS_LOCATIONS must map places to openIMIS villages, e.g. {"*": "<uuid>"}'
        )
    for key, value in settings.locations.items():
        if not _UUID.match(value):
            problems.append(f"OPENIMIS_LOCATIONS[{key!r}] must be a village Location UUID")
    return problems


__all__ = [
    "OpenImisRegister",
    "OpenImisSettings",
    "contract_key",
    "patient_key",
    "place_key",
    "premium_key",
    "settings_problems",
    "suspended_key",
]


def _graphql_body(response: httpx.Response) -> dict[str, Any]:
    body = json_object(response)
    problem = gql.errors_of(body)
    if problem is not None:
        raise RegisterMalformedAnswer(f"openIMIS GraphQL: {problem}")
    return body


def _server_day(response: httpx.Response) -> dt.date | None:
    """openIMIS's today, from the HTTP ``Date`` of its answer (None when absent)."""
    try:
        return parsedate_to_datetime(response.headers["date"]).date()
    except (KeyError, TypeError, ValueError):
        return None
