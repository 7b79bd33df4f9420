"""Our FHIR R4 server as a strict client sees it (gateway/register/fhir/): the
CapabilityStatement, content negotiation, an OperationOutcome for every error, our
extensions' definitions and their canonical base, and the page that documents them.

Every answer below is also parsed by fhir.resources (tests/support/fhir_answers.py).
The eligibility answers themselves are in test_eligibility.py.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.app import create_app
from gateway.enrolment.service import EnrolmentService
from gateway.register.fhir import extensions
from gateway.register.fhir import routes as fhir_routes
from gateway.settings import ConfigError, Settings
from tests.conftest import TODAY, Clock
from tests.register.test_eligibility import (
    CANONICAL,
    add_facility,
    bearer,
    enrolled,
    fhir,
    fhir_request,
    is_outcome,
    logged,
)
from tests.register.test_eligibility import (
    extensions as extensions_of,
)
from tests.register.test_ground import family
from tests.support.fhir_answers import FhirAnswerError, check_resource

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "fhir.md"
JSON_TYPE = "application/fhir+json; fhirVersion=4.0"


# -- the CapabilityStatement ----------------------------------------------------------


async def test_metadata_says_what_the_server_really_does(client: httpx.AsyncClient) -> None:
    response = await client.get("/fhir/metadata")  # no key: it is public

    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert (statement["fhirVersion"], statement["kind"], statement["status"]) == (
        "4.0.1",
        "instance",
        "active",
    )
    assert statement["format"] == ["application/fhir+json", "json"]  # no XML
    assert statement["url"] == f"{CANONICAL}/CapabilityStatement/alafia"
    assert statement["implementation"]["url"] == "http://127.0.0.1:8000/fhir"
    assert statement["date"] == TODAY.isoformat()
    [rest] = statement["rest"]
    assert rest["mode"] == "server"
    assert "Authorization: Bearer" in rest["security"]["description"]
    served = {
        r["type"]: ([i["code"] for i in r["interaction"]], r.get("searchParam", []))
        for r in rest["resource"]
    }
    # Nothing is stored, so nothing can be read or searched but our definitions.
    assert served == {
        "CoverageEligibilityRequest": (["create"], []),
        "StructureDefinition": (["read"], []),
    }


async def test_head_is_a_get_without_its_body(client: httpx.AsyncClient) -> None:
    response = await client.head("/fhir/metadata")

    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    assert response.content == b""


# -- content negotiation --------------------------------------------------------------

# Accept -> status of GET /fhir/metadata
ACCEPTS: list[tuple[str | None, int]] = [
    (None, 200),
    ("application/fhir+json", 200),
    ("application/json", 200),
    ("application/fhir+json; fhirVersion=4.0", 200),
    ("*/*", 200),
    ("application/*", 200),
    # a browser
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 200),
    ("application/fhir+xml", 406),
    ("application/xml", 406),
    ("text/xml", 406),
    ("application/fhir+xml, application/xml;q=0.9", 406),
    ("application/fhir+json;q=0, application/fhir+xml", 406),
    ("application/fhir+json; fhirVersion=3.0", 406),  # another FHIR version
    ("text/html", 406),
]


@pytest.mark.parametrize(("accept", "status"), ACCEPTS)
async def test_accept_is_honoured(
    client: httpx.AsyncClient, accept: str | None, status: int
) -> None:
    headers = {"Accept": accept} if accept is not None else {}

    response = await client.get("/fhir/metadata", headers=headers)

    if status == 200:
        assert response.status_code == 200
        assert response.json()["resourceType"] == "CapabilityStatement"
    else:
        assert accept is not None and accept in is_outcome(response, 406, "not-supported")


# _format (with an Accept that says the opposite) -> status
FORMATS: list[tuple[str, str, int]] = [
    ("json", "application/fhir+xml", 200),  # _format wins over Accept
    ("application/fhir+json", "application/xml", 200),
    ("application/json", "", 200),
    ("xml", "application/fhir+json", 406),
    ("application/fhir+xml", "application/fhir+json", 406),
    ("text/xml", "", 406),
    ("ttl", "", 406),
    ("html", "", 406),
]


@pytest.mark.parametrize(("format_", "accept", "status"), FORMATS)
async def test_format_is_honoured_before_accept(
    client: httpx.AsyncClient, format_: str, accept: str, status: int
) -> None:
    response = await client.get(
        "/fhir/metadata", params={"_format": format_}, headers={"Accept": accept}
    )

    if status == 200:
        assert response.json()["resourceType"] == "CapabilityStatement"
    else:
        assert f"_format={format_}" in is_outcome(response, 406, "not-supported")


async def test_an_eligibility_request_asking_for_xml_is_refused_before_it_is_checked(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    _, key = await add_facility(app)
    head = await enrolled(app, client)

    asked_xml = await client.post(
        "/fhir/CoverageEligibilityRequest",
        json=fhir_request(head),
        headers={**bearer(key), "Accept": "application/fhir+xml"},
    )
    format_xml = await client.post(
        "/fhir/CoverageEligibilityRequest?_format=xml", json=fhir_request(head), headers=bearer(key)
    )
    sent_xml = await client.post(
        "/fhir/CoverageEligibilityRequest",
        content=f'<CoverageEligibilityRequest xmlns="http://hl7.org/fhir"><patient>'
        f'<reference value="Patient/{head}"/></patient></CoverageEligibilityRequest>',
        headers={**bearer(key), "Content-Type": "application/fhir+xml"},
    )

    is_outcome(asked_xml, 406, "not-supported")
    is_outcome(format_xml, 406, "not-supported")
    assert "application/fhir+xml" in is_outcome(sent_xml, 415, "not-supported")
    assert await logged(app, db) == []  # none was checked, none logged


@pytest.mark.parametrize(
    "content_type",
    ["application/fhir+json", "application/json", "application/fhir+json; fhirVersion=4.0"],
)
async def test_a_request_in_fhir_json_is_answered_in_fhir_json(
    app: Starlette, client: httpx.AsyncClient, content_type: str
) -> None:
    _, key = await add_facility(app)
    head = await enrolled(app, client)

    response = await client.post(
        "/fhir/CoverageEligibilityRequest",
        content=json.dumps(fhir_request(head)),
        headers={**bearer(key), "Content-Type": content_type, "Accept": "application/fhir+json"},
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE


# -- every error an OperationOutcome ----------------------------------------------------

# method, path -> status, issue code, what the diagnostics say
WRONG_PLACES: list[tuple[str, str, int, str, str]] = [
    ("GET", "/fhir/CoverageEligibilityRequest", 405, "not-supported", "POST only"),
    ("PUT", "/fhir/CoverageEligibilityRequest/", 405, "not-supported", "POST only"),
    ("POST", "/fhir/metadata", 405, "not-supported", "GET only"),
    ("DELETE", "/fhir/StructureDefinition/coverage-status", 405, "not-supported", "GET only"),
    ("GET", "/fhir/Patient/100000011", 404, "not-supported", "/fhir/Patient/100000011"),
    ("POST", "/fhir/Coverage", 404, "not-supported", "/fhir/Coverage"),
    ("GET", "/fhir", 404, "not-supported", "/fhir"),
    ("GET", "/fhir/StructureDefinition/nothing", 404, "not-found", "nothing"),
]


@pytest.mark.parametrize(("method", "path", "status", "code", "says"), WRONG_PLACES)
async def test_a_wrong_method_or_path_is_an_operation_outcome(
    client: httpx.AsyncClient, method: str, path: str, status: int, code: str, says: str
) -> None:
    response = await client.request(method, path)

    assert says in is_outcome(response, status, code)
    if status == 405:
        assert response.headers["Allow"] == says.removesuffix(" only")


async def test_a_body_too_large_is_an_operation_outcome(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    _, key = await add_facility(app)
    body = {**fhir_request("100000011"), "note": "x" * 70_000}  # past BODY_LIMIT_BYTES

    response = await fhir(client, body, key)

    assert "at most 65536 bytes" in is_outcome(response, 413, "too-long")


async def test_a_failure_of_ours_is_a_500_operation_outcome() -> None:
    async def fails(api: Any, request: Request) -> Response:
        raise RuntimeError("a bug")

    # The FHIR routes' own wrapper around a handler that fails, in an app of its own.
    app = Starlette(routes=[Route("/fhir/bug", partial(fhir_routes._serve, None, {"GET": fails}))])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
    ) as http:
        response = await http.get("/fhir/bug")

    assert "try again later" in is_outcome(response, 500, "exception")


# -- the request named back -----------------------------------------------------------


async def test_the_answer_names_the_request_by_the_identifier_it_came_with(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    _, key = await add_facility(app)
    head = await enrolled(app, client)
    identifier = {"system": "https://his.chd-borgou.bj/eligibility", "value": "REQ-2026-42"}

    named = (await fhir(client, fhir_request(head, identifier=[identifier]), key)).json()
    unnamed = (await fhir(client, fhir_request(head), key)).json()

    assert named["request"] == {"type": "CoverageEligibilityRequest", "identifier": identifier}
    assert unnamed["request"] == {
        "type": "CoverageEligibilityRequest",
        "display": f"eligibility of Patient/{head} on {TODAY.isoformat()}",
    }


# -- extensions: their canonical base, their definitions, their page -------------------


async def test_every_extension_is_defined_at_its_url(client: httpx.AsyncClient) -> None:
    for extension in extensions.EXTENSIONS:
        url = f"{CANONICAL}/StructureDefinition/{extension.id}"
        response = await client.get(url.removeprefix("http://127.0.0.1:8000"))

        assert response.status_code == 200
        definition = response.json()
        assert definition["resourceType"] == "StructureDefinition"
        assert (definition["url"], definition["type"]) == (url, "Extension")
        elements = {e["path"]: e for e in definition["differential"]["element"]}
        assert elements["Extension.url"]["fixedUri"] == url
        assert elements["Extension.value[x]"]["type"] == [{"code": extension.type}]


@pytest.fixture
async def elsewhere(settings: Settings, clean: None) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway whose extensions live under the network's own canonical base."""
    register = dataclasses.replace(
        settings.register, fhir_canonical_base="https://fhir.mutuelles.bj/alafia"
    )
    app = create_app(dataclasses.replace(settings, register=register), Clock(TODAY))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield http


async def test_one_setting_moves_every_canonical_url(
    app: Starlette, client: httpx.AsyncClient, elsewhere: httpx.AsyncClient
) -> None:
    base = "https://fhir.mutuelles.bj/alafia"
    _, key = await add_facility(app)
    head = await enrolled(app, client)

    body = (await fhir(elsewhere, fhir_request(head), key)).json()
    statement = (await elsewhere.get("/fhir/metadata")).json()
    definition = (await elsewhere.get("/fhir/StructureDefinition/coverage-status")).json()

    urls = [e["url"] for e in body["extension"]]
    assert urls and all(u.startswith(f"{base}/StructureDefinition/") for u in urls)
    assert body["insurer"]["identifier"]["system"] == f"{base}/identifiers/mutual"
    assert body["contained"][0]["identifier"][0]["system"] == (
        f"{base}/identifiers/coverage-period"
    )
    assert statement["url"] == f"{base}/CapabilityStatement/alafia"
    assert definition["url"] == f"{base}/StructureDefinition/coverage-status"


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("https://fhir.mutuelles.bj/alafia/", "https://fhir.mutuelles.bj/alafia"),
        ("http://10.0.0.5:8000/fhir", "http://10.0.0.5:8000/fhir"),
        ("", None),
    ],
)
def test_the_canonical_base_is_read(value: str, read: str | None) -> None:
    assert Settings.from_env({"FHIR_CANONICAL_BASE": value}).register.fhir_canonical_base == read


@pytest.mark.parametrize(
    "value", ["fhir.mutuelles.bj", "urn:alafia", "https://fhir.mutuelles.bj/?v=1", "https://"]
)
def test_a_canonical_base_that_is_no_url_is_refused(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"FHIR_CANONICAL_BASE": value})

    assert "FHIR_CANONICAL_BASE must be an absolute http(s) URL" in str(raised.value)


def test_the_page_documents_every_extension() -> None:
    rows = [line for line in DOC.read_text().splitlines() if line.startswith("| ")]
    for extension in extensions.EXTENSIONS:
        [row] = [r for r in rows if f"StructureDefinition/{extension.id}`" in r]
        assert f"`{extension.type}`" in row, row
        for code in extension.codes:
            assert f"`{code}`" in row, (extension.id, code)


async def test_the_extensions_an_answer_carries_are_the_documented_ones(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    _, key = await add_facility(app)
    head = await enrolled(app, client)

    body = (await fhir(client, fhir_request(head), key)).json()

    assert set(extensions_of(body)) <= set(extensions.BY_ID)


# -- the checker itself refuses what R4 refuses ----------------------------------------

# what the gateway answered before this was fixed, and what each check catches
NOT_R4: list[tuple[str, dict[str, Any], str]] = [
    (
        "no request, no insurer, insurance without coverage",
        {
            "resourceType": "CoverageEligibilityResponse",
            "status": "active",
            "purpose": ["validation"],
            "outcome": "complete",
            "patient": {"reference": "Patient/100000011"},
            "created": "2026-11-23",
            "insurance": [{"inforce": False}],
        },
        "request",
    ),
    (
        "an extension with a bare name",
        {"resourceType": "Basic", "code": {"text": "x"}, "extension": [{"url": "status"}]},
        "extension URL not absolute",
    ),
    (
        "a local reference to nothing",
        {
            "resourceType": "Basic",
            "code": {"text": "x"},
            "subject": {"reference": "#coverage"},
        },
        "names no contained resource",
    ),
    ("an unknown element", {"resourceType": "Basic", "code": {"text": "x"}, "colour": 1}, "colour"),
]


@pytest.mark.parametrize(("case", "body", "says"), NOT_R4, ids=[c[0] for c in NOT_R4])
def test_the_checker_refuses_what_r4_refuses(case: str, body: dict[str, Any], says: str) -> None:
    with pytest.raises(FhirAnswerError, match=re.escape(says)):
        check_resource(body)


# -- on what ground a person is covered (issue 13) ---------------------------------------


async def test_the_answer_says_on_what_ground_each_person_is_covered(
    app: Starlette, client: httpx.AsyncClient, enrolment: EnrolmentService, db: Session
) -> None:
    head, baby = await family(enrolment, db)  # a mother, and her baby on free care
    _, key = await add_facility(app)

    grounds = {
        number: extensions_of((await fhir(client, fhir_request(number), key)).json())
        for number in (head, baby)
    }

    assert grounds[head]["cover-ground"] == "member"
    assert grounds[baby]["cover-ground"] == "under_five"
