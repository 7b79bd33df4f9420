"""The openIMIS peer refuses what openIMIS 24.04 refuses, the way it does (HTTP 500 and an
OperationOutcome saying why): the old adapter's writes, each checked here, were all refused by
the real backend (tests/integration/openimis)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.peers.openimis import IG, OFFICER, VILLAGE, OpenImisPeer
from tests.support.http_server import serve

BASE = "/api/api_fhir_r4/"


@pytest.fixture
def peer() -> OpenImisPeer:
    return OpenImisPeer(products=("FAMILLE",))


@pytest.fixture
def http(peer: OpenImisPeer) -> Iterator[httpx.Client]:
    with serve(peer.app) as url, httpx.Client(base_url=url + BASE, timeout=5) as client:
        token = client.post("login/", json={"username": "gateway", "password": "s3cret"})
        client.headers["Authorization"] = f"Bearer {token.json()['token']}"
        yield client


def code(value: str) -> dict[str, Any]:
    system = IG + "CodeSystem/openimis-identifiers"
    return {"type": {"coding": [{"system": system, "code": "Code"}]}, "value": value}


def head(number: str = "2026000017", **changes: Any) -> dict[str, Any]:
    address = {
        "use": "home",
        "type": "physical",
        "city": "Holobo",
        "district": "Jambero",
        "state": "Region 1",
        "extension": [
            {"url": IG + "StructureDefinition/address-municipality", "valueString": "Actoloby"},
            {
                "url": IG + "StructureDefinition/address-location-reference",
                "valueReference": {"reference": f"Location/{VILLAGE}"},
            },
        ],
    }
    patient = {
        "resourceType": "Patient",
        "identifier": [code(number)],
        "name": [{"family": "ADJOVI", "given": ["Koffi"]}],
        "gender": "male",
        "birthDate": "1985-01-01",
        "address": [address],
        "extension": [{"url": IG + "StructureDefinition/patient-is-head", "valueBoolean": True}],
    }
    return {**patient, **changes}


def refused(answer: httpx.Response) -> str:
    assert answer.status_code == 500, answer.text
    body = answer.json()
    assert body["resourceType"] == "OperationOutcome"
    return str(body["issue"][0]["details"]["text"])


def family_of(http: httpx.Client) -> tuple[str, str]:
    made = http.post("Patient/", json=head()).json()
    group = next(e for e in made["extension"] if e["url"].endswith("/patient-group-reference"))
    return made["id"], group["valueReference"]["reference"].rpartition("/")[2]


def contract(patient: str, family: str, product: str, **changes: Any) -> dict[str, Any]:
    asset = {
        "typeReference": [{"reference": f"Patient/{patient}"}],
        "period": [{"start": "2026-01-01", "end": "2026-12-31"}],
        "usePeriod": [{"start": "2026-01-01", "end": "2026-12-31"}],
        "valuedItem": [{"entityReference": {"reference": f"InsurancePlan/{product}"}}],
    }
    offer = {"party": [{"reference": [{"reference": f"Patient/{patient}"}], "role": {"text": "x"}}]}
    body = {
        "resourceType": "Contract",
        "status": "Idle",
        "legalState": {"text": "Offered"},
        "author": {"reference": f"Practitioner/{OFFICER}"},
        "subject": [{"reference": f"Group/{family}"}],
        "term": [{"offer": offer, "asset": [asset]}],
    }
    return {**body, **changes}


def test_a_patient_without_an_address_is_refused(http: httpx.Client) -> None:
    assert "not iterable" in refused(http.post("Patient/", json=head(address=[])))


def test_an_address_needs_its_two_extensions_and_names(http: httpx.Client) -> None:
    bare = head()
    bare["address"][0]["extension"] = bare["address"][0]["extension"][1:]
    del bare["address"][0]["state"]

    reason = refused(http.post("Patient/", json=bare))

    assert "address-municipality" in reason and "'state' field required" in reason


def test_a_head_makes_its_family_and_a_group_cannot_be_posted(
    http: httpx.Client, peer: OpenImisPeer
) -> None:
    _, family = family_of(http)

    assert [g["id"] for g in peer.resources("Group")] == [family]
    group = {"resourceType": "Group", "type": "person", "actual": True}
    assert "already asigned" in refused(http.post("Group/", json=group))


def test_an_insuree_number_is_taken_once(http: httpx.Client) -> None:
    family_of(http)

    assert "Exists patient" in refused(http.post("Patient/", json=head()))


def test_a_member_of_a_family_cannot_claim_to_be_head(http: httpx.Client) -> None:
    _, family = family_of(http)
    reference = {
        "url": IG + "StructureDefinition/patient-group-reference",
        "valueReference": {"reference": f"Group/{family}"},
    }
    member = head("2026000025")
    member["extension"] = [*member["extension"], reference]

    assert "can't be head" in refused(http.post("Patient/", json=member))


def test_a_contract_needs_an_author_and_a_product_by_uuid(
    http: httpx.Client, peer: OpenImisPeer
) -> None:
    patient, family = family_of(http)
    product = peer.products["FAMILLE"]
    no_author = contract(patient, family, product)
    del no_author["author"]

    assert "author" in refused(http.post("Contract/", json=no_author))
    by_code = http.post("Contract/", json=contract(patient, family, "FAMILLE"))
    assert "Product matching query does not exist" in refused(by_code)


def test_a_contract_needs_an_offer_as_fhir_says(http: httpx.Client, peer: OpenImisPeer) -> None:
    patient, family = family_of(http)
    body = contract(patient, family, peer.products["FAMILLE"])
    del body["term"][0]["offer"]

    assert "offer" in refused(http.post("Contract/", json=body))


def test_a_renewed_legal_state_is_refused(http: httpx.Client, peer: OpenImisPeer) -> None:
    patient, family = family_of(http)
    body = contract(patient, family, peer.products["FAMILLE"], legalState={"text": "Renewed"})

    assert "Renewed" in refused(http.post("Contract/", json=body))


def test_contracts_cannot_be_updated_nor_searched_by_identifier(
    http: httpx.Client, peer: OpenImisPeer
) -> None:
    patient, family = family_of(http)
    made = http.post("Contract/", json=contract(patient, family, peer.products["FAMILLE"]))
    assert made.status_code == 201

    assert http.put(f"Contract/{made.json()['id']}/", json=made.json()).status_code == 405
    assert "chf_id" in refused(http.get("Contract/", params={"identifier": "CP-1"}))
