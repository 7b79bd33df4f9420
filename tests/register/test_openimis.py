"""The openIMIS register adapter against a local openIMIS FHIR R4 peer over real HTTP."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest

from adapters.register import (
    BirthDate,
    Eligibility,
    EventKind,
    PaymentRecord,
    RegisterMalformedAnswer,
    RegisterRejected,
    RegisterUnavailable,
    Sex,
)
from adapters.register.openimis import OpenImisRegister, OpenImisSettings
from menus.values import CoverageStatus
from tests.peers.openimis import OpenImisPeer
from tests.support.http_server import serve
from tests.support.register_records import CHILD, HEAD, SPOUSE, TODAY, coverage, event, household


@pytest.fixture
def peer() -> OpenImisPeer:
    return OpenImisPeer()


@pytest.fixture
def base_url(peer: OpenImisPeer) -> Iterator[str]:
    with serve(peer.app) as url:
        yield url


def settings(base_url: str, **changes: Any) -> OpenImisSettings:
    values: dict[str, Any] = {"username": "gateway", "password": "s3cret", "timeout_seconds": 1.0}
    return OpenImisSettings(base_url=base_url, **{**values, **changes})


@pytest.fixture
async def register(base_url: str) -> AsyncIterator[OpenImisRegister]:
    async with OpenImisRegister(settings(base_url)) as adapter:
        yield adapter


def ids_of(resources: list[dict[str, Any]]) -> set[str]:
    return {r["id"] for r in resources}


# -- login -------------------------------------------------------------------------------


async def test_logs_in_once_and_sends_the_token(register: OpenImisRegister, peer: OpenImisPeer):
    await register.push(event(EventKind.HOUSEHOLD_ENROLLED))
    await register.find_person(None, HEAD.member_no)

    assert peer.logins == 1
    fhir_calls = [s for s in peer.requests if "/login/" not in s.path]
    assert fhir_calls and all(s.status != 401 for s in fhir_calls)


async def test_renews_the_token_before_it_expires(base_url: str, peer: OpenImisPeer):
    peer.token_ttl = 10  # inside the adapter's renewal margin: every call finds it stale
    async with OpenImisRegister(settings(base_url)) as register:
        await register.find_person(None, HEAD.member_no)
        await register.find_person(None, HEAD.member_no)

    assert peer.logins == 2


async def test_renews_a_token_the_register_refuses(register: OpenImisRegister, peer: OpenImisPeer):
    await register.find_person(None, HEAD.member_no)
    peer.revoke_tokens()

    assert await register.find_person(None, HEAD.member_no) is None
    assert peer.logins == 2
    searches = peer.seen("GET", "/Patient/")
    assert [s.status for s in searches] == [200, 401, 200]


async def test_refused_credentials_wait_for_a_configuration_fix(base_url: str):
    async with OpenImisRegister(settings(base_url, password="wrong")) as register:
        with pytest.raises(RegisterUnavailable, match="credentials"):
            await register.push(event(EventKind.HOUSEHOLD_ENROLLED))


@pytest.mark.parametrize("status", [400, 404])
async def test_a_login_refused_for_a_wrong_url_or_form_waits_for_a_fix(
    base_url: str, peer: OpenImisPeer, status: int
) -> None:
    # A wrong OPENIMIS_BASE_URL answers 404 at login: the events are fine, keep them.
    peer.fail_next(status, method="POST", path="/login/")
    async with OpenImisRegister(settings(base_url)) as register:
        with pytest.raises(RegisterUnavailable, match="URL and credentials"):
            await register.push(event(EventKind.HOUSEHOLD_ENROLLED))


# -- pushes ------------------------------------------------------------------------------


async def test_household_enrolled_writes_patients_and_their_group(
    register: OpenImisRegister, peer: OpenImisPeer
):
    result = await register.push(event(EventKind.HOUSEHOLD_ENROLLED))

    patients = {p["identifier"][0]["value"]: p for p in peer.resources("Patient")}
    [group] = peer.resources("Group")
    ids = result.register_ids
    assert ids == {
        "group": group["id"],
        "patient:2026000017": patients["2026000017"]["id"],
        "patient:2026000025": patients["2026000025"]["id"],
    }
    assert [m["entity"]["reference"] for m in group["member"]] == [
        f"Patient/{ids['patient:2026000017']}",
        f"Patient/{ids['patient:2026000025']}",
    ]
    assert group["quantity"] == 2
    assert group["identifier"][0]["value"] == HEAD.member_no

    head, spouse = patients["2026000017"], patients["2026000025"]
    assert head["identifier"][1]["type"]["coding"][0]["code"] == "NationalId"
    assert head["identifier"][1]["value"] == "1234567890"
    assert head["birthDate"] == "1985-01-01"  # year-only birth date
    assert head["telecom"] == [{"system": "phone", "value": "+2290197123456"}]
    assert {"url": head["extension"][0]["url"], "valueBoolean": True} in head["extension"]
    assert spouse["extension"][0]["valueBoolean"] is False
    assert spouse["extension"][1]["valueReference"] == {"reference": f"Group/{group['id']}"}
    assert spouse["contact"][0]["relationship"][0]["coding"][0]["display"] == "spouse"
    assert spouse["name"] == [{"use": "usual", "family": "ADJOVI", "given": ["Afi", "Reine"]}]


async def test_a_retried_push_whose_answer_was_lost_creates_no_duplicate(
    register: OpenImisRegister, peer: OpenImisPeer
):
    enrolled = event(EventKind.HOUSEHOLD_ENROLLED)
    first = await register.push(enrolled)
    second = await register.push(enrolled)  # no ids stored: found again by identifier

    assert len(peer.resources("Patient")) == 2
    assert len(peer.resources("Group")) == 1
    assert second.register_ids == first.register_ids
    assert len(peer.seen("POST", "/Patient/")) == 2


async def test_a_push_with_stored_ids_updates_in_place(
    register: OpenImisRegister, peer: OpenImisPeer
):
    first = await register.push(event(EventKind.HOUSEHOLD_ENROLLED))
    requests_before = len(peer.requests)

    again = event(EventKind.HOUSEHOLD_ENROLLED, known_ids=first.register_ids)
    await register.push(again)

    later = peer.requests[requests_before:]
    assert {s.method for s in later} == {"PUT"}
    assert len(peer.resources("Patient")) == 2


async def test_member_added_writes_the_new_member_into_the_group(
    register: OpenImisRegister, peer: OpenImisPeer
):
    first = await register.push(event(EventKind.HOUSEHOLD_ENROLLED))

    grown = household(HEAD, SPOUSE, CHILD)
    added = event(
        EventKind.MEMBER_ADDED, grown, member_no=CHILD.member_no, known_ids=first.register_ids
    )
    result = await register.push(added)

    assert len(peer.resources("Patient")) == 3
    assert len(peer.seen("POST", "/Patient/")) == 3
    [group] = peer.resources("Group")
    assert group["quantity"] == 3
    assert f"Patient/{result.register_ids['patient:2026000033']}" in {
        m["entity"]["reference"] for m in group["member"]
    }


async def test_coverage_activated_writes_an_active_contract(
    register: OpenImisRegister, peer: OpenImisPeer
):
    first = await register.push(event(EventKind.HOUSEHOLD_ENROLLED))
    period = coverage(CoverageStatus.ACTIVE)

    result = await register.push(
        event(EventKind.COVERAGE_ACTIVATED, coverage=period, known_ids=first.register_ids)
    )

    [contract] = peer.resources("Contract")
    assert result.register_ids["contract:CP-2026-0042"] == contract["id"]
    assert contract["status"] == "active"
    assert contract["subject"] == [{"reference": f"Group/{first.register_ids['group']}"}]
    asset = contract["term"][0]["asset"][0]
    assert asset["usePeriod"] == [
        {"start": period.start.isoformat(), "end": period.end.isoformat()}
    ]
    assert asset["valuedItem"][0]["entityReference"] == {"reference": "InsurancePlan/FAM-2026"}
    assert asset["valuedItem"][0]["net"] == {"value": 3150, "currency": "XOF"}
    assert {r["reference"] for r in asset["typeReference"]} == {
        f"Patient/{first.register_ids['patient:2026000017']}",
        f"Patient/{first.register_ids['patient:2026000025']}",
    }
    # The household existed: nothing but the contract was written.
    assert len(peer.seen("PUT", "/Patient/")) == 0


async def test_coverage_lapsed_updates_the_same_contract(
    register: OpenImisRegister, peer: OpenImisPeer
):
    activated = await register.push(
        event(EventKind.COVERAGE_ACTIVATED, coverage=coverage(CoverageStatus.ACTIVE))
    )
    await register.push(
        event(
            EventKind.COVERAGE_LAPSED,
            coverage=coverage(CoverageStatus.LAPSED),
            known_ids=activated.register_ids,
        )
    )

    [contract] = peer.resources("Contract")
    assert contract["status"] == "Expired"


async def test_payment_recorded_lists_every_premium_paid(
    register: OpenImisRegister, peer: OpenImisPeer
):
    payments = (
        PaymentRecord("pay-1", 1575, TODAY - dt.timedelta(days=40), "mtn_momo"),
        PaymentRecord("pay-2", 1575, TODAY - dt.timedelta(days=35), "fedapay"),
    )
    period = coverage(CoverageStatus.WAITING, payments=payments)

    await register.push(
        event(EventKind.PAYMENT_RECORDED, coverage=period, payment_reference="pay-2")
    )

    [contract] = peer.resources("Contract")
    assert contract["status"] == "Ready"  # paid, waiting period running (openIMIS status 16)
    premiums = contract["term"][0]["asset"][0]["extension"]
    amounts = [{e["url"]: e for e in p["extension"]} for p in premiums]
    assert [a["receipt"]["valueString"] for a in amounts] == ["pay-1", "pay-2"]
    assert [a["amount"]["valueMoney"] for a in amounts] == [{"value": 1575, "currency": "XOF"}] * 2


async def test_a_coverage_event_for_an_unpushed_household_creates_it_first(
    register: OpenImisRegister, peer: OpenImisPeer
):
    await register.push(
        event(EventKind.COVERAGE_ACTIVATED, coverage=coverage(CoverageStatus.ACTIVE))
    )

    assert len(peer.resources("Patient")) == 2
    [group] = peer.resources("Group")
    assert group["quantity"] == 2  # rewritten once both members had ids
    assert len(peer.resources("Contract")) == 1


async def test_a_stored_id_the_register_lost_is_found_again(
    register: OpenImisRegister, peer: OpenImisPeer
):
    first = await register.push(event(EventKind.HOUSEHOLD_ENROLLED))
    stale = {**first.register_ids, "patient:2026000025": str(uuid.uuid4())}

    result = await register.push(event(EventKind.HOUSEHOLD_ENROLLED, known_ids=stale))

    assert result.register_ids == first.register_ids
    assert len(peer.resources("Patient")) == 2


# -- eligibility -------------------------------------------------------------------------


async def test_eligibility_of_a_member_with_an_active_policy(register: OpenImisRegister):
    period = coverage(CoverageStatus.ACTIVE)
    await register.push(event(EventKind.COVERAGE_ACTIVATED, coverage=period))

    answer = await register.check_eligibility(SPOUSE.member_no, TODAY)

    assert answer.status is Eligibility.COVERED and answer.covered
    assert (answer.period_start, answer.period_end) == (period.start, period.end)
    assert answer.coverage_ref is not None and answer.coverage_ref.startswith("Coverage/")


async def test_eligibility_of_an_expired_policy_reads_the_period(register: OpenImisRegister):
    # openIMIS lists the expired policy as in force: only its period says it is over.
    ended = TODAY - dt.timedelta(days=35)
    period = coverage(CoverageStatus.LAPSED, start=TODAY - dt.timedelta(days=400), end=ended)
    await register.push(event(EventKind.COVERAGE_LAPSED, coverage=period))

    answer = await register.check_eligibility(HEAD.member_no, TODAY)

    assert answer.status is Eligibility.NOT_COVERED
    assert answer.period_end == ended


async def test_eligibility_of_a_member_without_policy(register: OpenImisRegister):
    await register.push(event(EventKind.HOUSEHOLD_ENROLLED))

    answer = await register.check_eligibility(HEAD.member_no, TODAY)

    assert answer.status is Eligibility.NOT_COVERED
    assert answer.period_end is None


async def test_eligibility_of_an_unknown_member(register: OpenImisRegister, peer: OpenImisPeer):
    answer = await register.check_eligibility("2026999999", TODAY)

    assert answer.status is Eligibility.UNKNOWN_MEMBER
    [request] = peer.seen("POST", "/CoverageEligibilityRequest/")
    assert request.body["patient"] == {"reference": "Patient/2026999999"}
    assert request.body["created"] == TODAY.isoformat()


# -- find_person -------------------------------------------------------------------------


async def test_find_person_by_national_id(register: OpenImisRegister):
    result = await register.push(event(EventKind.HOUSEHOLD_ENROLLED))

    person = await register.find_person("1234567890", None)

    assert person is not None
    assert person.register_id == result.register_ids["patient:2026000017"]
    assert (person.member_no, person.national_id) == (HEAD.member_no, "1234567890")
    assert (person.family_name, person.given_names, person.sex) == ("ADJOVI", "Koffi", Sex.MALE)
    assert person.birth_date == BirthDate(1985, 1, 1)
    assert person.is_head is True
    assert person.phone == "+2290197123456"


async def test_find_person_by_member_number(register: OpenImisRegister):
    await register.push(event(EventKind.HOUSEHOLD_ENROLLED))

    person = await register.find_person(None, SPOUSE.member_no)

    assert person is not None
    assert (person.given_names, person.birth_date, person.is_head) == (
        "Afi Reine",
        BirthDate(1990, 3, 12),
        False,
    )


async def test_find_person_not_known(register: OpenImisRegister):
    assert await register.find_person("9999999999", "2026999999") is None


async def test_works_with_openimis_own_identifier_search(base_url: str, peer: OpenImisPeer):
    # Stock openIMIS answers ?identifier= with the resource itself, or 404 when none.
    peer.search_style = "openimis"
    async with OpenImisRegister(settings(base_url)) as register:
        enrolled = event(EventKind.HOUSEHOLD_ENROLLED)
        await register.push(enrolled)
        await register.push(enrolled)
        person = await register.find_person(None, HEAD.member_no)
        missing = await register.find_person(None, "2026999999")

    assert len(peer.resources("Patient")) == 2
    assert person is not None and person.member_no == HEAD.member_no
    assert missing is None


# -- failures ----------------------------------------------------------------------------


async def test_a_server_error_means_retry_later(register: OpenImisRegister, peer: OpenImisPeer):
    peer.fail_next(500, method="POST", path="/Group/")
    enrolled = event(EventKind.HOUSEHOLD_ENROLLED)

    with pytest.raises(RegisterUnavailable) as failure:
        await register.push(enrolled)

    # The head was written before the failure: its id travels with the error.
    assert set(failure.value.register_ids) == {"patient:2026000017"}
    await register.push(replace(enrolled, known_ids=failure.value.register_ids))
    assert len(peer.resources("Patient")) == 2
    assert len(peer.resources("Group")) == 1


async def test_a_timeout_means_retry_later_and_the_retry_duplicates_nothing(
    base_url: str, peer: OpenImisPeer
):
    # The register does the work after our client gave up waiting.
    peer.slow_next(1.2, method="POST", path="/Patient/")
    enrolled = event(EventKind.HOUSEHOLD_ENROLLED)

    async with OpenImisRegister(settings(base_url, timeout_seconds=0.5)) as register:
        with pytest.raises(RegisterUnavailable, match="timeout"):
            await register.push(enrolled)
        peer.wait_idle()
        await register.push(enrolled)

    assert len(peer.resources("Patient")) == 2
    assert len(peer.resources("Group")) == 1


async def test_a_refused_event_goes_to_the_dead_letters(
    register: OpenImisRegister, peer: OpenImisPeer
):
    unknown_product = coverage(CoverageStatus.ACTIVE, product="NO-SUCH-PLAN")

    with pytest.raises(RegisterRejected, match="unknown InsurancePlan") as failure:
        await register.push(event(EventKind.COVERAGE_ACTIVATED, coverage=unknown_product))

    assert failure.value.status_code == 400
    assert peer.resources("Contract") == []


async def test_a_garbled_answer_is_malformed_and_the_retry_duplicates_nothing(
    register: OpenImisRegister, peer: OpenImisPeer
):
    peer.garble_next(method="POST", path="/Group/")  # created, but the answer is lost
    enrolled = event(EventKind.HOUSEHOLD_ENROLLED)

    with pytest.raises(RegisterMalformedAnswer):
        await register.push(enrolled)

    await register.push(enrolled)
    assert len(peer.resources("Group")) == 1
    assert len(peer.resources("Patient")) == 2


async def test_a_garbled_eligibility_answer_is_malformed(
    register: OpenImisRegister, peer: OpenImisPeer
):
    await register.push(event(EventKind.HOUSEHOLD_ENROLLED))
    peer.garble_next(path="/CoverageEligibilityRequest/")

    with pytest.raises(RegisterMalformedAnswer):
        await register.check_eligibility(HEAD.member_no, TODAY)


async def test_an_unreachable_register_means_retry_later():
    settings_ = OpenImisSettings("http://127.0.0.1:9", "gateway", "s3cret", timeout_seconds=1.0)
    async with OpenImisRegister(settings_) as register:
        with pytest.raises(RegisterUnavailable):
            await register.find_person(None, HEAD.member_no)
