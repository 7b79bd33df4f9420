"""The openIMIS register adapter against the openIMIS peer (tests/peers/openimis.py, rebuilt
from openIMIS's own code) over real HTTP. The same adapter runs against a real openIMIS in
tests/integration/openimis."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest

from adapters.register import (
    BirthDate,
    CoverageRecord,
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
from tests.peers.openimis import OFFICER, OTHER_VILLAGE, VILLAGE, OpenImisPeer
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
    values: dict[str, Any] = {
        "username": "gateway",
        "password": "s3cret",
        "officer_id": OFFICER,
        "locations": {"*": VILLAGE, "Kandi/Sonsoro": OTHER_VILLAGE},
        # Room for a loaded CI machine (two suites beside each other); the tests of a
        # lost answer make the peer slower than this on purpose.
        "timeout_seconds": 3.0,
    }
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
    assert [s.status for s in searches] == [404, 401, 404]


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


def patient_of(peer: OpenImisPeer, member_no: str) -> dict[str, Any]:
    return next(p for p in peer.resources("Patient") if code(p, "Code") == member_no)


def code(resource: dict[str, Any], kind: str) -> str | None:
    for identifier in resource.get("identifier", []):
        if any(c.get("code") == kind for c in identifier["type"]["coding"]):
            return str(identifier["value"])
    return None


def sent_bodies(peer: OpenImisPeer, method: str, path: str) -> list[dict[str, Any]]:
    return [s.body for s in peer.seen(method, path)]


async def test_household_enrolled_writes_the_head_then_the_members_into_its_family(
    register: OpenImisRegister, peer: OpenImisPeer
):
    result = await register.push(event(EventKind.HOUSEHOLD_ENROLLED))

    [family] = peer.resources("Group")
    ids = result.register_ids
    assert ids == {
        "group": family["id"],
        "patient:2026000017": patient_of(peer, HEAD.member_no)["id"],
        "patient:2026000025": patient_of(peer, SPOUSE.member_no)["id"],
    }
    # openIMIS makes the family with its head: no Group is ever posted.
    assert peer.seen("POST", "/Group/") == []
    assert family["member"] == [
        {"entity": {"reference": f"Patient/{ids['patient:2026000017']}"}},
        {"entity": {"reference": f"Patient/{ids['patient:2026000025']}"}},
    ]
    head, spouse = sent_bodies(peer, "POST", "/Patient/")
    assert head["birthDate"] == "1985-01-01"  # year-only birth date
    assert head["telecom"] == [{"system": "phone", "value": "+2290197123456"}]
    assert {"url": head["extension"][0]["url"], "valueBoolean": True} in head["extension"]
    assert [i["type"]["coding"][0]["code"] for i in head["identifier"]] == ["Code", "PPN"]
    identification = next(e for e in head["extension"] if e["url"].endswith("identification"))
    assert identification["extension"][0] == {"url": "number", "valueString": "1234567890"}
    assert not any(e["url"].endswith("group-reference") for e in head["extension"])
    [address] = head["address"]
    assert (address["use"], address["city"], address["district"], address["state"]) == (
        "home",
        "Holobo",
        "Jambero",
        "Region 1",
    )
    assert [e["url"].rsplit("/", 1)[1] for e in address["extension"]] == [
        "address-municipality",
        "address-location-reference",
    ]
    assert address["extension"][1]["valueReference"] == {"reference": f"Location/{VILLAGE}"}
    assert spouse["extension"][1]["valueReference"] == {"reference": f"Group/{family['id']}"}
    assert spouse["contact"][0]["relationship"][0]["coding"][0]["display"] == "Spouse"
    assert spouse["name"] == [{"use": "usual", "family": "ADJOVI", "given": ["Afi Reine"]}]
    # openIMIS keeps what it read: the whole given names, the NPI, the relation.
    assert patient_of(peer, SPOUSE.member_no)["name"][0]["given"] == ["Afi Reine"]
    assert patient_of(peer, SPOUSE.member_no)["contact"] == spouse["contact"]


async def test_a_household_lives_in_the_village_its_commune_maps_to(
    register: OpenImisRegister, peer: OpenImisPeer
):
    home = replace(household(), commune="Kandi", village="Sonsoro")
    await register.push(event(EventKind.HOUSEHOLD_ENROLLED, home))

    [head, _] = sent_bodies(peer, "POST", "/Patient/")
    location = head["address"][0]["extension"][1]["valueReference"]
    assert location == {"reference": f"Location/{OTHER_VILLAGE}"}
    assert head["address"][0]["city"] == "Octo"


async def test_a_household_without_a_mapped_village_is_refused_before_sending(
    base_url: str, peer: OpenImisPeer
):
    async with OpenImisRegister(settings(base_url, locations={"Kandi": VILLAGE})) as register:
        with pytest.raises(RegisterRejected, match="OPENIMIS_LOCATIONS"):
            await register.push(event(EventKind.HOUSEHOLD_ENROLLED))

    assert peer.seen("POST", "/Patient/") == []


async def test_a_patient_without_address_is_refused_by_openimis_as_a_refusal(
    register: OpenImisRegister, peer: OpenImisPeer
):
    # What happened to every household before the adapter sent an address (issue 15):
    # openIMIS answers 500 with an OperationOutcome, a refusal rather than an outage.
    await register.push(event(EventKind.HOUSEHOLD_ENROLLED))
    bare = {**sent_bodies(peer, "POST", "/Patient/")[0], "address": []}
    bare["identifier"] = [{**bare["identifier"][0], "value": "2026000099"}]

    with pytest.raises(RegisterRejected, match="not iterable") as failure:
        await register._call("POST", "Patient/", json=bare)

    assert failure.value.status_code == 500


async def test_a_retried_push_whose_answer_was_lost_creates_no_duplicate(
    register: OpenImisRegister, peer: OpenImisPeer
):
    enrolled = event(EventKind.HOUSEHOLD_ENROLLED)
    first = await register.push(enrolled)
    # No ids stored: openIMIS says the insurees exist, and which they are.
    second = await register.push(enrolled)

    assert len(peer.resources("Patient")) == 2
    assert len(peer.resources("Group")) == 1
    assert second.register_ids == first.register_ids


async def test_a_push_with_stored_ids_sends_nothing_again(
    register: OpenImisRegister, peer: OpenImisPeer
):
    first = await register.push(event(EventKind.HOUSEHOLD_ENROLLED))
    requests_before = len(peer.requests)

    await register.push(event(EventKind.HOUSEHOLD_ENROLLED, known_ids=first.register_ids))

    assert peer.requests[requests_before:] == []


async def test_a_corrected_household_rewrites_its_members_but_never_its_head(
    register: OpenImisRegister, peer: OpenImisPeer
):
    first = await register.push(event(EventKind.HOUSEHOLD_ENROLLED))
    corrected = household(HEAD, replace(SPOUSE, given_names="Afi Reine Marie"))

    await register.push(
        event(
            EventKind.HOUSEHOLD_UPDATED,
            corrected,
            member_no=SPOUSE.member_no,
            known_ids=first.register_ids,
        )
    )

    # A head PUT would detach it from its family (patientConverter.build_imis_family).
    [put] = peer.seen("PUT", "/Patient/")
    assert put.path.endswith(f"/Patient/{first.register_ids['patient:2026000025']}/")
    assert put.body["name"][0]["given"] == ["Afi Reine Marie"]
    assert put.body["extension"][1]["valueReference"] == {
        "reference": f"Group/{first.register_ids['group']}"
    }


async def test_member_added_joins_the_family(register: OpenImisRegister, peer: OpenImisPeer):
    first = await register.push(event(EventKind.HOUSEHOLD_ENROLLED))

    grown = household(HEAD, SPOUSE, CHILD)
    added = event(
        EventKind.MEMBER_ADDED, grown, member_no=CHILD.member_no, known_ids=first.register_ids
    )
    result = await register.push(added)

    assert len(peer.seen("POST", "/Patient/")) == 3
    [family] = peer.resources("Group")
    assert family["quantity"] == 3
    child = sent_bodies(peer, "POST", "/Patient/")[-1]
    assert child["contact"][0]["relationship"][0]["coding"][0]["display"] == "Son/Daughter"
    assert {"entity": {"reference": f"Patient/{result.register_ids['patient:2026000033']}"}} in (
        family["member"]
    )


async def test_coverage_activated_offers_a_contract_and_pays_it(
    register: OpenImisRegister, peer: OpenImisPeer
):
    first = await register.push(event(EventKind.HOUSEHOLD_ENROLLED))
    paid = PaymentRecord("pay-1", 3150, TODAY - dt.timedelta(days=40), "mtn_momo")
    period = coverage(CoverageStatus.ACTIVE, payments=(paid,))

    result = await register.push(
        event(EventKind.COVERAGE_ACTIVATED, coverage=period, known_ids=first.register_ids)
    )

    [sent] = sent_bodies(peer, "POST", "/Contract/")
    [contract] = peer.resources("Contract")
    ids = result.register_ids
    assert ids["contract:CP-2026-0042"] == contract["id"]
    assert ids["premium:pay-1"] == "pay-1"
    assert (sent["status"], sent["legalState"]) == ("Idle", {"text": "Offered"})
    assert sent["author"] == {"reference": f"Practitioner/{OFFICER}"}
    assert sent["subject"] == [{"reference": f"Group/{ids['group']}"}]
    term = sent["term"][0]
    assert term["offer"]["party"][0]["reference"] == [
        {"reference": f"Patient/{ids['patient:2026000017']}"}
    ]
    asset = term["asset"][0]
    product = peer.products["FAM-2026"]
    assert asset["valuedItem"][0]["entityReference"] == {"reference": f"InsurancePlan/{product}"}
    assert asset["valuedItem"][0]["net"] == {"value": 3150, "currency": "XOF"}
    assert asset["usePeriod"] == [
        {"start": period.start.isoformat(), "end": period.end.isoformat()}
    ]
    assert "extension" not in asset  # premiums go through GraphQL, one by one
    assert contract["status"] == "Policy"  # openIMIS's name for an active policy
    [premium] = [
        s.body for s in peer.seen("POST", "/graphql") if "createPremium" in s.body["query"]
    ]
    assert premium["variables"]["input"]["receipt"] == "pay-1"
    assert premium["variables"]["input"]["action"] == "ENFORCE"
    # The household existed: nothing of it was written again.
    assert len(peer.seen("POST", "/Patient/")) == 2 and peer.seen("PUT", "/Patient/") == []


async def test_the_product_uuid_is_looked_up_once(register: OpenImisRegister, peer: OpenImisPeer):
    for status in (CoverageStatus.PENDING_PAYMENT, CoverageStatus.ACTIVE):
        await register.push(event(EventKind.COVERAGE_ACTIVATED, coverage=coverage(status)))

    assert len(peer.seen("GET", "/InsurancePlan/")) == 1


async def test_a_renewal_is_a_new_offered_contract(register: OpenImisRegister, peer: OpenImisPeer):
    first = coverage(CoverageStatus.ACTIVE, start=TODAY - dt.timedelta(days=300), end=TODAY)
    done = await register.push(event(EventKind.COVERAGE_ACTIVATED, coverage=first))
    second = replace(
        coverage(CoverageStatus.PENDING_PAYMENT, start=TODAY + dt.timedelta(days=1)),
        reference="CP-2026-0099",
        renewal=True,
        enrolled_on=TODAY,
    )

    result = await register.push(
        event(EventKind.COVERAGE_ACTIVATED, coverage=second, known_ids=done.register_ids)
    )

    contracts = sent_bodies(peer, "POST", "/Contract/")
    assert [c["legalState"] for c in contracts] == [{"text": "Offered"}] * 2
    assert (
        result.register_ids["contract:CP-2026-0099"] != done.register_ids["contract:CP-2026-0042"]
    )
    assert len(peer.resources("Contract")) == 2


async def test_later_payments_go_through_graphql_and_activate_when_complete(
    register: OpenImisRegister, peer: OpenImisPeer
):
    one = PaymentRecord("pay-1", 1575, TODAY - dt.timedelta(days=40), "mtn_momo")
    two = PaymentRecord("pay-2", 1575, TODAY - dt.timedelta(days=35), "cash")
    half = coverage(CoverageStatus.PENDING_PAYMENT, payments=(one,))
    done = await register.push(
        event(EventKind.PAYMENT_RECORDED, coverage=half, payment_reference="pay-1")
    )
    assert peer.resources("Contract")[0]["status"] == "Offered"  # idle: half paid

    whole = coverage(CoverageStatus.WAITING, payments=(one, two))
    result = await register.push(
        event(
            EventKind.PAYMENT_RECORDED,
            coverage=whole,
            payment_reference="pay-2",
            known_ids=done.register_ids,
        )
    )

    assert len(peer.seen("POST", "/Contract/")) == 1  # no PUT: openIMIS has none
    assert peer.seen("PUT", "/Contract/") == []
    [policy] = peer.policies.values()
    assert [p["receipt"] for p in policy.premiums] == ["pay-1", "pay-2"]
    assert policy.premiums[1]["pay_type"] == "C"
    assert peer.resources("Contract")[0]["status"] == "Policy"
    assert {"premium:pay-1", "premium:pay-2"} <= set(result.register_ids)


async def test_a_premium_whose_answer_was_lost_is_not_paid_twice(
    register: OpenImisRegister, peer: OpenImisPeer
):
    paid = PaymentRecord("pay-1", 3150, TODAY - dt.timedelta(days=40), "mtn_momo")
    period = coverage(CoverageStatus.ACTIVE, payments=(paid,))
    done = await register.push(event(EventKind.COVERAGE_ACTIVATED, coverage=period))
    lost = {k: v for k, v in done.register_ids.items() if k != "premium:pay-1"}

    again = await register.push(
        event(EventKind.COVERAGE_ACTIVATED, coverage=period, known_ids=lost)
    )

    [policy] = peer.policies.values()
    assert [p["receipt"] for p in policy.premiums] == ["pay-1"]
    assert again.register_ids["premium:pay-1"] == "pay-1"


async def test_a_lapse_suspends_the_policy_once(register: OpenImisRegister, peer: OpenImisPeer):
    paid = PaymentRecord("pay-1", 3150, TODAY - dt.timedelta(days=40), "mtn_momo")
    activated = await register.push(
        event(
            EventKind.COVERAGE_ACTIVATED, coverage=coverage(CoverageStatus.ACTIVE, payments=(paid,))
        )
    )
    lapsed = coverage(CoverageStatus.LAPSED, payments=(paid,))

    result = await register.push(
        event(EventKind.COVERAGE_LAPSED, coverage=lapsed, known_ids=activated.register_ids)
    )
    await register.push(
        event(EventKind.COVERAGE_LAPSED, coverage=lapsed, known_ids=result.register_ids)
    )

    [contract] = peer.resources("Contract")
    assert contract["status"] == "Disputed"  # openIMIS's name for a suspended policy
    suspensions = [s for s in peer.seen("POST", "/graphql") if "suspendPolicies" in s.body["query"]]
    assert len(suspensions) == 1


async def test_a_contract_whose_answer_was_lost_is_found_again(base_url: str, peer: OpenImisPeer):
    peer.slow_next(4.0, method="POST", path="/Contract/")
    period = coverage(CoverageStatus.PENDING_PAYMENT)
    async with OpenImisRegister(settings(base_url)) as register:
        with pytest.raises(RegisterUnavailable) as failure:
            await register.push(event(EventKind.COVERAGE_ACTIVATED, coverage=period))
        peer.wait_idle()
        result = await register.push(
            event(
                EventKind.COVERAGE_ACTIVATED, coverage=period, known_ids=failure.value.register_ids
            )
        )

    [contract] = peer.resources("Contract")
    assert result.register_ids["contract:CP-2026-0042"] == contract["id"]


async def test_a_contract_lost_and_retried_the_next_day_is_found_again(
    base_url: str, peer: OpenImisPeer
):
    """An unpaid year's dates are those 'if paid today': its end moves with the day of the
    push, so the retry on the next day must find the earlier try by something stable."""
    paid = PaymentRecord("pay-1", 1000, TODAY, "mtn_momo")

    def unpaid(day: dt.date) -> CoverageRecord:
        start = day + dt.timedelta(days=30)  # today + waiting days (gateway/register/records)
        return replace(
            coverage(CoverageStatus.PENDING_PAYMENT, start=start, payments=(paid,)),
            enrolled_on=TODAY,
            end=start + dt.timedelta(days=364),
        )

    peer.slow_next(4.0, method="POST", path="/Contract/")
    async with OpenImisRegister(settings(base_url)) as register:
        with pytest.raises(RegisterUnavailable) as failure:
            await register.push(
                event(EventKind.PAYMENT_RECORDED, coverage=unpaid(TODAY), payment_reference="pay-1")
            )
        peer.wait_idle()
        result = await register.push(
            event(
                EventKind.PAYMENT_RECORDED,
                coverage=unpaid(TODAY + dt.timedelta(days=1)),
                payment_reference="pay-1",
                known_ids=failure.value.register_ids,
            )
        )

    [policy] = peer.policies.values()
    assert result.register_ids["contract:CP-2026-0042"] == policy.uuid
    assert [p["receipt"] for p in policy.premiums] == ["pay-1"]


async def test_a_renewal_paid_before_its_year_starts_is_enrolled_on_its_payment_day(
    register: OpenImisRegister, peer: OpenImisPeer
):
    """openIMIS refuses an enrolment date after its own today (policy/services.py)."""
    peer.today = lambda: TODAY
    start = TODAY + dt.timedelta(days=20)
    paid = PaymentRecord("pay-r1", 3150, TODAY - dt.timedelta(days=2), "mtn_momo")
    renewal = replace(
        coverage(
            CoverageStatus.WAITING,
            start=start,
            end=start + dt.timedelta(days=364),
            payments=(paid,),
        ),
        enrolled_on=start,  # as gateway/register/records: the period's first day
        renewal=True,
    )

    await register.push(
        event(EventKind.PAYMENT_RECORDED, coverage=renewal, payment_reference="pay-r1")
    )

    [policy] = peer.policies.values()
    assert policy.start_date == paid.paid_on
    assert policy.expiry_date == renewal.end
    assert [p["receipt"] for p in policy.premiums] == ["pay-r1"]


async def test_a_refused_premium_is_sent_again_once_its_cause_is_fixed(
    register: OpenImisRegister, peer: OpenImisPeer
):
    paid = PaymentRecord("pay-1", 3150, TODAY - dt.timedelta(days=40), "mtn_momo")
    period = coverage(CoverageStatus.ACTIVE, payments=(paid,))
    peer.refusals.append("some validation the operator then fixes")
    with pytest.raises(RegisterRejected, match="some validation") as failure:
        await register.push(event(EventKind.COVERAGE_ACTIVATED, coverage=period))

    # `alafia register retry`
    again = await register.push(
        event(EventKind.COVERAGE_ACTIVATED, coverage=period, known_ids=failure.value.register_ids)
    )

    [policy] = peer.policies.values()
    assert [p["receipt"] for p in policy.premiums] == ["pay-1"]
    assert again.register_ids["premium:pay-1"] == "pay-1"


async def test_a_refused_suspension_is_sent_again_once_its_cause_is_fixed(
    register: OpenImisRegister, peer: OpenImisPeer
):
    paid = PaymentRecord("pay-1", 3150, TODAY - dt.timedelta(days=40), "mtn_momo")
    active = coverage(CoverageStatus.ACTIVE, payments=(paid,))
    done = await register.push(event(EventKind.COVERAGE_ACTIVATED, coverage=active))
    lapsed = coverage(CoverageStatus.LAPSED, payments=(paid,))
    peer.refusals.append("some validation the operator then fixes")
    with pytest.raises(RegisterRejected):
        await register.push(
            event(EventKind.COVERAGE_LAPSED, coverage=lapsed, known_ids=done.register_ids)
        )

    await register.push(
        event(EventKind.COVERAGE_LAPSED, coverage=lapsed, known_ids=done.register_ids)
    )

    [contract] = peer.resources("Contract")
    assert contract["status"] == "Disputed"  # openIMIS's name for a suspended policy


async def test_an_old_run_left_as_received_does_not_block_a_later_one(
    register: OpenImisRegister, peer: OpenImisPeer
):
    """openIMIS's task queue may lose a run, which then stays 'received' in the log; only
    the newest entry says whether a run is still pending, and a refused one is sent again."""
    paid = PaymentRecord("pay-1", 3150, TODAY - dt.timedelta(days=40), "mtn_momo")
    period = coverage(CoverageStatus.ACTIVE, payments=(paid,))
    peer.mutation_logs += [
        {"clientMutationId": "alafia-premium-pay-1", "status": 0, "error": None},
        {"clientMutationId": "alafia-premium-pay-1", "status": 1, "error": "refused"},
    ]

    result = await register.push(event(EventKind.COVERAGE_ACTIVATED, coverage=period))

    [policy] = peer.policies.values()
    assert [p["receipt"] for p in policy.premiums] == ["pay-1"]
    assert result.register_ids["premium:pay-1"] == "pay-1"


async def test_a_run_still_received_waits(register: OpenImisRegister, peer: OpenImisPeer):
    paid = PaymentRecord("pay-1", 3150, TODAY - dt.timedelta(days=40), "mtn_momo")
    period = coverage(CoverageStatus.ACTIVE, payments=(paid,))
    peer.mutation_logs.append(
        {"clientMutationId": "alafia-premium-pay-1", "status": 0, "error": None}
    )

    with pytest.raises(RegisterUnavailable, match="not applied"):
        await register.push(event(EventKind.COVERAGE_ACTIVATED, coverage=period))

    [policy] = peer.policies.values()
    assert policy.premiums == []


async def test_a_year_with_nothing_to_pay_is_activated_by_a_funding_premium(
    register: OpenImisRegister, peer: OpenImisPeer
):
    """Free care, a sponsor paying it all, or the amount carried from the year before: no
    payment reaches openIMIS, which activates a policy only on a premium."""
    period = replace(
        coverage(CoverageStatus.ACTIVE, start=TODAY, end=TODAY + dt.timedelta(days=364)),
        enrolled_on=TODAY,
        premium_due=0,
    )
    done = await register.push(event(EventKind.COVERAGE_ACTIVATED, coverage=period))
    again = await register.push(
        event(EventKind.COVERAGE_ACTIVATED, coverage=period, known_ids=done.register_ids)
    )

    [policy] = peer.policies.values()
    assert [(p["receipt"], p["amount"], p["pay_type"]) for p in policy.premiums] == [
        ("CP-2026-0042", 0, "F")
    ]
    answer = await register.check_eligibility(HEAD.member_no, TODAY)
    assert answer.status is Eligibility.COVERED
    assert again.register_ids == done.register_ids


# -- eligibility -------------------------------------------------------------------------


async def test_eligibility_of_a_member_with_an_active_policy(register: OpenImisRegister):
    paid = PaymentRecord("pay-1", 3150, TODAY - dt.timedelta(days=40), "mtn_momo")
    period = coverage(CoverageStatus.ACTIVE, payments=(paid,))
    result = await register.push(event(EventKind.COVERAGE_ACTIVATED, coverage=period))

    answer = await register.check_eligibility(SPOUSE.member_no, TODAY)

    assert answer.status is Eligibility.COVERED and answer.covered
    assert answer.period_end == period.end
    assert answer.coverage_ref == f"Coverage/{result.register_ids['contract:CP-2026-0042']}"


async def test_eligibility_of_an_unpaid_policy_is_not_covered(register: OpenImisRegister):
    await register.push(
        event(EventKind.COVERAGE_ACTIVATED, coverage=coverage(CoverageStatus.PENDING_PAYMENT))
    )

    answer = await register.check_eligibility(HEAD.member_no, TODAY)

    assert answer.status is Eligibility.NOT_COVERED


async def test_eligibility_of_a_member_without_policy(register: OpenImisRegister):
    await register.push(event(EventKind.HOUSEHOLD_ENROLLED))

    answer = await register.check_eligibility(HEAD.member_no, TODAY)

    assert answer.status is Eligibility.NOT_COVERED
    assert answer.period_end is None


async def test_eligibility_of_an_unknown_member(register: OpenImisRegister):
    answer = await register.check_eligibility("2026999999", TODAY)

    assert answer.status is Eligibility.UNKNOWN_MEMBER


# -- find_person -------------------------------------------------------------------------


async def test_find_person_by_member_number_reads_the_uuid_and_the_npi(
    register: OpenImisRegister,
):
    result = await register.push(event(EventKind.HOUSEHOLD_ENROLLED))

    person = await register.find_person("1234567890", HEAD.member_no)

    assert person is not None
    assert person.register_id == result.register_ids["patient:2026000017"]
    assert (person.member_no, person.national_id) == (HEAD.member_no, "1234567890")
    assert (person.family_name, person.given_names, person.sex) == ("ADJOVI", "Koffi", Sex.MALE)
    assert person.birth_date == BirthDate(1985, 1, 1)
    assert person.is_head is True
    assert person.phone == "+2290197123456"


async def test_find_person_by_national_id_alone_finds_nobody(register: OpenImisRegister):
    # openIMIS retrieves insurees by UUID or insuree number only.
    await register.push(event(EventKind.HOUSEHOLD_ENROLLED))

    assert await register.find_person("1234567890", None) is None


async def test_find_person_not_known(register: OpenImisRegister):
    assert await register.find_person("9999999999", "2026999999") is None


# -- failures ----------------------------------------------------------------------------


async def test_a_server_error_means_retry_later(register: OpenImisRegister, peer: OpenImisPeer):
    peer.fail_next(503, method="POST", path="/Patient/")
    enrolled = event(EventKind.HOUSEHOLD_ENROLLED)

    with pytest.raises(RegisterUnavailable) as failure:
        await register.push(enrolled)

    assert failure.value.register_ids == {}
    await register.push(enrolled)
    assert len(peer.resources("Patient")) == 2
    assert len(peer.resources("Group")) == 1


async def test_a_half_written_family_keeps_its_ids_for_the_retry(
    register: OpenImisRegister, peer: OpenImisPeer
):
    enrolled = event(EventKind.HOUSEHOLD_ENROLLED)
    peer.fail_next(502, method="GET", path="/Patient/")  # reading the head's family back

    with pytest.raises(RegisterUnavailable) as failure:
        await register.push(enrolled)

    assert set(failure.value.register_ids) == {"patient:2026000017"}
    await register.push(replace(enrolled, known_ids=failure.value.register_ids))
    assert len(peer.resources("Patient")) == 2


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


async def test_an_unknown_product_is_refused_before_openimis_sees_a_contract(
    register: OpenImisRegister, peer: OpenImisPeer
):
    unknown_product = coverage(CoverageStatus.ACTIVE, product="NO-SUCH-PLAN")

    with pytest.raises(RegisterRejected, match="no product 'NO-SUCH-PLAN'"):
        await register.push(event(EventKind.COVERAGE_ACTIVATED, coverage=unknown_product))

    assert peer.seen("POST", "/Contract/") == []


async def test_a_500_with_openimis_reason_is_a_refusal_not_a_retry(
    register: OpenImisRegister, peer: OpenImisPeer
):
    first = coverage(CoverageStatus.ACTIVE)
    done = await register.push(event(EventKind.COVERAGE_ACTIVATED, coverage=first))
    # openIMIS refuses a policy whose dates hold an earlier one's enrolment date.
    earlier = first.enrolled_on - dt.timedelta(days=30)
    overlapping = replace(
        first, reference="CP-2026-0077", enrolled_on=earlier, start=earlier, end=first.end
    )
    overlapping = replace(overlapping, end=first.end + dt.timedelta(days=1))

    with pytest.raises(RegisterRejected, match="Contract exists for this patient") as failure:
        await register.push(
            event(EventKind.COVERAGE_ACTIVATED, coverage=overlapping, known_ids=done.register_ids)
        )

    assert failure.value.status_code == 500


async def test_a_500_without_a_reason_is_retried(register: OpenImisRegister, peer: OpenImisPeer):
    peer.fail_next(500, method="POST", path="/Contract/")

    with pytest.raises(RegisterUnavailable):
        await register.push(
            event(EventKind.COVERAGE_ACTIVATED, coverage=coverage(CoverageStatus.ACTIVE))
        )


async def test_a_garbled_answer_is_malformed_and_the_retry_duplicates_nothing(
    register: OpenImisRegister, peer: OpenImisPeer
):
    peer.garble_next(method="POST", path="/Patient/")  # created, but the answer is lost
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
    peer.garble_next(path="/graphql")

    with pytest.raises(RegisterMalformedAnswer):
        await register.check_eligibility(HEAD.member_no, TODAY)


async def test_an_unreachable_register_means_retry_later():
    settings_ = OpenImisSettings(
        "http://127.0.0.1:9", "gateway", "s3cret", officer_id=OFFICER, timeout_seconds=1.0
    )
    async with OpenImisRegister(settings_) as register:
        with pytest.raises(RegisterUnavailable):
            await register.find_person(None, HEAD.member_no)


async def test_a_known_household_pays_even_after_its_place_left_the_mapping(
    base_url: str, register: OpenImisRegister
):
    first = await register.push(event(EventKind.HOUSEHOLD_ENROLLED))
    paid = PaymentRecord("pay-1", 3150, TODAY - dt.timedelta(days=40), "mtn_momo")
    period = coverage(CoverageStatus.ACTIVE, payments=(paid,))

    async with OpenImisRegister(settings(base_url, locations={"Kandi": VILLAGE})) as remapped:
        result = await remapped.push(
            event(EventKind.COVERAGE_ACTIVATED, coverage=period, known_ids=first.register_ids)
        )

    assert "contract:CP-2026-0042" in result.register_ids
