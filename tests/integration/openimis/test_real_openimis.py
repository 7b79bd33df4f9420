"""Alafia's openIMIS adapter against a real openIMIS 24.04 backend (see assemble.sh):
enrol, pay, renew, lapse, ask about eligibility; then read back by UUID what openIMIS holds.

Dates follow openIMIS's own clock (``Reader.today``): it refuses an enrolment dated after its
today, whatever clock the test process runs on.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import replace
from typing import Any

import pytest

from adapters.register import (
    BirthDate,
    CoverageRecord,
    Eligibility,
    EventKind,
    HouseholdRecord,
    MemberRecord,
    PaymentRecord,
    RegisterEvent,
    RegisterRejected,
    Sex,
)
from adapters.register.openimis import (
    GROUP_KEY,
    OpenImisRegister,
    contract_key,
    patient_key,
    premium_key,
)
from adapters.register.openimis_fhir import IG
from menus.values import CoverageStatus, Relationship
from tests.integration.openimis.conftest import Backend, Reader, Sent, settings_for

PREMIUM = 10_000  # XOF; the seeded FAMILLE product is a lump sum per family
ACTIVE, IDLE, SUSPENDED = 2, 1, 4  # openIMIS policy statuses


def household(commune: str = "Parakou", village: str = "Banikanni") -> HouseholdRecord:
    stem = f"7{secrets.randbelow(10**7):07d}"  # insuree numbers are unique in openIMIS
    return HouseholdRecord(
        reference=f"HH-{stem}",
        mutual_code="MS-PARAKOU",
        phone="+2290197123456",
        commune=commune,
        village=village,
        members=(
            MemberRecord(
                f"{stem}1", "ADJOVI", "Koffi Marc", Sex.MALE, BirthDate(1985),
                Relationship.HEAD, national_id=f"NPI{stem}",
            ),
            MemberRecord(
                f"{stem}2", "ADJOVI", "Afi Reine", Sex.FEMALE, BirthDate(1990, 3, 12),
                Relationship.SPOUSE, phone="+2290196000001",
            ),
            MemberRecord(
                f"{stem}3", "ADJOVI", "Sena", Sex.FEMALE, BirthDate(2019, 7, 1),
                Relationship.CHILD,
            ),
        ),
    )  # fmt: skip


def event(
    kind: EventKind,
    home: HouseholdRecord,
    ids: Any = (),
    coverage: CoverageRecord | None = None,
    **fields: Any,
) -> RegisterEvent:
    return RegisterEvent(
        event_id=str(uuid.uuid4()),
        kind=kind,
        household=home,
        occurred_at=dt.datetime.now(dt.UTC),
        coverage=coverage,
        known_ids=dict(ids),
        **fields,
    )


def payment(amount: int, on: dt.date) -> PaymentRecord:
    return PaymentRecord(str(uuid.uuid4()), amount, on, "mtn_momo")


def year(
    today: dt.date,
    status: CoverageStatus,
    *payments: PaymentRecord,
    starts: dt.date | None = None,
    renewal: bool = False,
) -> CoverageRecord:
    start = starts or today
    return CoverageRecord(
        reference=f"CP-{uuid.uuid4().hex[:10]}",
        product_code="FAMILLE",
        status=status,
        # as gateway/register/records.py: the period's first day, the next year's for a renewal
        enrolled_on=start if renewal else today,
        start=start,
        end=start + dt.timedelta(days=364),
        premium_due=PREMIUM,
        payments=payments,
        renewal=renewal,
    )


async def enrolled(register: OpenImisRegister, home: HouseholdRecord) -> dict[str, str]:
    return dict((await register.push(event(EventKind.HOUSEHOLD_ENROLLED, home))).register_ids)


def code_of(resource: dict[str, Any], code: str) -> str | None:
    for identifier in resource.get("identifier", []):
        if any(c.get("code") == code for c in identifier["type"]["coding"]):
            return str(identifier["value"])
    return None


def extension(resource: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in resource["extension"] if e["url"] == f"{IG}StructureDefinition/{name}")


# -- enrol -------------------------------------------------------------------------------


async def test_a_household_becomes_a_family_of_insurees(
    register: OpenImisRegister, reader: Reader, sent: Sent, backend: Backend
) -> None:
    home = household()
    ids = await enrolled(register, home)

    head, spouse, child = home.members
    assert set(ids) == {GROUP_KEY, *(patient_key(m.member_no) for m in home.members)}
    family = await reader.get(f"Group/{ids[GROUP_KEY]}/")
    assert code_of(family, "UUID") == ids[GROUP_KEY]
    assert len(family["member"]) == 3
    for member in home.members:
        patient = await reader.get(f"Patient/{ids[patient_key(member.member_no)]}/")
        assert code_of(patient, "UUID") == ids[patient_key(member.member_no)]
        assert code_of(patient, "Code") == member.member_no
        assert patient["name"][0]["family"] == "ADJOVI"
        assert patient["name"][0]["given"] == [member.given_names]  # "Koffi Marc" whole
        group = extension(patient, "patient-group-reference")["valueReference"]["reference"]
        assert group == f"Group/{ids[GROUP_KEY]}"
        assert patient["address"][0]["extension"][1]["valueReference"]["reference"] == (
            f"Location/{backend.seed['village']}"
        )
    head_read = await reader.get(f"Patient/{ids[patient_key(head.member_no)]}/")
    assert extension(head_read, "patient-is-head")["valueBoolean"] is True
    identification = extension(head_read, "patient-identification")["extension"]
    assert {"url": "number", "valueString": head.national_id} in identification
    spouse_read = await reader.get(f"Patient/{ids[patient_key(spouse.member_no)]}/")
    assert spouse_read["contact"][0]["relationship"][0]["coding"][0]["display"] == "Spouse"
    child_read = await reader.get(f"Patient/{ids[patient_key(child.member_no)]}/")
    assert child_read["contact"][0]["relationship"][0]["coding"][0]["display"] == "Son/Daughter"
    assert child_read["birthDate"] == "2019-07-01"
    # Three Patients and nothing else: the family came with its head, no Group was posted.
    assert [r["resourceType"] for r in sent.resources] == ["Patient"] * 3


async def test_a_household_in_a_mapped_commune_lives_in_its_village(
    register: OpenImisRegister, reader: Reader, backend: Backend
) -> None:
    home = household(commune="Kandi", village="Sonsoro")
    ids = await enrolled(register, home)

    head = await reader.get(f"Patient/{ids[patient_key(home.head.member_no)]}/")
    reference = head["address"][0]["extension"][1]["valueReference"]["reference"]
    assert reference == f"Location/{backend.seed['other_village']}"


async def test_a_household_with_no_village_mapped_is_refused_before_openimis_sees_it(
    backend: Backend, sent: Sent
) -> None:
    settings = settings_for(backend, locations={"Parakou": backend.seed["village"]})
    async with OpenImisRegister(settings) as register:
        with pytest.raises(RegisterRejected, match="OPENIMIS_LOCATIONS"):
            await register.push(event(EventKind.HOUSEHOLD_ENROLLED, household(commune="Nikki")))


async def test_a_member_added_later_joins_the_family(
    register: OpenImisRegister, reader: Reader
) -> None:
    home = household()
    first = replace(home, members=home.members[:2])
    ids = await enrolled(register, first)

    newborn = home.members[2]
    result = await register.push(
        event(EventKind.MEMBER_ADDED, home, ids, member_no=newborn.member_no)
    )

    ids = dict(result.register_ids)
    patient = await reader.get(f"Patient/{ids[patient_key(newborn.member_no)]}/")
    group = extension(patient, "patient-group-reference")["valueReference"]["reference"]
    assert group == f"Group/{ids[GROUP_KEY]}"
    assert len((await reader.get(f"Group/{ids[GROUP_KEY]}/"))["member"]) == 3


async def corrected(register: OpenImisRegister) -> tuple[dict[str, str], MemberRecord]:
    home = household()
    ids = await enrolled(register, home)
    spouse = replace(home.members[1], given_names="Afi Reine Marie")
    fixed = replace(home, members=(home.members[0], spouse, home.members[2]))
    await register.push(event(EventKind.HOUSEHOLD_UPDATED, fixed, ids, member_no=spouse.member_no))
    return ids, spouse


async def test_a_corrected_member_is_sent_again_and_stays_in_its_family(
    register: OpenImisRegister, reader: Reader, sent: Sent
) -> None:
    ids, spouse = await corrected(register)

    spouse_id = ids[patient_key(spouse.member_no)]
    [rewritten] = [r for r in sent.resources if r.get("id") == spouse_id]
    assert rewritten["name"][0]["given"] == ["Afi Reine Marie"]
    patient = await reader.get(f"Patient/{ids[patient_key(spouse.member_no)]}/")
    group = extension(patient, "patient-group-reference")["valueReference"]["reference"]
    assert group == f"Group/{ids[GROUP_KEY]}"


@pytest.mark.xfail(
    strict=True,
    reason="openIMIS insuree 1.8.0 answers 200 to a Patient PUT but keeps the old values"
    " (InsureeService.create_or_update reloads the insuree by UUID and drops the data);"
    " 1.7.0 fails it on its duplicate rows. Strict: this starts failing when openIMIS fixes it.",
)
async def test_a_correction_reaches_openimis(register: OpenImisRegister, reader: Reader) -> None:
    ids, spouse = await corrected(register)

    patient = await reader.get(f"Patient/{ids[patient_key(spouse.member_no)]}/")
    assert patient["name"][0]["given"] == ["Afi Reine Marie"]


# -- pay ---------------------------------------------------------------------------------


async def test_a_paid_year_is_an_active_policy_of_the_family(
    register: OpenImisRegister, reader: Reader, sent: Sent, backend: Backend
) -> None:
    today = await reader.today()
    home = household()
    cover = year(today, CoverageStatus.ACTIVE, payment(PREMIUM, today))

    result = await register.push(event(EventKind.COVERAGE_ACTIVATED, home, coverage=cover))

    ids = dict(result.register_ids)
    contract = await reader.get(f"Contract/{ids[contract_key(cover.reference)]}/")
    assert contract["author"]["reference"] == f"Practitioner/{backend.seed['officer']}"
    assert contract["subject"][0]["reference"] == f"Group/{ids[GROUP_KEY]}"
    assert contract["status"] == "Policy"  # openIMIS's name for an active policy
    assert contract["legalState"]["text"] == "Offered"
    plan = contract["term"][0]["asset"][0]["valuedItem"][0]["entityReference"]["reference"]
    assert plan == f"InsurancePlan/{backend.seed['products']['FAMILLE']}"
    [policy] = await reader.policies(home.head.member_no)
    assert policy["status"] == ACTIVE
    assert policy["effectiveDate"] == today.isoformat()
    assert policy["expiryDate"] == cover.end.isoformat()
    sent_contract = next(r for r in sent.resources if r["resourceType"] == "Contract")
    assert sent_contract["term"][0]["offer"]["party"][0]["reference"] == [
        {"reference": f"Patient/{ids[patient_key(home.head.member_no)]}"}
    ]


async def test_payments_in_instalments_activate_the_policy_when_complete(
    register: OpenImisRegister, reader: Reader
) -> None:
    today = await reader.today()
    home = household()
    first = payment(4_000, today)
    pending = year(today, CoverageStatus.PENDING_PAYMENT, first)
    ids = dict(
        (await register.push(
            event(EventKind.PAYMENT_RECORDED, home, coverage=pending,
                  payment_reference=first.reference)
        )).register_ids
    )  # fmt: skip
    [policy] = await reader.policies(home.head.member_no)
    assert policy["status"] == IDLE

    second = payment(6_000, today)
    paid = replace(pending, status=CoverageStatus.ACTIVE, payments=(first, second))
    ids = dict(
        (await register.push(
            event(EventKind.PAYMENT_RECORDED, home, ids, coverage=paid,
                  payment_reference=second.reference)
        )).register_ids
    )  # fmt: skip

    [policy] = await reader.policies(home.head.member_no)
    assert policy["status"] == ACTIVE
    assert {premium_key(first.reference), premium_key(second.reference)} <= set(ids)


async def test_a_payment_whose_answer_was_lost_is_not_paid_twice(
    register: OpenImisRegister, reader: Reader
) -> None:
    today = await reader.today()
    home = household()
    paid = payment(PREMIUM, today)
    cover = year(today, CoverageStatus.ACTIVE, paid)
    ids = dict(
        (
            await register.push(event(EventKind.COVERAGE_ACTIVATED, home, coverage=cover))
        ).register_ids
    )

    # The same event again, as if the premium's answer had been lost: only the contract's id kept.
    ids.pop(premium_key(paid.reference))
    again = await register.push(event(EventKind.COVERAGE_ACTIVATED, home, ids, coverage=cover))

    assert premium_key(paid.reference) in again.register_ids
    data = await reader.graphql(
        "query($uuid: [String]!) { premiumsByPolicies(policyUuids: $uuid) { edges { node {"
        " receipt amount } } } }",
        uuid=[ids[contract_key(cover.reference)]],
    )
    receipts = [e["node"]["receipt"] for e in data["premiumsByPolicies"]["edges"]]
    assert receipts == [paid.reference]


async def test_a_year_with_nothing_to_pay_is_active(
    register: OpenImisRegister, reader: Reader
) -> None:
    """Free care, a sponsor paying it all, the amount carried: one funding premium, forced."""
    today = await reader.today()
    home = household()
    free = replace(year(today, CoverageStatus.ACTIVE), premium_due=0)

    ids = dict(
        (await register.push(event(EventKind.COVERAGE_ACTIVATED, home, coverage=free))).register_ids
    )

    policies = {p["policyUuid"]: p for p in await reader.policies(home.head.member_no)}
    assert policies[ids[contract_key(free.reference)]]["status"] == ACTIVE
    answer = await register.check_eligibility(home.head.member_no, today)
    assert answer.status is Eligibility.COVERED


# -- renew -------------------------------------------------------------------------------


async def test_a_renewal_is_a_new_offered_policy_after_the_first(
    register: OpenImisRegister, reader: Reader, sent: Sent
) -> None:
    today = await reader.today()
    home = household()
    first = year(today, CoverageStatus.ACTIVE, payment(PREMIUM, today))
    ids = dict(
        (
            await register.push(event(EventKind.COVERAGE_ACTIVATED, home, coverage=first))
        ).register_ids
    )

    second = year(
        today,
        CoverageStatus.WAITING,
        payment(PREMIUM, today),
        starts=first.end + dt.timedelta(days=1),
        renewal=True,
    )
    ids = dict(
        (
            await register.push(event(EventKind.COVERAGE_ACTIVATED, home, ids, coverage=second))
        ).register_ids
    )

    assert ids[contract_key(first.reference)] != ids[contract_key(second.reference)]
    renewed = await reader.get(f"Contract/{ids[contract_key(second.reference)]}/")
    assert renewed["subject"][0]["reference"] == f"Group/{ids[GROUP_KEY]}"
    contracts = [r for r in sent.resources if r["resourceType"] == "Contract"]
    assert [c["legalState"]["text"] for c in contracts] == ["Offered", "Offered"]
    policies = {p["policyUuid"]: p for p in await reader.policies(home.head.member_no)}
    renewed_policy = policies[ids[contract_key(second.reference)]]
    assert renewed_policy["status"] == ACTIVE
    assert renewed_policy["expiryDate"] == second.end.isoformat()
    # openIMIS dates a policy's effect from the payment that completes it (policy/services.py,
    # policy_status_premium_paid), not from the start we send: a renewal paid early shows
    # as effective from the day it was paid.
    assert renewed_policy["effectiveDate"] == today.isoformat()

    during_second = second.start + dt.timedelta(days=10)
    answer = await register.check_eligibility(home.head.member_no, during_second)
    assert answer.status is Eligibility.COVERED
    assert answer.coverage_ref == f"Coverage/{ids[contract_key(second.reference)]}"


# -- lapse and eligibility ---------------------------------------------------------------


async def test_a_lapsed_year_is_suspended_and_no_longer_covers(
    register: OpenImisRegister, reader: Reader
) -> None:
    today = await reader.today()
    home = household()
    cover = year(today, CoverageStatus.ACTIVE, payment(PREMIUM, today))
    ids = dict(
        (
            await register.push(event(EventKind.COVERAGE_ACTIVATED, home, coverage=cover))
        ).register_ids
    )
    assert (await register.check_eligibility(home.head.member_no, today)).covered

    lapsed = replace(cover, status=CoverageStatus.LAPSED)
    await register.push(event(EventKind.COVERAGE_LAPSED, home, ids, coverage=lapsed))

    [policy] = await reader.policies(home.head.member_no)
    assert policy["status"] == SUSPENDED
    answer = await register.check_eligibility(home.head.member_no, today)
    assert answer.status is Eligibility.NOT_COVERED
    assert answer.period_end == cover.end


async def test_eligibility_of_members_openimis_does_not_cover_or_know(
    register: OpenImisRegister, reader: Reader
) -> None:
    today = await reader.today()
    home = household()
    await enrolled(register, home)

    uncovered = await register.check_eligibility(home.members[1].member_no, today)
    unknown = await register.check_eligibility("7999999999", today)

    assert uncovered.status is Eligibility.NOT_COVERED
    assert unknown.status is Eligibility.UNKNOWN_MEMBER


async def test_find_person_reads_the_uuid_and_the_npi(
    register: OpenImisRegister, reader: Reader
) -> None:
    home = household()
    ids = await enrolled(register, home)

    person = await register.find_person(None, home.head.member_no)

    assert person is not None
    assert person.register_id == ids[patient_key(home.head.member_no)]
    assert person.national_id == home.head.national_id
    assert person.given_names == "Koffi Marc"
    assert person.is_head is True


# -- refusals ----------------------------------------------------------------------------


async def test_a_refused_contract_is_a_refusal_not_a_retry(
    register: OpenImisRegister, reader: Reader
) -> None:
    today = await reader.today()
    home = household()
    first = year(today, CoverageStatus.ACTIVE, payment(PREMIUM, today))
    ids = dict(
        (
            await register.push(event(EventKind.COVERAGE_ACTIVATED, home, coverage=first))
        ).register_ids
    )

    # A second year, enrolled earlier, over the first one's enrolment date: openIMIS answers
    # 500 with its reason. (Enrolled the same day, it would be taken for the first one's
    # retry whose answer was lost.)
    earlier = today - dt.timedelta(days=30)
    overlapping = replace(
        year(today, CoverageStatus.PENDING_PAYMENT),
        enrolled_on=earlier,
        start=earlier,
        end=first.end + dt.timedelta(days=1),
    )
    with pytest.raises(RegisterRejected, match="Contract exists for this patient") as refused:
        await register.push(event(EventKind.COVERAGE_ACTIVATED, home, ids, coverage=overlapping))
    assert refused.value.status_code == 500


async def test_an_unknown_product_is_a_refusal(register: OpenImisRegister, reader: Reader) -> None:
    today = await reader.today()
    cover = replace(year(today, CoverageStatus.PENDING_PAYMENT), product_code="NOPE")
    with pytest.raises(RegisterRejected, match="no product 'NOPE'"):
        await register.push(event(EventKind.COVERAGE_ACTIVATED, household(), coverage=cover))
