"""openIMIS as the central register, through its FHIR R4 API.

    POST {base}/api/api_fhir_r4/login/  {"username", "password"} -> {"token", "exp"}
    Patient/, Group/, Contract/          search ?identifier=, then PUT {id}/ or POST
    CoverageEligibilityRequest/          -> CoverageEligibilityResponse

What each event becomes on the register:

- household_enrolled, member_added, household_updated: every member written as a Patient (the
  head first, then the others pointing at their family) and the family as a Group listing them
  all; a member moved to another family is rewritten by that family's event, pointing at it;
- coverage_activated, coverage_lapsed, payment_recorded: the family made sure of (created only
  if missing), then the coverage period written as a Contract with its policy status, its
  periods, its product and every premium paid so far.

A retry never creates a duplicate: an id stored from an earlier push is updated in place; an
unknown one is first looked up by identifier (member number, head's member number, coverage
period reference) and created only if the register has none.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import httpx

from adapters.http_client import HttpAdapter
from adapters.register import openimis_fhir as fhir
from adapters.register.answers import get_str, json_object
from adapters.register.base import Eligibility, PushResult, RegisterEligibility, RegisterPerson
from adapters.register.errors import RegisterError, RegisterMalformedAnswer, RegisterRejected
from adapters.register.events import EventKind, HouseholdRecord, MemberRecord, RegisterEvent
from adapters.register.tokens import AccessToken, TokenCache, send_authorized
from adapters.register.transport import raise_for_login, raise_for_status, send, timeout
from menus.values import Relationship

FHIR_PATH = "/api/api_fhir_r4/"
GROUP_KEY = "group"

_HOUSEHOLD_KINDS = frozenset(
    {EventKind.HOUSEHOLD_ENROLLED, EventKind.MEMBER_ADDED, EventKind.HOUSEHOLD_UPDATED}
)


def patient_key(member_no: str) -> str:
    return f"patient:{member_no}"


def contract_key(coverage_reference: str) -> str:
    return f"contract:{coverage_reference}"


@dataclass(frozen=True)
class OpenImisSettings:
    base_url: str  # e.g. https://imis.example.bj, without /api/api_fhir_r4
    username: str
    password: str = field(repr=False)
    timeout_seconds: float = 10.0
    insurer: str = "openIMIS"  # Organization named in eligibility requests
    eligibility_service: str | None = None  # service code to ask about, e.g. "CONS"
    member_no_code: str = "Code"
    national_id_code: str = "NationalId"


@dataclass(frozen=True)
class _Target:
    """One resource to write, and how to find it on the register when its id is not known."""

    resource_type: str
    key: str  # its name in the register-ids map
    identifier_code: str
    identifier_value: str
    build: Callable[[], dict[str, Any]]  # built late, so it sees the ids known by then


class OpenImisRegister(HttpAdapter):
    def __init__(self, settings: OpenImisSettings) -> None:
        self._settings = settings
        self._identifiers = fhir.Identifiers(
            member_no_code=settings.member_no_code, national_id_code=settings.national_id_code
        )
        super().__init__(
            base_url=settings.base_url.rstrip("/") + FHIR_PATH,
            timeout=timeout(settings.timeout_seconds),
            headers={"Accept": "application/fhir+json, application/json"},
        )
        self._tokens = TokenCache(self._login)

    async def push(self, event: RegisterEvent) -> PushResult:
        ids = dict(event.known_ids)
        try:
            overwrite = event.kind in _HOUSEHOLD_KINDS
            group_id = await self._write_household(event.household, ids, overwrite=overwrite)
            if event.kind not in _HOUSEHOLD_KINDS:
                await self._upsert(self._contract(event, group_id, ids), ids, overwrite=True)
        except RegisterError as exc:
            exc.register_ids = {**exc.register_ids, **ids}
            raise
        return PushResult(register_ids=MappingProxyType(ids))

    async def find_person(
        self, national_id: str | None, member_no: str | None
    ) -> RegisterPerson | None:
        if national_id is None and member_no is None:
            raise ValueError("give a national id, a member number, or both")
        searches = (
            (self._identifiers.national_id_code, national_id),
            (self._identifiers.member_no_code, member_no),
        )
        for code, value in searches:
            if value:
                resource = await self._search("Patient", code, value)
                if resource is not None:
                    return fhir.person(resource, self._identifiers)
        return None

    async def check_eligibility(self, member_no: str, on: dt.date) -> RegisterEligibility:
        request = fhir.eligibility_request(
            member_no,
            on,
            insurer=self._settings.insurer,
            service_code=self._settings.eligibility_service,
        )
        response = await self._call(
            "POST", "CoverageEligibilityRequest/", json=request, allow=frozenset({404})
        )
        if response.status_code == 404:
            return RegisterEligibility(member_no, on, Eligibility.UNKNOWN_MEMBER)
        return fhir.eligibility(json_object(response), member_no, on)

    # -- household and coverage ------------------------------------------------------------

    async def _write_household(
        self, household: HouseholdRecord, ids: dict[str, str], *, overwrite: bool
    ) -> str:
        """Write (or, with overwrite off, only create what is missing) the family; return the
        Group id. The head goes first: openIMIS hangs a family on its head."""
        keys = [GROUP_KEY, *(patient_key(m.member_no) for m in household.members)]
        complete = all(key in ids for key in keys)
        await self._upsert(self._patient(household.head, household), ids, overwrite=overwrite)
        group = self._group(household, ids)
        group_id = await self._upsert(group, ids, overwrite=False)
        for member in household.members:
            if member.relationship is not Relationship.HEAD:
                target = self._patient(member, household, group_id=group_id)
                await self._upsert(target, ids, overwrite=overwrite)
        if overwrite or not complete:
            # Now that every member has an id, the Group can list them all.
            await self._upsert(group, ids, overwrite=True)
        return group_id

    def _patient(
        self,
        member: MemberRecord,
        household: HouseholdRecord,
        *,
        group_id: str | None = None,
    ) -> _Target:
        return _Target(
            resource_type="Patient",
            key=patient_key(member.member_no),
            identifier_code=self._identifiers.member_no_code,
            identifier_value=member.member_no,
            build=lambda: fhir.patient(member, household, self._identifiers, group_id=group_id),
        )

    def _group(self, household: HouseholdRecord, ids: Mapping[str, str]) -> _Target:
        return _Target(
            resource_type="Group",
            key=GROUP_KEY,
            identifier_code=self._identifiers.member_no_code,
            identifier_value=household.head.member_no,
            build=lambda: fhir.group(household, self._identifiers, _patient_ids(household, ids)),
        )

    def _contract(self, event: RegisterEvent, group_id: str, ids: Mapping[str, str]) -> _Target:
        coverage = event.coverage
        assert coverage is not None  # RegisterEvent guarantees it for coverage and payments
        household = event.household
        return _Target(
            resource_type="Contract",
            key=contract_key(coverage.reference),
            identifier_code=self._identifiers.member_no_code,
            identifier_value=coverage.reference,
            build=lambda: fhir.contract(
                coverage,
                household,
                self._identifiers,
                group_id=group_id,
                patient_ids=_patient_ids(household, ids),
            ),
        )

    # -- idempotent writes -----------------------------------------------------------------

    async def _upsert(self, target: _Target, ids: dict[str, str], *, overwrite: bool) -> str:
        known = ids.get(target.key)
        if known is not None:
            if not overwrite or await self._update(target, known):
                return known
            # The register lost the id we stored (a restored backup, a manual clean-up):
            # look the resource up again by identifier before creating anything.
            del ids[target.key]
        found = await self._search(
            target.resource_type, target.identifier_code, target.identifier_value
        )
        if found is not None:
            found_id = fhir.resource_id(found)
            ids[target.key] = found_id
            if overwrite and not await self._update(target, found_id):
                raise RegisterMalformedAnswer(
                    f"{target.resource_type}/{found_id} found by identifier but not updatable"
                )
            return found_id
        created = await self._create(target)
        ids[target.key] = created
        return created

    async def _search(self, resource_type: str, code: str, value: str) -> dict[str, Any] | None:
        response = await self._call(
            "GET", f"{resource_type}/", params={"identifier": value}, allow=frozenset({404})
        )
        if response.status_code == 404:  # openIMIS's answer to an identifier it does not know
            return None
        resources = fhir.resources_in(json_object(response), resource_type)
        # A register may ignore a search parameter and list everything: keep exact matches only.
        matches = [r for r in resources if fhir.identifier_value(r, code) == value]
        if len(matches) > 1:
            raise RegisterRejected(
                f"the register holds {len(matches)} {resource_type} resources with {code} {value}:"
                " merge them there, then retry"
            )
        return matches[0] if matches else None

    async def _create(self, target: _Target) -> str:
        response = await self._call("POST", f"{target.resource_type}/", json=target.build())
        try:
            return fhir.resource_id(json_object(response))
        except RegisterMalformedAnswer:
            # Some servers answer a create with an empty body and the new id in Location.
            location = response.headers.get("Location", "")
            match = re.search(rf"{target.resource_type}/([^/]+)", location)
            if match is None:
                raise
            return match.group(1)

    async def _update(self, target: _Target, resource_id: str) -> bool:
        """PUT the resource; False when the register has no resource with that id."""
        body = {**target.build(), "id": resource_id}
        response = await self._call(
            "PUT", f"{target.resource_type}/{resource_id}/", json=body, allow=frozenset({404})
        )
        return response.status_code != 404

    # -- HTTP ------------------------------------------------------------------------------

    async def _call(
        self, method: str, path: str, *, allow: frozenset[int] = frozenset(), **kwargs: Any
    ) -> httpx.Response:
        response = await send_authorized(self._client, self._tokens, method, path, **kwargs)
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


def _patient_ids(household: HouseholdRecord, ids: Mapping[str, str]) -> dict[str, str]:
    """Member number -> Patient id, for the members whose id is known."""
    return {
        m.member_no: ids[patient_key(m.member_no)]
        for m in household.members
        if patient_key(m.member_no) in ids
    }
