"""The real openIMIS backend for the integration suite, when there is one.

The suite runs only when asked: ``ALAFIA_OPENIMIS_URL`` names a backend (with the seeded
facts in ``ALAFIA_OPENIMIS_SEED``, a JSON file as ``seed-facts.sql`` writes it), or
``ALAFIA_REQUIRE_OPENIMIS=1`` (run.sh and CI set it) takes the backend ``assemble.sh`` serves
from ``$ALAFIA_OPENIMIS_HOME`` and fails when it is missing. Otherwise every test here is
skipped without a look at any server: a backend left serving does not pull these tests into
the README's plain ``python -m pytest`` (nor CI's other runs).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class

from adapters.register.openimis import FHIR_PATH, OpenImisRegister, OpenImisSettings

HOME = Path(
    os.environ.get("ALAFIA_OPENIMIS_HOME") or Path.home() / ".cache" / "alafia" / "openimis-24.04"
)


@dataclass(frozen=True)
class Backend:
    url: str
    seed: dict[str, Any]


def _find() -> Backend | str:
    """The backend, or why there is none."""
    url = os.environ.get("ALAFIA_OPENIMIS_URL", "").strip()
    seed_file = Path(os.environ.get("ALAFIA_OPENIMIS_SEED") or HOME / "seed.json")
    if not url:
        if os.environ.get("ALAFIA_REQUIRE_OPENIMIS") != "1":
            return (
                "not asked for (set ALAFIA_OPENIMIS_URL, or run tests/integration/openimis/run.sh)"
            )
        served = HOME / "server.url"
        if not served.exists():
            return f"no ALAFIA_OPENIMIS_URL and no openIMIS served from {HOME} (run.sh serves one)"
        url = served.read_text().strip()
    if not seed_file.exists():
        return f"no seeded facts at {seed_file}"
    seed = json.loads(seed_file.read_text())
    try:
        answer = httpx.post(
            f"{url}{FHIR_PATH}login/",
            json={"username": seed["username"], "password": seed["password"]},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        return f"openIMIS at {url} does not answer: {exc}"
    if answer.status_code != 200:
        return f"openIMIS at {url} refuses the login: HTTP {answer.status_code}"
    return Backend(url, seed)


_FOUND = _find()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if isinstance(_FOUND, Backend):
        return
    if os.environ.get("ALAFIA_REQUIRE_OPENIMIS") == "1":
        raise pytest.UsageError(f"openIMIS integration: {_FOUND}")
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=f"openIMIS integration: {_FOUND}")
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def backend() -> Backend:
    assert isinstance(_FOUND, Backend)
    return _FOUND


def settings_for(backend: Backend, **changes: Any) -> OpenImisSettings:
    values: dict[str, Any] = {
        "base_url": backend.url,
        "username": backend.seed["username"],
        "password": backend.seed["password"],
        "officer_id": backend.seed["officer"],
        "locations": {"*": backend.seed["village"], "Kandi": backend.seed["other_village"]},
        "timeout_seconds": 60.0,
    }
    return OpenImisSettings(**{**values, **changes})


class Sent:
    """Every FHIR resource the adapter sent, each parsed by fhir.resources (R4B) on the way:
    a resource an independent FHIR R4 parser refuses fails the test where it was sent."""

    def __init__(self) -> None:
        self.resources: list[dict[str, Any]] = []

    async def check(self, request: httpx.Request) -> None:
        if FHIR_PATH not in request.url.path or request.method not in ("POST", "PUT"):
            return
        if request.url.path.endswith("/login/"):
            return
        body = json.loads(request.content)
        get_fhir_model_class(body["resourceType"]).model_validate(body)
        self.resources.append(body)


@pytest.fixture
def sent() -> Sent:
    return Sent()


@pytest.fixture
async def register(backend: Backend, sent: Sent) -> AsyncIterator[OpenImisRegister]:
    async with OpenImisRegister(settings_for(backend)) as adapter:
        # The one hook into the adapter: its own HTTP client reports what it sends.
        adapter._client.event_hooks["request"].append(sent.check)
        yield adapter


class Reader:
    """Reads back what openIMIS holds, by UUID, as its own clients do."""

    def __init__(self, backend: Backend, client: httpx.AsyncClient) -> None:
        self.backend = backend
        self.client = client

    async def get(self, path: str) -> dict[str, Any]:
        answer = await self.client.get(f"{FHIR_PATH}{path}")
        assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text[:300]}"
        body: dict[str, Any] = answer.json()
        return body

    async def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = await self.client.post(
            "/api/graphql", json={"query": query, "variables": variables}
        )
        body: dict[str, Any] = answer.json()
        assert "errors" not in body, body
        return body["data"]

    async def policies(self, member_no: str) -> list[dict[str, Any]]:
        data = await self.graphql(
            "query($id: String!) { policiesByInsuree(chfId: $id) { edges { node {"
            " policyUuid status startDate effectiveDate expiryDate productCode } } } }",
            id=member_no,
        )
        return [e["node"] for e in data["policiesByInsuree"]["edges"]]

    async def today(self) -> dt.date:
        """openIMIS's own date (its HTTP Date header): it refuses enrolments dated after it."""
        answer = await self.client.get(f"{FHIR_PATH}Location/{self.backend.seed['village']}/")
        return email.utils.parsedate_to_datetime(answer.headers["Date"]).date()


@pytest.fixture
async def reader(backend: Backend) -> AsyncIterator[Reader]:
    async with httpx.AsyncClient(base_url=backend.url, timeout=60) as client:
        login = await client.post(
            f"{FHIR_PATH}login/",
            json={"username": backend.seed["username"], "password": backend.seed["password"]},
        )
        client.headers["Authorization"] = f"Bearer {login.json()['token']}"
        yield Reader(backend, client)
