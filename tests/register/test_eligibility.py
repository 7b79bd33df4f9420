"""Is this patient covered? Health facilities ask by REST, by FHIR (as openIMIS speaks it),
from a desk phone by USSD and by SMS (`VERIF <member no>`).

Members are enrolled by USSD, paid in cash on TODAY (2026-11-23) and the gateway's day is
moved: 30 days of waiting (cover from 2026-12-23), 12 months of cover (to 2027-12-22), 30
days of grace (to 2028-01-21). The family product has a 25 % co-payment.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from adapters.register import EventKind, PaymentRecord
from adapters.register.openimis import OpenImisRegister, OpenImisSettings
from gateway.app import create_app
from gateway.payments.capability import Payments
from gateway.register.capability import Register
from gateway.register.check_log import CLAIMS
from gateway.register.facilities import FacilityRef
from gateway.settings import Settings
from gateway.ussd.capability import Ussd
from menus import gsm
from menus.identifiers import member_number
from menus.values import CoverageStatus
from tests.conftest import TODAY, Clock
from tests.peers.openimis import OFFICER, VILLAGE, OpenImisPeer
from tests.sms.test_inbound import Reply, one_reply, replies, texts, wrong_check_digit
from tests.support.gateway import part, shared
from tests.support.http_server import free_port, serve
from tests.support.paying import enrol
from tests.support.register_records import HEAD, SPOUSE, coverage, event, household
from tests.support.ussd_phone import Phone

OWNER = "+2290197000401"  # the household's own phone
DESK = "+2290197000402"  # the reception desk of the health centre
STRANGER = "+2290166000403"
UNKNOWN = member_number(79_999_999)  # a valid number nobody holds
WAITING_ENDS = "2026-12-22"
COVER = {"start": "2026-12-23", "end": "2027-12-22"}
NO_PERIOD = {"start": None, "end": None}


# -- helpers -------------------------------------------------------------------------


async def add_facility(
    app: Starlette, phones: list[str] | None = None, code: str = "CS-PKU"
) -> tuple[FacilityRef, str]:
    """A facility with its key; its desk phones are seen on the next dial."""
    facility, key = await part(app, Register).facilities.add(
        code, "CS Parakou", phones or [], by="cli:test"
    )
    part(app, Ussd).service.callers.forget_known_phones()
    return facility, key


async def enrolled(app: Starlette, http: httpx.AsyncClient, *, paid: bool = True) -> str:
    """A household of three enrolled by USSD (head: Kpadé DAH), paid in full on TODAY."""
    head = await enrol(http, OWNER)
    if paid:
        await part(app, Payments).ledger.record_cash(head, 4725, "Payer")
    return head


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def rest(
    http: httpx.AsyncClient, member_no: str, key: str, day: str | None = None
) -> httpx.Response:
    params = {"date": day} if day is not None else None
    return await http.get(f"/api/v1/eligibility/{member_no}", params=params, headers=bearer(key))


async def fhir(http: httpx.AsyncClient, body: Any, key: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/fhir+json", **(bearer(key) if key else {})}
    content = body if isinstance(body, bytes | str) else json.dumps(body)
    return await http.post("/fhir/CoverageEligibilityRequest", content=content, headers=headers)


def fhir_request(member_no: str, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "CoverageEligibilityRequest",
        "status": "active",
        "purpose": ["benefits"],
        "patient": {"reference": f"Patient/{member_no}"},
        "insurer": {"reference": "Organization/MUT-BORGOU"},
        **fields,
    }


# FHIR_CANONICAL_BASE unset: PUBLIC_BASE_URL/fhir, the default PUBLIC_BASE_URL here.
CANONICAL = "http://127.0.0.1:8000/fhir"


def extensions(body: dict[str, Any]) -> dict[str, Any]:
    """The answer's extensions by their id, each URL checked to be ours."""
    found: dict[str, Any] = {}
    for extension in body.get("extension", []):
        value = [v for k, v in extension.items() if k.startswith("value")]
        base, _, name = extension["url"].rpartition("/")
        assert base == f"{CANONICAL}/StructureDefinition", extension
        found[name] = value[0]
    return found


def coverage_of(body: dict[str, Any], insurance: dict[str, Any]) -> dict[str, Any]:
    """The Coverage an insurance entry names: contained in the answer."""
    reference = insurance["coverage"]["reference"]
    assert reference.startswith("#"), reference
    [coverage] = [c for c in body["contained"] if c["id"] == reference[1:]]
    assert coverage["resourceType"] == "Coverage"
    return dict(coverage)


def copay_of(insurance: dict[str, Any]) -> int | None:
    """The co-payment rate, where R4 puts it: a copay-percent benefit."""
    for item in insurance.get("item", []):
        for benefit in item.get("benefit", []):
            if benefit["type"]["coding"][0]["code"] == "copay-percent":
                return int(benefit["allowedUnsignedInt"])
    return None


def checks(db: Session) -> list[tuple[Any, ...]]:
    """The log of checks: facility, member number, day, channel, outcome, source, in the
    order they were made: by their time, not their id, since two apps' drainers may write
    a later batch before an earlier one (both drain the one list in Redis)."""
    db.expire_all()
    rows = db.execute(
        text(
            'SELECT facility_id, member_no, "on", channel, outcome, source'
            " FROM eligibility_checks ORDER BY checked_at, id"
        )
    ).all()
    return [(r[0], r[1], _day(r[2]), r[3], r[4], r[5]) for r in rows]


async def logged(app: Starlette, db: Session) -> list[tuple[Any, ...]]:
    """The log of checks, once the app has written the checks it queued: the app's own
    drainer may hold a batch it claimed and not yet committed, so until no claim is left
    (bounded: a claim never released fails the test on its rows)."""
    log = part(app, Register).eligibility.log
    for _ in range(250):
        await log.flush()
        if not await shared(app).redis.hlen(CLAIMS):
            break
        await asyncio.sleep(0.02)
    return checks(db)


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def is_outcome(response: httpx.Response, status: int, code: str) -> str:
    """A FHIR OperationOutcome with this HTTP status and issue code; its diagnostics."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    [issue] = body["issue"]
    assert (issue["severity"], issue["code"]) == ("error", code)
    diagnostics: str = issue["diagnostics"]
    return diagnostics


# -- where a member stands: REST and FHIR ---------------------------------------------

# days after the payment -> status, covered, period, end of the waiting period
STATES: list[tuple[int | None, str, bool, dict[str, Any], str | None]] = [
    (None, "pending_payment", False, NO_PERIOD, None),  # enrolled, not paid
    (0, "waiting", False, COVER, WAITING_ENDS),
    (29, "waiting", False, COVER, WAITING_ENDS),  # the last day of waiting
    (30, "active", True, COVER, None),  # the first day of cover
    (394, "active", True, COVER, None),  # its last day
    (395, "grace", True, COVER, None),  # still covered while it can be renewed
    (424, "grace", True, COVER, None),
    (425, "lapsed", False, COVER, None),
]


@pytest.mark.parametrize(("days", "status", "covered", "period", "waiting"), STATES)
async def test_rest_answers_where_the_member_stands(
    app: Starlette,
    client: httpx.AsyncClient,
    clock: Clock,
    db: Session,
    days: int | None,
    status: str,
    covered: bool,
    period: dict[str, Any],
    waiting: str | None,
) -> None:
    facility, key = await add_facility(app)
    head = await enrolled(app, client, paid=days is not None)
    clock.day = TODAY + timedelta(days=days or 0)

    response = await rest(client, head, key)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "member_no": head,
        "date": clock.day.isoformat(),
        "covered": covered,
        "status": status,
        "period": period,
        "waiting_period_ends": waiting,
        "grace_period_ends": "2028-01-21" if status == "grace" else None,
        "copay_percent": 25,
        "ground": "member",
        "first_name": "Kpadé",
        "initial": "D",
        "source": "local",
    }
    outcome = "covered" if covered else "not_covered"
    assert await logged(app, db) == [
        (facility.id, head, clock.day.isoformat(), "api", outcome, "local")
    ]


@pytest.mark.parametrize(("days", "status", "covered", "period", "waiting"), STATES)
async def test_fhir_answers_where_the_member_stands(
    app: Starlette,
    client: httpx.AsyncClient,
    clock: Clock,
    db: Session,
    days: int | None,
    status: str,
    covered: bool,
    period: dict[str, Any],
    waiting: str | None,
) -> None:
    facility, key = await add_facility(app)
    head = await enrolled(app, client, paid=days is not None)
    clock.day = TODAY + timedelta(days=days or 0)

    response = await fhir(client, fhir_request(head), key)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "CoverageEligibilityResponse"
    assert (body["status"], body["outcome"]) == ("active", "complete")
    assert body["patient"] == {"reference": f"Patient/{head}"}
    assert body["servicedDate"] == body["created"] == clock.day.isoformat()
    assert body["insurer"] == {
        "type": "Organization",
        "identifier": {"system": f"{CANONICAL}/identifiers/mutual", "value": "MS-KANDI"},
        "display": "Mutuelle de santé de Kandi",
    }
    assert body["request"]["type"] == "CoverageEligibilityRequest"
    [insurance] = body["insurance"]  # a cover year, even unpaid
    assert insurance["inforce"] is covered
    coverage = coverage_of(body, insurance)
    assert coverage["identifier"][0]["value"].startswith("CP-")
    assert coverage["beneficiary"] == body["patient"]
    assert coverage["payor"] == [body["insurer"]]
    assert coverage["status"] == ("draft" if status == "pending_payment" else "active")
    if period["start"]:
        # In grace the period reaches its end: openIMIS clients read the period, not inforce.
        grace = {"end": "2028-01-21"} if status == "grace" else {}
        assert insurance["benefitPeriod"] == {**period, **grace}
        assert coverage["period"]["start"] == period["start"]
    else:
        assert "benefitPeriod" not in insurance
    assert copay_of(insurance) == 25
    # The head of a household pays their own premium: covered as a member.
    expected = {"coverage-status": status, "eligibility-source": "local", "cover-ground": "member"}
    if waiting:
        expected["waiting-until"] = waiting
    assert extensions(body) == expected
    outcome = "covered" if covered else "not_covered"
    assert await logged(app, db) == [
        (facility.id, head, clock.day.isoformat(), "fhir", outcome, "local")
    ]


# ?date= (the gateway's day stays TODAY, the payment day) -> status, covered
ON_DAYS: list[tuple[str, str, bool]] = [
    ("2026-11-22", "none", False),  # before the household enrolled
    ("2026-11-23", "waiting", False),
    ("2026-12-22", "waiting", False),
    ("2026-12-23", "active", True),
    ("2027-12-22", "active", True),
    ("2028-01-21", "grace", True),
    ("2028-01-22", "lapsed", False),
]


@pytest.mark.parametrize(("day", "status", "covered"), ON_DAYS)
async def test_a_date_asks_about_another_day(
    app: Starlette,
    client: httpx.AsyncClient,
    db: Session,
    day: str,
    status: str,
    covered: bool,
) -> None:
    facility, key = await add_facility(app)
    head = await enrolled(app, client)

    answer = (await rest(client, head, key, day)).json()
    body = (await fhir(client, fhir_request(head, servicedDate=day), key)).json()

    assert (answer["date"], answer["status"], answer["covered"]) == (day, status, covered)
    assert answer["period"] == (NO_PERIOD if status == "none" else COVER)
    assert body["servicedDate"] == day and body["created"] == TODAY.isoformat()
    if status == "none":  # no cover year that day: R4 wants no insurance without a coverage
        assert "insurance" not in body and "contained" not in body
    else:
        assert body["insurance"][0]["inforce"] is covered
    assert extensions(body)["coverage-status"] == status
    outcome = "covered" if covered else "not_covered"
    assert await logged(app, db) == [
        (facility.id, head, day, "api", outcome, "local"),
        (facility.id, head, day, "fhir", outcome, "local"),
    ]


async def test_a_past_date_is_answered_from_history(
    app: Starlette, client: httpx.AsyncClient, clock: Clock
) -> None:
    _, key = await add_facility(app)
    head = await enrolled(app, client)
    clock.day = date(2027, 3, 1)

    today = (await rest(client, head, key)).json()
    back_then = (await rest(client, head, key, "2026-12-01")).json()

    assert (today["status"], today["covered"]) == ("active", True)
    assert (back_then["status"], back_then["covered"]) == ("waiting", False)
    assert back_then["waiting_period_ends"] == WAITING_ENDS


async def test_every_member_of_the_household_is_answered_with_their_own_name(
    app: Starlette, client: httpx.AsyncClient, clock: Clock, db: Session
) -> None:
    _, key = await add_facility(app)
    head = await enrolled(app, client)
    clock.day = date(2027, 1, 10)
    db.expire_all()
    child = db.execute(
        text(
            "SELECT member_no FROM members WHERE relationship_to_head = 'child' ORDER BY id LIMIT 1"
        )
    ).scalar_one()

    answer = (await rest(client, child, key)).json()

    assert child != head
    assert (answer["covered"], answer["first_name"], answer["initial"]) == (True, "Enfanta", "D")


async def test_a_number_typed_with_spaces_or_dashes_is_read(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    _, key = await add_facility(app)
    head = await enrolled(app, client)
    spaced = f"{head[:3]} {head[3:6]}-{head[6:]}"

    response = await rest(client, spaced, key)
    body = (await fhir(client, fhir_request(spaced), key)).json()

    assert response.status_code == 200 and response.json()["member_no"] == head
    assert body["patient"] == {"reference": f"Patient/{head}"}
    assert [c[1] for c in await logged(app, db)] == [head, head]


# -- numbers that cannot be answered ----------------------------------------------------

# the number as typed (from the enrolled head's) -> HTTP status, what the answer says, outcome
BAD_NUMBERS: list[tuple[str, int, str, str]] = [
    ("unknown", 404, "no member with this number here", "unknown_member"),
    ("check_digit", 400, "the check digit is wrong", "bad_number"),
    ("eight_digits", 400, "a member number has 9 digits", "bad_number"),
    ("ten_digits", 400, "a member number has 9 digits", "bad_number"),
    ("letters", 400, "a member number has 9 digits", "bad_number"),
]


def typed(case: str, head: str) -> str:
    return {
        "unknown": UNKNOWN,
        "check_digit": wrong_check_digit(head),
        "eight_digits": head[:8],
        "ten_digits": head + "0",
        "letters": "ABCDEFGHI",
    }[case]


@pytest.mark.parametrize(("case", "status", "says", "outcome"), BAD_NUMBERS)
async def test_rest_explains_a_number_it_cannot_answer(
    app: Starlette,
    client: httpx.AsyncClient,
    db: Session,
    case: str,
    status: int,
    says: str,
    outcome: str,
) -> None:
    facility, key = await add_facility(app)
    head = await enrolled(app, client, paid=False)
    number = typed(case, head)

    response = await rest(client, number, key)

    assert response.status_code == status, response.text
    body = response.json()
    assert says in body["error"] and body["member_no"] == number
    if status == 400:
        assert body["error"].startswith("invalid member number: ")
    assert await logged(app, db) == [
        (facility.id, number, TODAY.isoformat(), "api", outcome, "local")
    ]


@pytest.mark.parametrize(("case", "status", "says", "outcome"), BAD_NUMBERS)
async def test_fhir_explains_a_number_it_cannot_answer(
    app: Starlette,
    client: httpx.AsyncClient,
    db: Session,
    case: str,
    status: int,
    says: str,
    outcome: str,
) -> None:
    facility, key = await add_facility(app)
    head = await enrolled(app, client, paid=False)
    number = typed(case, head)

    response = await fhir(client, fhir_request(number), key)

    code = "not-found" if status == 404 else "invalid"
    diagnostics = is_outcome(response, status, code)
    assert (number if status == 404 else says) in diagnostics
    assert await logged(app, db) == [
        (facility.id, number, TODAY.isoformat(), "fhir", outcome, "local")
    ]


@pytest.mark.parametrize("day", ["2026-13-01", "2026-02-30", "23/11/2026", "tomorrow"])
async def test_a_date_that_is_not_a_date_is_refused(
    app: Starlette, client: httpx.AsyncClient, db: Session, day: str
) -> None:
    _, key = await add_facility(app)
    head = await enrolled(app, client, paid=False)

    response = await rest(client, head, key, day)
    outcome = await fhir(client, fhir_request(head, servicedDate=day), key)

    assert response.status_code == 400
    assert response.json() == {"error": "date must be YYYY-MM-DD"}
    assert "servicedDate/created is not a date" in is_outcome(outcome, 400, "invalid")
    assert await logged(app, db) == []  # nothing was checked


# -- keys ------------------------------------------------------------------------------


def no_key(key: str) -> dict[str, str]:
    return {}


# how a request authenticates (from the facility's key) -> headers
WRONG_AUTHORIZATIONS = {
    "missing": no_key,
    "empty bearer": lambda key: {"Authorization": "Bearer "},
    "basic": lambda key: {"Authorization": f"Basic {key}"},
    "the key alone": lambda key: {"Authorization": key},
    "another key": lambda key: {"Authorization": "Bearer alf_0123456789ab_" + "x" * 43},
    "a key's prefix with another secret": lambda key: {
        "Authorization": f"Bearer {key[:16]}_{'y' * 43}"
    },
    "not a key at all": lambda key: {"Authorization": "Bearer hello"},
}


@pytest.mark.parametrize("how", WRONG_AUTHORIZATIONS)
async def test_a_request_without_a_valid_key_is_refused(
    app: Starlette, client: httpx.AsyncClient, db: Session, how: str
) -> None:
    _, key = await add_facility(app)
    head = await enrolled(app, client)
    headers = WRONG_AUTHORIZATIONS[how](key)

    response = await client.get(f"/api/v1/eligibility/{head}", headers=headers)
    outcome = await client.post(
        "/fhir/CoverageEligibilityRequest", json=fhir_request(head), headers=headers
    )

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["error"]
    assert "API key" in is_outcome(outcome, 401, "login")
    assert outcome.headers["WWW-Authenticate"] == "Bearer"
    assert await logged(app, db) == []  # nobody to log it against


async def test_fhir_answers_at_the_path_openimis_clients_post_to(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    # openIMIS's own URLs end in a slash; a redirect would turn the POST into a GET.
    _, key = await add_facility(app)
    head = await enrolled(app, client)

    response = await client.post(
        "/fhir/CoverageEligibilityRequest/",
        json=fhir_request(head),
        headers={"Authorization": f"Bearer {key}"},
    )

    assert response.status_code == 200
    assert response.json()["resourceType"] == "CoverageEligibilityResponse"


async def test_the_scheme_name_is_not_case_sensitive(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    _, key = await add_facility(app)
    head = await enrolled(app, client)

    response = await client.get(
        f"/api/v1/eligibility/{head}", headers={"Authorization": f"bearer  {key} "}
    )

    assert response.status_code == 200


async def test_a_revoked_key_is_refused_and_a_new_key_replaces_the_old(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    _, old = await add_facility(app)
    head = await enrolled(app, client)
    assert (await rest(client, head, old)).status_code == 200

    await part(app, Register).facilities.revoke("CS-PKU", by="cli:test")
    refused = await rest(client, head, old)
    refused_fhir = await fhir(client, fhir_request(head), old)
    new = await part(app, Register).facilities.new_key("CS-PKU", by="cli:test")

    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    is_outcome(refused_fhir, 401, "login")
    assert (await rest(client, head, old)).status_code == 401
    assert (await rest(client, head, new)).status_code == 200
    assert (await fhir(client, fhir_request(head), new)).status_code == 200
    assert [c[3] for c in await logged(app, db)] == [
        "api",
        "api",
        "fhir",
    ]  # refused ones are not logged


async def test_each_facility_is_logged_with_its_own_checks(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    first, first_key = await add_facility(app)
    second, second_key = await add_facility(app, code="CS-NDA")
    head = await enrolled(app, client)

    await rest(client, head, first_key)
    await fhir(client, fhir_request(head), second_key)
    await rest(client, UNKNOWN, second_key)

    assert await logged(app, db) == [
        (first.id, head, TODAY.isoformat(), "api", "not_covered", "local"),
        (second.id, head, TODAY.isoformat(), "fhir", "not_covered", "local"),
        (second.id, UNKNOWN, TODAY.isoformat(), "api", "unknown_member", "local"),
    ]


async def test_checks_at_the_same_time_are_all_answered_and_logged(
    app: Starlette, client: httpx.AsyncClient, clock: Clock, db: Session
) -> None:
    _, key = await add_facility(app)
    head = await enrolled(app, client)
    clock.day = date(2027, 1, 10)

    answers = await asyncio.gather(
        *(rest(client, head, key) for _ in range(15)),
        *(fhir(client, fhir_request(head), key) for _ in range(15)),
    )

    assert [a.status_code for a in answers] == [200] * 30
    assert sorted(c[3] for c in await logged(app, db)) == ["api"] * 15 + ["fhir"] * 15


# -- FHIR requests as facility software sends them --------------------------------------


# the request's fields besides resourceType (from the member number) -> the day asked about
FHIR_SHAPES: list[tuple[str, dict[str, Any], str]] = [
    ("reference", {}, TODAY.isoformat()),
    ("identifier", {"patient": {"identifier": {"value": "{no}"}}}, TODAY.isoformat()),
    (
        "identifier with a system",
        {"patient": {"identifier": {"system": "CodeSystem/openimis-identifiers", "value": "{no}"}}},
        TODAY.isoformat(),
    ),
    ("created", {"created": "2026-12-23"}, "2026-12-23"),
    ("created with a time", {"created": "2026-12-23T08:15:00+01:00"}, "2026-12-23"),
    ("servicedDate", {"servicedDate": "2027-01-05"}, "2027-01-05"),
    (
        "servicedDate wins over created",
        {"created": "2026-12-01", "servicedDate": "2027-01-05"},
        "2027-01-05",
    ),
]


@pytest.mark.parametrize(("shape", "fields", "day"), FHIR_SHAPES, ids=[s[0] for s in FHIR_SHAPES])
async def test_fhir_requests_in_the_shapes_facility_software_sends(
    app: Starlette,
    client: httpx.AsyncClient,
    db: Session,
    shape: str,
    fields: dict[str, Any],
    day: str,
) -> None:
    facility, key = await add_facility(app)
    head = await enrolled(app, client)
    body = fhir_request(head)
    for name, value in fields.items():
        body[name] = (
            {"identifier": {**value["identifier"], "value": head}} if name == "patient" else value
        )

    response = await fhir(client, body, key)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["patient"] == {"reference": f"Patient/{head}"}
    assert answer["servicedDate"] == day
    assert await logged(app, db) == [
        (
            facility.id,
            head,
            day,
            "fhir",
            "covered" if day >= COVER["start"] else "not_covered",
            "local",
        )
    ]


# a request that is no CoverageEligibilityRequest -> what the OperationOutcome says
NOT_REQUESTS: list[tuple[str, Any, str]] = [
    ("not JSON", b"patient=100000011", "body is not JSON"),
    ("empty", b"", "body is not JSON"),
    ("not UTF-8", b"\xff\xfe{", "body is not JSON"),
    ("a list", [], "expected a CoverageEligibilityRequest"),
    ("a Patient", {"resourceType": "Patient", "id": "1"}, "expected a CoverageEligibilityRequest"),
    (
        "no resourceType",
        {"patient": {"reference": "Patient/1"}},
        "expected a CoverageEligibilityRequest",
    ),
    ("no patient", {"resourceType": "CoverageEligibilityRequest"}, "patient is missing"),
    (
        "a Group",
        {"resourceType": "CoverageEligibilityRequest", "patient": {"reference": "Group/12"}},
        "patient.reference must be Patient/<member number>",
    ),
    (
        "a patient as text",
        {"resourceType": "CoverageEligibilityRequest", "patient": "Patient/100000011"},
        "patient is missing",
    ),
]


@pytest.mark.parametrize(("case", "body", "says"), NOT_REQUESTS, ids=[c[0] for c in NOT_REQUESTS])
async def test_fhir_refuses_what_is_not_an_eligibility_request(
    app: Starlette, client: httpx.AsyncClient, db: Session, case: str, body: Any, says: str
) -> None:
    _, key = await add_facility(app)

    response = await fhir(client, body, key)

    assert says in is_outcome(response, 400, "invalid")
    assert await logged(app, db) == []


# -- a remote register: members the gateway does not know ------------------------------

ONLY_THERE = member_number(80_000_001)  # enrolled on the register, never here
EXPIRED_THERE = member_number(80_000_002)
FAMILY_THERE = dataclasses.replace(HEAD, member_no=ONLY_THERE, given_names="Koffi")
SPOUSE_THERE = dataclasses.replace(SPOUSE, member_no=member_number(80_000_003))
EXPIRED_HEAD = dataclasses.replace(HEAD, member_no=EXPIRED_THERE, national_id="1234567891")
REGISTER_COVER = (date(2026, 7, 1), date(2027, 6, 30))


@pytest.fixture
async def peer() -> AsyncIterator[tuple[OpenImisPeer, str]]:
    """openIMIS, holding one covered family and one whose policy expired."""
    peer = OpenImisPeer()
    with serve(peer.app) as url:
        settings = OpenImisSettings(
            base_url=url,
            username="gateway",
            password="s3cret",
            officer_id=OFFICER,
            locations={"*": VILLAGE},
        )
        async with OpenImisRegister(settings) as register:
            start, end = REGISTER_COVER
            # Paid on the first day: openIMIS dates the policy's effect from the payment.
            paid = PaymentRecord("pay-there", 3150, start, "mtn_momo")
            covered = coverage(CoverageStatus.ACTIVE, start=start, end=end, payments=(paid,))
            await register.push(
                event(
                    EventKind.COVERAGE_ACTIVATED,
                    dataclasses.replace(household(FAMILY_THERE, SPOUSE_THERE), reference="HH-A"),
                    coverage=covered,
                )
            )
            expired = coverage(
                CoverageStatus.LAPSED, start=date(2025, 1, 1), end=date(2025, 12, 31)
            )
            await register.push(
                event(
                    EventKind.COVERAGE_LAPSED,
                    dataclasses.replace(household(EXPIRED_HEAD), reference="HH-B"),
                    coverage=dataclasses.replace(expired, reference="CP-2025-0007"),
                )
            )
        peer.requests.clear()
        yield peer, url


@asynccontextmanager
async def gateway_asking(
    settings: Settings, base_url: str
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """A gateway whose register is openIMIS at `base_url`, on the same database."""
    register = Settings.from_env(
        {
            "REGISTER_ADAPTER": "openimis",
            "OPENIMIS_BASE_URL": base_url,
            "OPENIMIS_USERNAME": "gateway",
            "OPENIMIS_PASSWORD": "s3cret",
            "OPENIMIS_TIMEOUT_SECONDS": "2",
            "OPENIMIS_OFFICER_UUID": OFFICER,
            "OPENIMIS_LOCATIONS": json.dumps({"*": VILLAGE}),
        }
    ).register
    remote = dataclasses.replace(settings, register=register)
    app = create_app(remote, Clock(TODAY))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield app, http


@pytest.fixture
async def remote(
    settings: Settings, peer: tuple[OpenImisPeer, str], client: httpx.AsyncClient
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, OpenImisPeer]]:
    async with gateway_asking(settings, peer[1]) as (app, http):
        yield app, http, peer[0]


@pytest.fixture
async def register_down(
    settings: Settings, client: httpx.AsyncClient
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    async with gateway_asking(settings, f"http://127.0.0.1:{free_port()}") as running:
        yield running


def eligibility_requests(peer: OpenImisPeer) -> list[str]:
    """Whom the gateway asked openIMIS about (its GraphQL list of an insuree's policies)."""
    asked = [s.body for s in peer.seen("POST", "/graphql")]
    return [b["variables"]["chfId"] for b in asked if "policiesByInsuree" in b["query"]]


async def test_a_member_only_the_register_knows_is_answered_by_it(
    remote: tuple[Starlette, httpx.AsyncClient, OpenImisPeer], db: Session
) -> None:
    app, http, peer = remote
    facility, key = await add_facility(app)

    response = await rest(http, ONLY_THERE, key)
    outcome = await fhir(http, fhir_request(ONLY_THERE), key)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "member_no": ONLY_THERE,
        "date": TODAY.isoformat(),
        "covered": True,
        "status": "covered",
        "period": {"start": "2026-07-01", "end": "2027-06-30"},
        "waiting_period_ends": None,
        "grace_period_ends": None,
        "copay_percent": None,  # the register does not say
        "ground": None,  # nor on what ground
        "first_name": None,
        "initial": None,
        "source": "register",
    }
    body = outcome.json()
    [insurance] = body["insurance"]
    assert insurance["inforce"] is True
    assert insurance["benefitPeriod"] == {"start": "2026-07-01", "end": "2027-06-30"}
    [contract] = [
        c
        for c in peer.resources("Contract")
        if c["term"][0]["asset"][0]["usePeriod"][0]["start"] == "2026-07-01"
    ]
    # The register's coverage lives on the register: the answer carries what it said of it.
    assert coverage_of(body, insurance)["identifier"] == [
        {
            "system": f"{CANONICAL}/identifiers/register-coverage",
            "value": f"Coverage/{contract['id']}",
        }
    ]
    assert body["insurer"] == {"type": "Organization", "display": "openIMIS"}
    assert copay_of(insurance) is None  # the register does not say
    assert extensions(body) == {"coverage-status": "covered", "eligibility-source": "register"}
    assert eligibility_requests(peer) == [ONLY_THERE] * 2
    assert await logged(app, db) == [
        (facility.id, ONLY_THERE, TODAY.isoformat(), "api", "covered", "register"),
        (facility.id, ONLY_THERE, TODAY.isoformat(), "fhir", "covered", "register"),
    ]


async def test_an_expired_policy_on_the_register_is_not_covered(
    remote: tuple[Starlette, httpx.AsyncClient, OpenImisPeer], db: Session
) -> None:
    app, http, _ = remote
    facility, key = await add_facility(app)

    answer = (await rest(http, EXPIRED_THERE, key)).json()
    body = (await fhir(http, fhir_request(EXPIRED_THERE), key)).json()

    assert (answer["covered"], answer["status"], answer["source"]) == (
        False,
        "not_covered",
        "register",
    )
    assert answer["period"] == {"start": "2025-01-01", "end": "2025-12-31"}
    assert body["insurance"][0]["inforce"] is False
    assert (await logged(app, db))[0] == (
        facility.id,
        EXPIRED_THERE,
        TODAY.isoformat(),
        "api",
        "not_covered",
        "register",
    )


async def test_a_member_unknown_here_and_there_is_a_404_that_says_so(
    remote: tuple[Starlette, httpx.AsyncClient, OpenImisPeer], db: Session
) -> None:
    app, http, peer = remote
    _, key = await add_facility(app)

    response = await rest(http, UNKNOWN, key)
    outcome = await fhir(http, fhir_request(UNKNOWN), key)

    assert response.status_code == 404
    assert response.json() == {
        "error": "no member with this number here or in the central register",
        "member_no": UNKNOWN,
    }
    assert UNKNOWN in is_outcome(outcome, 404, "not-found")
    assert eligibility_requests(peer) == [UNKNOWN] * 2
    assert [c[4:] for c in await logged(app, db)] == [("unknown_member", "register")] * 2


async def test_a_member_known_here_is_answered_here_without_asking_the_register(
    app: Starlette,
    client: httpx.AsyncClient,
    remote: tuple[Starlette, httpx.AsyncClient, OpenImisPeer],
    db: Session,
) -> None:
    remote_app, http, peer = remote
    head = await enrolled(app, client)  # enrolled through the other gateway process
    _, key = await add_facility(remote_app)

    answer = (await rest(http, head, key, "2027-01-10")).json()
    wrong = await rest(http, wrong_check_digit(head), key)

    assert (answer["covered"], answer["source"], answer["copay_percent"]) == (True, "local", 25)
    assert wrong.status_code == 400
    assert eligibility_requests(peer) == []


async def test_register_down_known_members_are_answered_from_local_data(
    app: Starlette,
    client: httpx.AsyncClient,
    register_down: tuple[Starlette, httpx.AsyncClient],
    db: Session,
) -> None:
    remote_app, http = register_down
    head = await enrolled(app, client)
    facility, key = await add_facility(remote_app)

    known = await rest(http, head, key, "2027-01-10")
    unknown = await rest(http, UNKNOWN, key)
    unknown_fhir = await fhir(http, fhir_request(UNKNOWN), key)

    assert known.status_code == 200
    assert (known.json()["covered"], known.json()["source"]) == (True, "local")
    assert unknown.status_code == 503 and unknown.headers["Retry-After"] == "60"
    assert "central register cannot be reached" in unknown.json()["error"]
    assert "cannot be reached" in is_outcome(unknown_fhir, 503, "transient")
    assert await logged(app, db) == [
        (facility.id, head, "2027-01-10", "api", "covered", "local"),
        (facility.id, UNKNOWN, TODAY.isoformat(), "api", "register_unavailable", "register"),
        (facility.id, UNKNOWN, TODAY.isoformat(), "fhir", "register_unavailable", "register"),
    ]


async def test_a_register_answering_errors_counts_as_down(
    remote: tuple[Starlette, httpx.AsyncClient, OpenImisPeer], db: Session
) -> None:
    app, http, peer = remote
    _, key = await add_facility(app)
    peer.fail_next(502, path="/graphql")
    peer.garble_next(path="/graphql")

    failed = await rest(http, ONLY_THERE, key)
    garbled = await fhir(http, fhir_request(ONLY_THERE), key)
    answered = await rest(http, ONLY_THERE, key)

    assert failed.status_code == 503
    is_outcome(garbled, 503, "transient")
    assert answered.status_code == 200 and answered.json()["source"] == "register"
    assert [c[4] for c in await logged(app, db)] == ["register_unavailable"] * 2 + ["covered"]


# -- a desk phone: USSD ------------------------------------------------------------------


async def desk_check(http: httpx.AsyncClient, number: str, phone: str = DESK) -> list[str]:
    """Every screen of a desk phone's check, from the dial to the answer."""
    desk = Phone(http, phone)
    screens = [await desk.dial()]
    if "Choisissez la langue" in screens[-1]:
        screens.append(await desk.type("1"))
    assert "6. Vérifier un patient" in screens[-1], screens  # the same number on every desk
    screens.append(await desk.type("6"))
    screens.append(await desk.type(number))
    for screen in screens:
        assert screen.startswith(("CON ", "END ")), screen
        assert gsm.fits(screen, 160), screen
    return screens


# What follows every answer: the desk checks patient after patient in one call.
NEXT = "1. Vérifier un autre patient\n0. Quitter"

# days after the payment (None: not paid) -> the last screen's lines after the patient's
USSD_ANSWERS: list[tuple[int | None, list[str]]] = [
    (None, ["NON COUVERT: cotisation non payée."]),
    (0, ["NON COUVERT: délai avant les soins jusqu'au 22/12/2026."]),
    (30, ["COUVERT jusqu'au 22/12/2027.", "Part à payer au centre: 25%"]),
    (400, ["COUVERT jusqu'au 21/01/2028.", "Part à payer au centre: 25%"]),  # grace: until it ends
    (425, ["NON COUVERT: droits fermés."]),
]


@pytest.mark.parametrize(("days", "lines"), USSD_ANSWERS)
async def test_a_desk_phone_checks_a_patient_by_ussd(
    app: Starlette,
    client: httpx.AsyncClient,
    clock: Clock,
    db: Session,
    days: int | None,
    lines: list[str],
) -> None:
    facility, _ = await add_facility(app, [DESK])
    head = await enrolled(app, client, paid=days is not None)
    clock.day = TODAY + timedelta(days=days or 0)

    screens = await desk_check(client, head)

    assert screens[-2] == "CON Numéro de membre du patient (9 chiffres):\n0 Retour"
    shown = screens[-1].split("\n")
    assert shown[0] == f"CON Kpadé D. ({head})"
    assert len(shown) == len(lines) + 3
    assert all(line.startswith(start) for line, start in zip(shown[1:-2], lines, strict=True))
    assert "\n".join(shown[-2:]) == NEXT
    outcome = "covered" if "COUVERT jusqu" in lines[0] else "not_covered"
    assert await logged(app, db) == [
        (facility.id, head, clock.day.isoformat(), "ussd", outcome, "local")
    ]


async def test_a_desk_phone_is_told_of_unknown_and_mistyped_numbers(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    facility, _ = await add_facility(app, [DESK])
    head = await enrolled(app, client, paid=False)

    unknown = await desk_check(client, UNKNOWN)
    mistyped = await desk_check(client, wrong_check_digit(head))
    short = await desk_check(client, head[:8])

    assert unknown[-1] == f"CON Numéro {UNKNOWN} inconnu.\n{NEXT}"
    assert mistyped[-1].startswith("CON Numéro incorrect: vérifiez les chiffres.")
    assert short[-1].startswith("CON Le numéro de membre a 9 chiffres.")
    # Numbers the phone refused itself are not checks.
    assert await logged(app, db) == [
        (facility.id, UNKNOWN, TODAY.isoformat(), "ussd", "unknown_member", "local")
    ]


async def test_a_patient_name_outside_gsm_keeps_the_screen_whole(
    app: Starlette, client: httpx.AsyncClient, clock: Clock, db: Session
) -> None:
    await add_facility(app, [DESK])
    head = await enrolled(app, client)
    db.execute(
        text("UPDATE members SET first_names = :names WHERE member_no = :no"),
        {"names": "Ɖɔkɔnɔmɛvi Sɛnami", "no": head},
    )
    db.commit()
    clock.day = date(2027, 1, 10)

    screens = await desk_check(client, head)

    assert gsm.is_gsm7(screens[-1]), screens[-1]
    assert screens[-1].endswith(
        f"COUVERT jusqu'au 22/12/2027.\nPart à payer au centre: 25%\n{NEXT}"
    )


async def test_other_phones_never_see_the_facility_check(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_facility(app, [DESK])
    await enrolled(app, client)  # OWNER has a household: straight to the menu

    stranger = Phone(client, STRANGER)
    first = await stranger.dial()
    home = await stranger.type("1")
    owner_home = await Phone(client, OWNER).dial()

    assert first.startswith("CON Choisissez la langue")
    for screen in (home, owner_home):
        assert screen.startswith("CON ") and "patient" not in screen, screen
    assert "1. Adhérer" in home and "6." not in home


async def test_a_revoked_facilitys_desk_phone_loses_the_check(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_facility(app, [DESK])
    desk = Phone(client, DESK)
    await desk.dial()
    assert "Vérifier un patient" in await desk.type("1")

    await part(app, Register).facilities.revoke("CS-PKU", by="cli:test")
    part(app, Ussd).service.callers.forget_known_phones()
    home = await desk.dial()  # its language is kept: straight to the menu

    assert home.startswith("CON Mutuelle de santé") and "Vérifier un patient" not in home
    assert (await desk.type("6")).startswith("CON Réservé aux téléphones des centres de santé.")


async def test_a_desk_phone_is_told_the_register_answered(
    remote: tuple[Starlette, httpx.AsyncClient, OpenImisPeer], db: Session
) -> None:
    app, http, _ = remote
    await add_facility(app, [DESK])

    covered = await desk_check(http, ONLY_THERE)
    unknown = await desk_check(http, UNKNOWN)

    # The register gives neither a name nor a co-payment: none is made up.
    assert covered[-1] == "\n".join(
        [
            f"CON {ONLY_THERE}",
            "COUVERT jusqu'au 30/06/2027.",
            "(réponse du registre central)",
            NEXT,
        ]
    )
    assert unknown[-1] == f"CON Numéro {UNKNOWN} inconnu.\n{NEXT}"
    assert [c[3:] for c in await logged(app, db)] == [
        ("ussd", "covered", "register"),
        ("ussd", "unknown_member", "register"),
    ]


async def test_a_desk_phone_is_told_when_the_register_is_down(
    register_down: tuple[Starlette, httpx.AsyncClient], db: Session
) -> None:
    app, http = register_down
    await add_facility(app, [DESK])

    screens = await desk_check(http, UNKNOWN)

    assert screens[-1] == (
        f"CON Numéro inconnu ici et registre central injoignable. Réessayez plus tard.\n{NEXT}"
    )
    assert [c[3:] for c in await logged(app, db)] == [("ussd", "register_unavailable", "register")]


# -- a desk phone: SMS -----------------------------------------------------------------

# What follows every answer: the desk checks patient after patient in one call.
NEXT = "1. Vérifier un autre patient\n0. Quitter"

# days after the payment (None: not paid) -> the reply's template and words (after "who: ")
SMS_ANSWERS: list[tuple[int | None, str, str]] = [
    (None, "verif_pending_payment", "NON COUVERT, cotisation non payée."),
    (10, "verif_waiting", "NON COUVERT, délai avant les soins jusqu'au 22/12/2026."),
    (30, "verif_covered", "COUVERT jusqu'au 22/12/2027. Part à payer au centre: 25%."),
    (400, "verif_covered", "COUVERT jusqu'au 21/01/2028. Part à payer au centre: 25%."),  # grace
    (425, "verif_lapsed", "NON COUVERT, droits fermés."),
]


@pytest.mark.parametrize(("days", "template", "says"), SMS_ANSWERS)
async def test_verif_from_a_desk_phone(
    app: Starlette,
    client: httpx.AsyncClient,
    clock: Clock,
    db: Session,
    days: int | None,
    template: str,
    says: str,
) -> None:
    facility, _ = await add_facility(app, [DESK])
    head = await enrolled(app, client, paid=days is not None)
    clock.day = TODAY + timedelta(days=days or 0)

    assert await texts(client, DESK, f"VERIF {head}") == "verify"

    assert one_reply(db, DESK) == Reply(template, "fr", f"Kpadé D. ({head}): {says}")
    outcome = "covered" if template == "verif_covered" else "not_covered"
    assert await logged(app, db) == [
        (facility.id, head, clock.day.isoformat(), "sms", outcome, "local")
    ]


# what the desk texts (from the head's number) -> the reply's template, language and words
SMS_OTHERS: list[tuple[str, str, str, str]] = [
    ("VERIF {unknown}", "reply_unknown_member", "fr", "Le numéro de membre {unknown} est inconnu"),
    ("verif {wrong}", "reply_bad_member_no", "fr", "Le numéro {wrong} n'est pas valide"),
    ("VERIF 1234", "reply_bad_member_no", "fr", "Le numéro 1234 n'est pas valide"),
    ("VERIF", "reply_bad_member_no", "fr", "Le numéro ? n'est pas valide"),
    ("Vérifier {spaced}", "verif_pending_payment", "fr", "Kpadé D. ({head}): NON COUVERT"),
    ("VERIFY {head}", "verif_pending_payment", "en", "Kpadé D. ({head}): NOT COVERED"),
]


@pytest.mark.parametrize(("words", "template", "language", "says"), SMS_OTHERS)
async def test_verif_of_numbers_that_cannot_be_answered_and_other_spellings(
    app: Starlette,
    client: httpx.AsyncClient,
    db: Session,
    words: str,
    template: str,
    language: str,
    says: str,
) -> None:
    facility, _ = await add_facility(app, [DESK])
    head = await enrolled(app, client, paid=False)
    values = {
        "head": head,
        "unknown": UNKNOWN,
        "wrong": wrong_check_digit(head),
        "spaced": f"{head[:3]} {head[3:6]} {head[6:]}",
    }

    await texts(client, DESK, words.format(**values))

    reply = one_reply(db, DESK)
    assert (reply.template, reply.language) == (template, language)
    assert says.format(**values) in reply.text
    [check] = await logged(app, db)
    assert check[0] == facility.id and check[3] == "sms"


@pytest.mark.parametrize("sender", [STRANGER, OWNER])
async def test_verif_from_a_phone_of_no_facility(
    app: Starlette, client: httpx.AsyncClient, db: Session, sender: str
) -> None:
    await add_facility(app, [DESK])
    head = await enrolled(app, client)

    await texts(client, sender, f"VERIF {head}")

    reply = one_reply(db, sender)
    assert reply.template == "verif_not_a_facility"
    assert reply.text.startswith("VERIF est réservé aux centres de santé enregistrés.")
    assert head not in reply.text
    assert await logged(app, db) == []


async def test_verif_from_a_revoked_facilitys_desk(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    await add_facility(app, [DESK])
    head = await enrolled(app, client)
    await part(app, Register).facilities.revoke("CS-PKU", by="cli:test")

    await texts(client, DESK, f"VERIF {head}")

    assert one_reply(db, DESK).template == "verif_not_a_facility"
    assert await logged(app, db) == []


async def test_a_retried_verif_is_answered_and_logged_once(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    await add_facility(app, [DESK])
    head = await enrolled(app, client)

    await texts(client, DESK, f"VERIF {head}", provider_id="ATXid_verif_1")
    assert await texts(client, DESK, f"VERIF {head}", provider_id="ATXid_verif_1") == "duplicate"

    assert len(replies(db, DESK)) == 1
    assert len(await logged(app, db)) == 1


async def test_verif_of_a_member_only_the_register_knows(
    remote: tuple[Starlette, httpx.AsyncClient, OpenImisPeer], db: Session
) -> None:
    app, http, _ = remote
    await add_facility(app, [DESK])

    await texts(http, DESK, f"VERIF {ONLY_THERE}")
    await texts(http, DESK, f"VERIF {EXPIRED_THERE}")

    covered, expired = replies(db, DESK)
    # No name from the register, and no co-payment made up.
    assert covered == Reply(
        "verif_covered",
        "fr",
        f"{ONLY_THERE}: COUVERT jusqu'au 30/06/2027. Part à payer au centre: ?%.",
    )
    assert expired == Reply("verif_not_covered", "fr", f"{EXPIRED_THERE}: NON COUVERT.")
    assert [c[3:] for c in await logged(app, db)] == [
        ("sms", "covered", "register"),
        ("sms", "not_covered", "register"),
    ]


async def test_verif_when_the_register_is_down(
    register_down: tuple[Starlette, httpx.AsyncClient], db: Session
) -> None:
    app, http = register_down
    await add_facility(app, [DESK])

    await texts(http, DESK, f"VERIF {UNKNOWN}")

    assert one_reply(db, DESK).template == "verif_register_down"
    assert [c[3:] for c in await logged(app, db)] == [("sms", "register_unavailable", "register")]
