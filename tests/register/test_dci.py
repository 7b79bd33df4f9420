"""The DCI register adapter against a local DCI registry peer over real HTTP."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
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
    RegisterUnsupported,
    Sex,
)
from adapters.register.dci import DciRegister, DciSettings
from adapters.register.dci_records import IndigenceRule
from adapters.register.events import LeftMember
from menus.values import CoverageStatus
from tests.peers.dci import DciPeer
from tests.peers.dci_standard import answer_problems, request_problems
from tests.support.http_server import serve
from tests.support.register_records import CHILD, HEAD, SPOUSE, TODAY, coverage, event, household

PROGRAMME = "AMU-BJ-MUTUELLES"
UPDATES = "/registry/sync/enrollment/updates"
ENROLLED = "/registry/sync/enrolled"
HEADER = {"message_id": "1", "message_ts": "2026-01-01T00:00:00Z", "action": "x", "status": "succ"}


@pytest.fixture
def peer() -> DciPeer:
    return DciPeer()


@pytest.fixture
def base_url(peer: DciPeer) -> Iterator[str]:
    with serve(peer.app) as url:
        yield url


def settings(base_url: str, **changes: Any) -> DciSettings:
    values: dict[str, Any] = {
        "base_url": base_url,
        "client_id": "alafia",
        "client_secret": "s3cret",
        "sender_id": "alafia.gateway",
        "receiver_id": "social.registry",
        "programme_id": PROGRAMME,
        "timeout_seconds": 5.0,  # a loaded CI machine can take over a second
    }
    return DciSettings(**{**values, **changes})


@pytest.fixture
async def register(base_url: str) -> AsyncIterator[DciRegister]:
    async with DciRegister(settings(base_url)) as adapter:
        yield adapter


def beneficiary(peer: DciPeer, member_no: str) -> dict[str, Any]:
    return peer.beneficiaries[(member_no, PROGRAMME)]


# -- auth and envelope -------------------------------------------------------------------


async def test_gets_a_token_once_and_sends_it(register: DciRegister, peer: DciPeer):
    await register.push(active())
    await register.find_person(None, HEAD.member_no)

    assert peer.token_requests == 1
    assert all(s.status == 200 for s in peer.requests)


async def test_renews_a_token_the_registry_refuses(register: DciRegister, peer: DciPeer):
    await register.find_person(None, HEAD.member_no)
    peer.revoke_tokens()

    await register.find_person(None, HEAD.member_no)

    assert peer.token_requests == 2
    assert [s.status for s in peer.seen("/registry/sync/search")] == [200, 401, 200]


async def test_refused_client_credentials_wait_for_a_configuration_fix(base_url: str):
    async with DciRegister(settings(base_url, client_secret="wrong")) as register:
        with pytest.raises(RegisterUnavailable, match="credentials"):
            await register.find_person("1234567890", None)


async def test_requests_travel_in_the_dci_envelope(register: DciRegister, peer: DciPeer):
    await register.find_person("1234567890", None)

    [search] = peer.seen("/registry/sync/search")
    header = search.body["header"]
    assert header["action"] == "search"
    assert (header["sender_id"], header["receiver_id"]) == ("alafia.gateway", "social.registry")
    assert header["version"] == "1.0.0" and header["message_ts"].endswith("Z")
    criteria = search.body["message"]["search_request"][0]["search_criteria"]
    assert criteria["query_type"] == "idtype-value"
    assert criteria["query"] == {"type": "UIN", "value": "1234567890"}
    assert "signature" not in search.body  # no signing key configured


async def test_signed_envelopes_are_accepted_by_a_verifying_registry(base_url: str, peer: DciPeer):
    ed25519 = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    key = ed25519.Ed25519PrivateKey.generate()
    peer.public_key = key.public_key().public_bytes_raw()
    signing_key = base64.b64encode(key.private_bytes_raw()).decode()

    async with DciRegister(settings(base_url, signing_key=signing_key, signing_key_id="k1")) as reg:
        await reg.push(active())

    [update] = peer.seen(UPDATES)
    assert 'kidId="alafia.gateway|k1|ed25519"' in update.body["signature"]
    assert len(peer.beneficiaries) == 2


async def test_a_signature_the_registry_cannot_verify_waits_for_a_key_fix(
    base_url: str, peer: DciPeer
):
    ed25519 = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    peer.public_key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    other_key = base64.b64encode(ed25519.Ed25519PrivateKey.generate().private_bytes_raw()).decode()

    async with DciRegister(settings(base_url, signing_key=other_key, signing_key_id="k1")) as reg:
        with pytest.raises(RegisterUnavailable, match=r"err\.signature\.invalid"):
            await reg.push(active())

    assert peer.beneficiaries == {}


# -- pushes ------------------------------------------------------------------------------

ACTIVE = coverage(CoverageStatus.ACTIVE)


def active(kind: EventKind = EventKind.COVERAGE_ACTIVATED, home: Any = None, **fields: Any) -> Any:
    return event(kind, home, coverage=ACTIVE, **fields)


def update_of(peer: DciPeer, transaction_id: str) -> dict[str, Any]:
    return peer.updates[transaction_id]["enrolled_updates"]


async def test_coverage_activated_sends_every_member_as_active(
    register: DciRegister, peer: DciPeer
):
    activated = active()
    result = await register.push(activated)

    [sent] = peer.seen(UPDATES)
    assert sent.problems == [] and sent.body["header"]["action"] == "notify"
    assert sent.body["header"]["total_count"] == 2
    assert list(update_of(peer, activated.event_id)) == ["beneficiaries"]
    correlation = sent.answer["message"]["correlation_id"]
    assert result.register_ids == {"update:coverage_activated": correlation}
    head = beneficiary(peer, HEAD.member_no)
    assert head["assistance_unit"] == "HH-2026-000017"
    person = head["member"]["demographic_info"]["person"]
    assert person["identifier_type"] == "UIN" and person["identifier_value"] == "1234567890"
    assert person["name"] == {"first_name": "Koffi", "surname": "ADJOVI"}
    assert (person["sex"], person["birth_date"]) == ("M", "1985")
    assert person["phone_number"] == "+2290197123456"
    assert head["member"]["relationship_head"] == "self"
    programme = beneficiary(peer, SPOUSE.member_no)["member"]["programme_identifier"]
    assert programme["enrolment_status"] == "Active"
    assert programme["enrolment_date"] == ACTIVE.start.isoformat()
    assert programme["programme"] == {"programme_identifier": PROGRAMME}
    assert beneficiary(peer, SPOUSE.member_no)["member"]["relationship_head"] == "spouse"


@pytest.mark.parametrize("status", [None, CoverageStatus.PENDING_PAYMENT, CoverageStatus.WAITING])
async def test_a_household_not_yet_covered_has_no_standard_status_to_send(
    register: DciRegister, peer: DciPeer, status: CoverageStatus | None
):
    period = coverage(status) if status else None

    with pytest.raises(RegisterUnsupported, match="not a beneficiary yet"):
        await register.push(event(EventKind.HOUSEHOLD_ENROLLED, coverage=period))

    assert peer.requests == []


async def test_an_enrolment_sent_once_covered_carries_the_status_of_the_day(
    register: DciRegister, peer: DciPeer
):
    await register.push(active(EventKind.HOUSEHOLD_ENROLLED))

    assert {
        b["member"]["programme_identifier"]["enrolment_status"] for b in peer.beneficiaries.values()
    } == {"Active"}


async def test_member_added_sends_only_the_new_member(register: DciRegister, peer: DciPeer):
    grown = household(HEAD, SPOUSE, CHILD)
    added = event(EventKind.MEMBER_ADDED, grown, member_no=CHILD.member_no, coverage=ACTIVE)
    await register.push(added)

    [only] = update_of(peer, added.event_id)["beneficiaries"]
    assert only["member"]["member_identifier"] == CHILD.member_no
    assert only["member"]["relationship_head"] == "child"


async def test_coverage_lapsed_suspends_members(register: DciRegister, peer: DciPeer):
    await register.push(active())
    await register.push(event(EventKind.COVERAGE_LAPSED, coverage=coverage(CoverageStatus.LAPSED)))

    programme = beneficiary(peer, HEAD.member_no)["member"]["programme_identifier"]
    assert programme["enrolment_status"] == "Suspended"
    assert programme["status_change_date"] == TODAY.isoformat()


async def test_members_who_left_are_deceased_or_suspended(register: DciRegister, peer: DciPeer):
    await register.push(active(home=household(HEAD, SPOUSE, CHILD)))
    gone_on = TODAY - dt.timedelta(days=3)
    home = dataclasses.replace(
        household(HEAD),
        left=(LeftMember(SPOUSE, gone_on), LeftMember(CHILD, gone_on, died=True)),
    )
    updated = event(EventKind.HOUSEHOLD_UPDATED, home, coverage=ACTIVE)

    await register.push(updated)

    [sent] = [
        s for s in peer.seen(UPDATES) if s.body["message"]["transaction_id"] == updated.event_id
    ]
    assert sent.problems == [] and sent.body["header"]["total_count"] == 3
    status = {
        number: peer.beneficiaries[(number, PROGRAMME)]["member"]["programme_identifier"]
        for number in (HEAD.member_no, SPOUSE.member_no, CHILD.member_no)
    }
    assert status[HEAD.member_no]["enrolment_status"] == "Active"
    assert status[SPOUSE.member_no]["enrolment_status"] == "Suspended"
    assert status[CHILD.member_no]["enrolment_status"] == "Deceased"
    assert status[CHILD.member_no]["status_change_date"] == gone_on.isoformat()


async def test_payment_recorded_is_not_supported(register: DciRegister, peer: DciPeer):
    paid = PaymentRecord("pay-1", 3150, TODAY, "mtn_momo")
    payment = event(
        EventKind.PAYMENT_RECORDED,
        coverage=coverage(CoverageStatus.WAITING, payments=(paid,)),
        payment_reference="pay-1",
    )

    with pytest.raises(RegisterUnsupported, match="premium") as refusal:
        await register.push(payment)

    assert refusal.value.kind is EventKind.PAYMENT_RECORDED
    assert peer.requests == []


async def test_a_search_only_registry_takes_no_push(base_url: str, peer: DciPeer):
    async with DciRegister(settings(base_url, updates_path=None)) as register:
        with pytest.raises(RegisterUnsupported, match="no enrolment updates"):
            await register.push(active())

    assert peer.requests == []


async def test_a_retried_push_is_not_applied_twice(register: DciRegister, peer: DciPeer):
    activated = active()
    first = await register.push(activated)
    second = await register.push(activated)

    assert len(peer.updates) == 1
    assert len(peer.beneficiaries) == 2
    assert second.register_ids == first.register_ids
    sent = [s.body["message"]["transaction_id"] for s in peer.seen(UPDATES)]
    assert sent == [activated.event_id, activated.event_id]


async def test_an_update_the_registry_rejects_goes_to_the_dead_letters(
    register: DciRegister, peer: DciPeer
):
    refused = {
        "header": {
            "message_id": "1",
            "message_ts": "2026-01-01T00:00:00Z",
            "action": "x",
            "status": "succ",
        },
        "message": {
            "transaction_id": "t",
            "correlation_id": "c",
            "enrolled_response": [
                {
                    "reference_id": HEAD.member_no,
                    "timestamp": "2026-01-01T00:00:00Z",
                    "status": "rjct",
                    "status_reason_message": "unknown programme",
                }
            ],
        },
    }
    peer.fail_next(200, path=UPDATES, body=refused)

    with pytest.raises(RegisterRejected, match="rejected"):
        await register.push(active())


async def test_an_update_the_registry_queues_is_delivered(register: DciRegister, peer: DciPeer):
    queued = {
        "header": {**HEADER, "status": "rcvd"},  # as the standard's processflow1res
        "message": {
            "transaction_id": "t",
            "correlation_id": "c-7",
            "enrolled_response": [
                {"reference_id": "r", "timestamp": "2026-01-01T00:00:00Z", "status": "rcvd"}
            ],
        },
    }
    peer.fail_next(200, path=UPDATES, body=queued)

    result = await register.push(active())

    assert result.register_ids == {"update:coverage_activated": "c-7"}


async def test_the_2024_draft_endpoint_is_gone(register: DciRegister, peer: DciPeer):
    await register.push(active())

    assert peer.seen("/registry/receipts") == []


# -- eligibility -------------------------------------------------------------------------


async def test_eligibility_of_an_active_member(register: DciRegister, peer: DciPeer):
    await register.push(active())

    answer = await register.check_eligibility(SPOUSE.member_no, TODAY)

    assert answer.status is Eligibility.COVERED and answer.on == TODAY
    [asked] = peer.seen(ENROLLED)
    assert asked.problems == []
    criteria = asked.body["message"]["enrolled_criteria"]
    assert criteria["query"] == {
        "person_identifier": {"eq": SPOUSE.member_no},
        "programme_identifier.program.programme_identifier": {"eq": PROGRAMME},
    }
    assert asked.answer["message"]["enrolled_response"][0]["enrolled_status"] == "yes"


async def test_eligibility_is_for_our_programme_only(register: DciRegister, peer: DciPeer):
    await register.push(active())
    for held in peer.beneficiaries.values():
        held["member"]["programme_identifier"]["programme"]["programme_identifier"] = "OTHER"
    peer.beneficiaries = {(k[0], "OTHER"): v for k, v in peer.beneficiaries.items()}

    answer = await register.check_eligibility(SPOUSE.member_no, TODAY)

    assert answer.status is Eligibility.NOT_COVERED


async def test_an_enrolled_answer_counts_by_its_items_not_its_header(
    register: DciRegister, peer: DciPeer
):
    def answer(status: str) -> dict[str, Any]:
        item = {"reference_id": "r", "timestamp": "2026-01-01T00:00:00Z", "status": status}
        message = {"transaction_id": "t", "correlation_id": "c", "enrolled_response": [item]}
        return {"header": {**HEADER, "status": "rcvd"}, "message": message}

    usable = answer("succ")
    usable["message"]["enrolled_response"][0]["enrolled_status"] = "yes"
    assert answer_problems("ibr", ENROLLED, usable) == []
    peer.fail_next(200, path=ENROLLED, body=usable)
    assert (await register.check_eligibility(HEAD.member_no, TODAY)).covered

    queued = answer("pdng")
    queued["message"]["enrolled_response"][0]["enrolled_status"] = "no"
    peer.fail_next(200, path=ENROLLED, body=queued)
    with pytest.raises(RegisterUnavailable, match="queued"):
        await register.check_eligibility(HEAD.member_no, TODAY)


async def test_an_enrolled_answer_of_several_items_is_not_read_as_this_member(
    register: DciRegister, peer: DciPeer
):
    # Items name no member: a "yes" beside a "no" may be someone else's, so it covers nobody.
    def item(enrolled: str) -> dict[str, Any]:
        return {
            "reference_id": "r",
            "timestamp": "2026-01-01T00:00:00Z",
            "status": "succ",
            "enrolled_status": enrolled,
        }

    message = {"transaction_id": "t", "correlation_id": "c"}
    loose = {
        "header": HEADER,
        "message": {**message, "enrolled_response": [item("no"), item("yes")]},
    }
    peer.fail_next(200, path=ENROLLED, body=loose)

    with pytest.raises(RegisterMalformedAnswer, match="2 items"):
        await register.check_eligibility("2026999999", TODAY)


async def test_eligibility_of_a_member_whose_rights_closed(register: DciRegister):
    await register.push(event(EventKind.COVERAGE_LAPSED, coverage=coverage(CoverageStatus.LAPSED)))

    answer = await register.check_eligibility(HEAD.member_no, TODAY)

    assert answer.status is Eligibility.NOT_COVERED


async def test_eligibility_of_an_unknown_member(register: DciRegister):
    answer = await register.check_eligibility("2026999999", TODAY)

    assert answer.status is Eligibility.UNKNOWN_MEMBER


async def test_an_enrolled_answer_without_an_envelope_is_read(register: DciRegister, peer: DciPeer):
    # The standard declares the EnrolledResponse itself as the answer's schema.
    bare = {
        "transaction_id": "t",
        "correlation_id": "c",
        "enrolled_response": [
            {
                "reference_id": "r",
                "timestamp": "2026-01-01T00:00:00Z",
                "status": "succ",
                "enrolled_status": "yes",
            }
        ],
    }
    assert answer_problems("ibr", ENROLLED, {"header": HEADER, "message": bare}) == []
    peer.fail_next(200, path=ENROLLED, body=bare)

    answer = await register.check_eligibility(HEAD.member_no, TODAY)

    assert answer.status is Eligibility.COVERED


# -- find_person -------------------------------------------------------------------------


async def test_find_person_by_national_id(register: DciRegister, peer: DciPeer):
    peer.add_person(
        national_id="1234567890",
        surname="ADJOVI",
        given_name="Koffi",
        sex="male",
        birth_date="1985-01-01T00:00:00Z",
    )

    person = await register.find_person("1234567890", None)

    assert person is not None
    assert (person.national_id, person.member_no, person.register_id) == ("1234567890", None, None)
    assert (person.family_name, person.given_names, person.sex) == ("ADJOVI", "Koffi", Sex.MALE)
    assert person.birth_date == BirthDate(1985, 1, 1)


async def test_find_person_by_member_number(register: DciRegister):
    await register.push(active(EventKind.HOUSEHOLD_ENROLLED))

    person = await register.find_person(None, HEAD.member_no)

    assert person is not None
    assert (person.member_no, person.national_id) == (HEAD.member_no, "1234567890")
    assert person.birth_date == BirthDate(1985)  # the registry kept the year-only date


async def test_find_person_not_known(register: DciRegister):
    assert await register.find_person("9999999999", "2026999999") is None


# -- failures ----------------------------------------------------------------------------


async def test_a_server_error_means_retry_later(register: DciRegister, peer: DciPeer):
    peer.fail_next(503, path=UPDATES)
    enrolled = active()

    with pytest.raises(RegisterUnavailable):
        await register.push(enrolled)

    await register.push(enrolled)
    assert len(peer.updates) == 1


async def test_a_timeout_means_retry_later(base_url: str, peer: DciPeer):
    peer.slow_next(1.2, path=UPDATES)
    enrolled = active()

    async with DciRegister(settings(base_url, timeout_seconds=0.5)) as register:
        with pytest.raises(RegisterUnavailable, match="timeout"):
            await register.push(enrolled)
        peer.wait_idle()
        await register.push(enrolled)

    assert len(peer.updates) == 1
    assert len(peer.beneficiaries) == 2


async def test_a_bad_request_goes_to_the_dead_letters(register: DciRegister, peer: DciPeer):
    refusal = {"errors": [{"code": "err.request.bad", "message": "member_identifier too long"}]}
    peer.fail_next(400, path=UPDATES, body=refusal)

    with pytest.raises(RegisterRejected, match="member_identifier too long") as failure:
        await register.push(active())

    assert failure.value.status_code == 400


async def test_an_err_acknowledgement_goes_to_the_dead_letters(
    register: DciRegister, peer: DciPeer
):
    ack = {"message": {"ack_status": "ERR", "error": {"code": "err.request.bad", "message": "no"}}}
    peer.fail_next(200, path=UPDATES, body=ack)

    with pytest.raises(RegisterRejected, match=r"err\.request\.bad"):
        await register.push(active())


async def test_a_rejected_search_goes_to_the_dead_letters(register: DciRegister, peer: DciPeer):
    header = {"status": "rjct", "status_reason_code": "rjct.search_criteria.invalid"}
    peer.fail_next(200, path="/registry/sync/search", body={"header": header, "message": {}})

    with pytest.raises(RegisterRejected, match=r"rjct\.search_criteria\.invalid"):
        await register.find_person("1234567890", None)


async def test_a_garbled_answer_is_malformed(register: DciRegister, peer: DciPeer):
    peer.garble_next(path="/registry/sync/enrolled")

    with pytest.raises(RegisterMalformedAnswer):
        await register.check_eligibility(HEAD.member_no, TODAY)


async def test_an_answer_of_the_wrong_shape_is_malformed(register: DciRegister, peer: DciPeer):
    item = {
        "reference_id": "r",
        "timestamp": "2026-01-01T00:00:00Z",
        "status": "succ",
        "enrolled_status": "maybe",
    }
    wrong = {"transaction_id": "t", "correlation_id": "c", "enrolled_response": [item]}
    assert answer_problems("ibr", ENROLLED, {"header": HEADER, "message": wrong}) != []
    peer.fail_next(200, path=ENROLLED, body={"header": HEADER, "message": wrong})

    with pytest.raises(RegisterMalformedAnswer, match="maybe"):
        await register.check_eligibility(HEAD.member_no, TODAY)


# -- the standard's schemas --------------------------------------------------------------


async def test_every_message_both_ways_holds_to_the_standards_schemas(
    register: DciRegister, peer: DciPeer
):
    peer.add_group(["1234567890"], poverty_score=3.5)
    await register.push(active())
    await register.push(event(EventKind.COVERAGE_LAPSED, coverage=coverage(CoverageStatus.LAPSED)))
    await register.check_eligibility(HEAD.member_no, TODAY)  # "no", then a search
    await register.find_person("1234567890", None)
    await register.social_standing("1234567890")

    exchanged = [s for s in peer.requests if s.path != "/oauth2/client/token"]
    assert {s.path for s in exchanged} == {UPDATES, ENROLLED, "/registry/sync/search"}
    for seen in exchanged:
        assert seen.problems == [], seen.path
        assert seen.answer is not None  # the peer validated it before answering
    [social] = [
        s
        for s in exchanged
        if "response_entity"
        in s.body["message"].get("search_request", [{}])[0].get("search_criteria", {})
    ]
    assert request_problems("social", "/registry/sync/search", social.body) == []
    assert answer_problems("social", "/registry/sync/search", social.answer) == []


async def test_the_peer_refuses_what_the_standard_refuses(register: DciRegister, peer: DciPeer):
    # EnrolledRequest.enrolled_criteria.response_entity is Group or Member: the standard's
    # own example value "Beneficiary" is refused by its schema.
    body = {
        "header": {
            "message_id": "1",
            "message_ts": "2026-01-01T00:00:00Z",
            "action": "search",
            "sender_id": "alafia.gateway",
            "receiver_id": "social.registry",
            "total_count": 1,
        },
        "message": {
            "transaction_id": "t",
            "enrolled_criteria": {
                "query_type": "expression",
                "response_entity": "Beneficiary",
                "query": {},
            },
        },
    }
    token = await register._tokens.current()
    response = await register._client.post(
        ENROLLED, json=body, headers={"Authorization": f"Bearer {token}"}
    )

    ack = response.json()["message"]
    assert (ack["ack_status"], ack["error"]["code"]) == ("ERR", "err.request.bad")
    assert "response_entity" in ack["error"]["message"]


async def test_an_enrolment_status_outside_the_code_directory_is_refused(
    register: DciRegister, peer: DciPeer
):
    # "Pending", which the 2024 draft had us send, is not in CD.IBR.02.
    await register.push(active())
    [sent] = peer.seen(UPDATES)
    body = json.loads(json.dumps(sent.body))
    body["message"]["transaction_id"] = "T-pending"
    for held in body["message"]["enrolled_updates"]["beneficiaries"]:
        held["member"]["programme_identifier"]["enrolment_status"] = "Pending"
    token = await register._tokens.current()

    response = await register._client.post(
        UPDATES, json=body, headers={"Authorization": f"Bearer {token}"}
    )

    items = response.json()["message"]["enrolled_response"]
    assert {i["status"] for i in items} == {"rjct"}
    assert all("CD.IBR.02" in i["status_reason_message"] for i in items)
    assert "T-pending" not in peer.updates
    programmes = [b["member"]["programme_identifier"] for b in peer.beneficiaries.values()]
    assert {p["enrolment_status"] for p in programmes} == {"Active"}


# -- social standing (indigence) ---------------------------------------------------------


async def test_social_standing_reads_the_group_holding_the_person(
    register: DciRegister, peer: DciPeer
):
    peer.add_group(["5550000001", "1234567890"], poverty_score=12.5, score_type="PMT")
    peer.add_group(["7770000001"], poverty_score=2.0)

    standing = await register.social_standing("1234567890")

    assert standing is not None
    assert (standing.poverty_score, standing.score_type) == (12.5, "PMT")
    assert standing.group_id == "G-0001"
    [asked] = peer.seen("/registry/sync/search")
    criteria = asked.body["message"]["search_request"][0]["search_criteria"]
    assert criteria["response_entity"] == "Group"
    assert criteria["query"] == {"type": "UIN", "value": "1234567890"}


async def test_social_standing_of_a_person_the_registry_does_not_know(register: DciRegister):
    assert await register.social_standing("9999999999") is None


@pytest.mark.parametrize(
    ("score", "score_type", "indigent"),
    [(3.0, "PMT", True), (5.0, "PMT", False), (3.0, "income-based", False), (None, "PMT", False)],
)
async def test_indigence_follows_the_configured_rule(
    base_url: str, peer: DciPeer, score: float | None, score_type: str, indigent: bool
):
    peer.add_group(["1234567890"], poverty_score=score, score_type=score_type)
    rule = IndigenceRule(score_below=5.0, score_type="PMT")

    async with DciRegister(settings(base_url, indigence=rule)) as register:
        assert await register.is_indigent("1234567890") is indigent
        assert await register.is_indigent("9999999999") is None
