"""The DCI register adapter against a local DCI registry peer over real HTTP."""

from __future__ import annotations

import base64
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
from menus.values import CoverageStatus
from tests.peers.dci import DciPeer
from tests.support.http_server import serve
from tests.support.register_records import CHILD, HEAD, SPOUSE, TODAY, coverage, event, household

PROGRAMME = "AMU-BJ-MUTUELLES"


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
        "timeout_seconds": 1.0,
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
    await register.push(event(EventKind.HOUSEHOLD_ENROLLED))
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
        await reg.push(event(EventKind.HOUSEHOLD_ENROLLED))

    [receipt] = peer.seen("/registry/receipts")
    assert 'kidId="alafia.gateway|k1|ed25519"' in receipt.body["signature"]
    assert len(peer.beneficiaries) == 2


async def test_a_signature_the_registry_cannot_verify_waits_for_a_key_fix(
    base_url: str, peer: DciPeer
):
    ed25519 = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    peer.public_key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    other_key = base64.b64encode(ed25519.Ed25519PrivateKey.generate().private_bytes_raw()).decode()

    async with DciRegister(settings(base_url, signing_key=other_key, signing_key_id="k1")) as reg:
        with pytest.raises(RegisterUnavailable, match=r"err\.signature\.invalid"):
            await reg.push(event(EventKind.HOUSEHOLD_ENROLLED))

    assert peer.beneficiaries == {}


# -- pushes ------------------------------------------------------------------------------


async def test_household_enrolled_registers_every_member_as_pending(
    register: DciRegister, peer: DciPeer
):
    enrolled = event(EventKind.HOUSEHOLD_ENROLLED)
    result = await register.push(enrolled)

    [receipt] = peer.receipts.values()
    assert receipt["transaction_id"] == enrolled.event_id
    assert receipt["receipt_information"]["receipt_type"] == "REGISTER"
    assert result.register_ids == {"receipt:household_enrolled": receipt["correlation_id"]}
    head = beneficiary(peer, HEAD.member_no)
    assert head["assistance_unit"] == "HH-2026-000017"
    person = head["member"]["demographic_info"]["person"]
    assert person["identifier_type"] == "UIN" and person["identifier_value"] == "1234567890"
    assert person["name"] == {"first_name": "Koffi", "surname": "ADJOVI"}
    assert (person["sex"], person["birth_date"]) == ("M", "1985")
    assert person["phone_number"] == "+2290197123456"
    assert head["member"]["relationship_head"] == "self"
    assert head["member"]["programme_identifier"]["enrolment_status"] == "Pending"
    assert beneficiary(peer, SPOUSE.member_no)["member"]["relationship_head"] == "spouse"


async def test_member_added_registers_only_the_new_member(register: DciRegister, peer: DciPeer):
    grown = household(HEAD, SPOUSE, CHILD)
    await register.push(event(EventKind.MEMBER_ADDED, grown, member_no=CHILD.member_no))

    [receipt] = peer.receipts.values()
    [only] = receipt["receipt_information"]["beneficiaries"]
    assert only["member"]["member_identifier"] == CHILD.member_no
    assert only["member"]["relationship_head"] == "child"


async def test_coverage_activated_registers_members_as_active(register: DciRegister, peer: DciPeer):
    period = coverage(CoverageStatus.ACTIVE)
    await register.push(event(EventKind.COVERAGE_ACTIVATED, coverage=period))

    programme = beneficiary(peer, SPOUSE.member_no)["member"]["programme_identifier"]
    assert programme["enrolment_status"] == "Active"
    assert programme["enrolment_date"] == period.start.isoformat()
    assert programme["programme"] == {"programme_identifier": PROGRAMME}


async def test_coverage_lapsed_deregisters_members(register: DciRegister, peer: DciPeer):
    await register.push(
        event(EventKind.COVERAGE_ACTIVATED, coverage=coverage(CoverageStatus.ACTIVE))
    )
    await register.push(event(EventKind.COVERAGE_LAPSED, coverage=coverage(CoverageStatus.LAPSED)))

    last = list(peer.receipts.values())[-1]
    assert last["receipt_information"]["receipt_type"] == "DEREGISTER"
    programme = beneficiary(peer, HEAD.member_no)["member"]["programme_identifier"]
    assert programme["enrolment_status"] == "Suspended"


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
    async with DciRegister(settings(base_url, receipts_path=None)) as register:
        with pytest.raises(RegisterUnsupported, match="no receipts"):
            await register.push(event(EventKind.HOUSEHOLD_ENROLLED))

    assert peer.requests == []


async def test_a_retried_push_is_not_applied_twice(register: DciRegister, peer: DciPeer):
    enrolled = event(EventKind.HOUSEHOLD_ENROLLED)
    first = await register.push(enrolled)
    second = await register.push(enrolled)

    assert len(peer.receipts) == 1
    assert len(peer.beneficiaries) == 2
    assert second.register_ids == first.register_ids
    sent = [s.body["message"]["transaction_id"] for s in peer.seen("/registry/receipts")]
    assert sent == [enrolled.event_id, enrolled.event_id]


# -- eligibility -------------------------------------------------------------------------


async def test_eligibility_of_an_active_member(register: DciRegister, peer: DciPeer):
    await register.push(
        event(EventKind.COVERAGE_ACTIVATED, coverage=coverage(CoverageStatus.ACTIVE))
    )

    answer = await register.check_eligibility(SPOUSE.member_no, TODAY)

    assert answer.status is Eligibility.COVERED and answer.on == TODAY
    [asked] = peer.seen("/registry/sync/enrolled")
    criteria = asked.body["message"]["enrolled_criteria"]
    assert criteria["query"] == {"type": "MEMBER_NO", "value": SPOUSE.member_no}
    assert criteria["programme_identifier"] == PROGRAMME


async def test_eligibility_of_a_member_whose_rights_closed(register: DciRegister):
    await register.push(event(EventKind.COVERAGE_LAPSED, coverage=coverage(CoverageStatus.LAPSED)))

    answer = await register.check_eligibility(HEAD.member_no, TODAY)

    assert answer.status is Eligibility.NOT_COVERED


async def test_eligibility_of_an_unknown_member(register: DciRegister):
    answer = await register.check_eligibility("2026999999", TODAY)

    assert answer.status is Eligibility.UNKNOWN_MEMBER


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
    await register.push(event(EventKind.HOUSEHOLD_ENROLLED))

    person = await register.find_person(None, HEAD.member_no)

    assert person is not None
    assert (person.member_no, person.national_id) == (HEAD.member_no, "1234567890")
    assert person.birth_date == BirthDate(1985)  # the registry kept the year-only date


async def test_find_person_not_known(register: DciRegister):
    assert await register.find_person("9999999999", "2026999999") is None


# -- failures ----------------------------------------------------------------------------


async def test_a_server_error_means_retry_later(register: DciRegister, peer: DciPeer):
    peer.fail_next(503, path="/registry/receipts")
    enrolled = event(EventKind.HOUSEHOLD_ENROLLED)

    with pytest.raises(RegisterUnavailable):
        await register.push(enrolled)

    await register.push(enrolled)
    assert len(peer.receipts) == 1


async def test_a_timeout_means_retry_later(base_url: str, peer: DciPeer):
    peer.slow_next(1.2, path="/registry/receipts")
    enrolled = event(EventKind.HOUSEHOLD_ENROLLED)

    async with DciRegister(settings(base_url, timeout_seconds=0.5)) as register:
        with pytest.raises(RegisterUnavailable, match="timeout"):
            await register.push(enrolled)
        peer.wait_idle()
        await register.push(enrolled)

    assert len(peer.receipts) == 1
    assert len(peer.beneficiaries) == 2


async def test_a_bad_request_goes_to_the_dead_letters(register: DciRegister, peer: DciPeer):
    refusal = {"errors": [{"code": "err.request.bad", "message": "member_identifier too long"}]}
    peer.fail_next(400, path="/registry/receipts", body=refusal)

    with pytest.raises(RegisterRejected, match="member_identifier too long") as failure:
        await register.push(event(EventKind.HOUSEHOLD_ENROLLED))

    assert failure.value.status_code == 400


async def test_an_err_acknowledgement_goes_to_the_dead_letters(
    register: DciRegister, peer: DciPeer
):
    ack = {"message": {"ack_status": "ERR", "error": {"code": "err.request.bad", "message": "no"}}}
    peer.fail_next(200, path="/registry/receipts", body=ack)

    with pytest.raises(RegisterRejected, match=r"err\.request\.bad"):
        await register.push(event(EventKind.HOUSEHOLD_ENROLLED))


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
    peer.fail_next(
        200, path="/registry/sync/enrolled", body={"message": {"enrolled_status": "maybe"}}
    )

    with pytest.raises(RegisterMalformedAnswer, match="maybe"):
        await register.check_eligibility(HEAD.member_no, TODAY)
