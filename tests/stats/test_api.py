"""The statistics API against a known data set: figures worked out by hand below, and
cross-checked with plain SQL; who may see what; what a bad filter gets.

The data set (TODAY is Monday 2026-11-23; FAMILLE is 1,575 XOF a person, SCOLAIRE 350):

    household  mutual      product   persons channel agent  enrolled    status now
    A          MS-PARAKOU  FAMILLE   3       ussd    -      2026-11-02  waiting (paid 4725 cash)
    B          MS-PARAKOU  FAMILLE   2       agent   Awa    2026-11-10  pending (paid 1000 cash)
    C          MS-PARAKOU  SCOLAIRE  1       import  -      2026-11-20  pending (nothing paid)
    D          MS-NDALI    FAMILLE   4       ussd    -      2026-10-05  active (6300 by momo),
                                                                        renewing a 2025 year
    E          MS-KANDI    FAMILLE   2       agent   Bio    2025-06-01  lapsed (nothing paid)
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.values import StaffRole
from gateway.enrolment.service import EnrolmentService
from gateway.payments.capability import Payments
from gateway.staff.sessions import COOKIE, StaffSessions
from gateway.stats import routes as stats_routes
from tests.support.gateway import part, shared
from tests.support.households import enrol_household

ZONE = ZoneInfo("Africa/Porto-Novo")


def at(day: str, hour: int = 10) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour), ZONE)


@dataclass(frozen=True)
class Staff:
    """A logged-in staff member's HTTP client, as the dashboard's browser would be."""

    http: httpx.AsyncClient

    async def get(self, name: str, **query: str) -> httpx.Response:
        return await self.http.get(f"/api/v1/stats/{name}", params=query)

    async def figures(self, name: str, **query: str) -> dict[str, Any]:
        response = await self.get(name, **query)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
async def login(app: Starlette, db: Session, clean: None) -> AsyncIterator[Any]:
    """`await login(role, unit_code)`: a client with that staff member's session cookie."""
    clients: list[httpx.AsyncClient] = []

    async def open_as(role: str, unit: str | None = None) -> Staff:
        unit_id = db.scalar(select(models.SchemeUnit.id).where(models.SchemeUnit.code == unit))
        account = models.StaffAccount(
            email=f"{uuid.uuid4().hex[:8]}@alafia.invalid",
            role=role,
            scope_unit_id=unit_id,
            password_hash="not used here",
            created_at=at("2026-11-01"),
        )
        db.add(account)
        db.commit()
        token, _ = await StaffSessions(shared(app).redis).open(account.id)
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="https://gateway.test",
            headers={"Cookie": f"{COOKIE}={token}"},
        )
        clients.append(http)
        return Staff(http)

    yield open_as
    for http in clients:
        await http.aclose()


def _household_id(db: Session, phone: str) -> int:
    found = db.scalar(select(models.Household.id).where(models.Household.phone == phone))
    assert found is not None
    return found


async def _agent(db: Session, name: str, mutual: str, phone: str) -> int:
    mutual_id = db.scalar(select(models.SchemeUnit.id).where(models.SchemeUnit.code == mutual))
    agent = models.Agent(phone=phone, name=name, mutual_id=mutual_id, created_at=at("2025-01-01"))
    db.add(agent)
    db.commit()
    return agent.id


@pytest.fixture
async def known(app: Starlette, db: Session, enrolment: EnrolmentService, clean: None) -> None:
    """The data set of the module docstring, built through enrolment and billing, then
    moved in time and spread over channels and agents the way months of use would."""
    billing = part(app, Payments).ledger
    awa = await _agent(db, "Awa", "MS-PARAKOU", "+2290197100001")
    bio = await _agent(db, "Bio", "MS-KANDI", "+2290197100002")
    await _agent(db, "Chabi", "MS-NDALI", "+2290197100003")  # registered nobody yet
    spec = {
        # phone suffix: mutual, product, persons, channel, agent, enrolled
        "A": ("MS-PARAKOU", "FAMILLE", 3, "ussd", None, "2026-11-02"),
        "B": ("MS-PARAKOU", "FAMILLE", 2, "agent", awa, "2026-11-10"),
        "C": ("MS-PARAKOU", "SCOLAIRE", 1, "import", None, "2026-11-20"),
        "D": ("MS-NDALI", "FAMILLE", 4, "ussd", None, "2026-10-05"),
        "E": ("MS-KANDI", "FAMILLE", 2, "agent", bio, "2025-06-01"),
    }
    heads: dict[str, str] = {}
    ids: dict[str, int] = {}
    for n, (key, (mutual, product, persons, channel, agent, day)) in enumerate(spec.items()):
        phone = f"+22901970007{n:02d}"
        heads[key] = await enrol_household(
            enrolment,
            phone,
            persons=persons,
            mutual=mutual,
            product=product,
            day=date.fromisoformat(day),
        )
        ids[key] = household = _household_id(db, phone)
        db.execute(
            update(models.Household)
            .where(models.Household.id == household)
            .values(channel=channel, agent_id=agent, created_at=at(day))
        )
        db.execute(
            update(models.Member)
            .where(models.Member.household_id == household)
            .values(agent_id=agent, created_at=at(day))
        )
        db.commit()
    # Socio-professional groups: A's head farms, its second member trades; D's are farmers.
    for key, occupations in {"A": ["farmer", "trader"], "D": ["farmer"] * 4}.items():
        member_ids = db.scalars(
            select(models.Member.id)
            .where(models.Member.household_id == ids[key])
            .order_by(models.Member.id)
        ).all()
        for member_id, occupation in zip(member_ids, occupations, strict=False):
            db.execute(
                update(models.Member)
                .where(models.Member.id == member_id)
                .values(occupation=occupation)
            )
    db.commit()

    db.commit()
    await billing.record_cash(heads["A"], 4725, "Afi")
    await billing.record_cash(heads["B"], 1000, "Jean")
    await billing.record_cash(heads["D"], 6300, "Marc")
    for key, settled, provider, channel, agent in (
        ("A", "2026-11-03", "cash", "agent", awa),
        ("B", "2026-11-12", "cash", "agent", awa),
        ("D", "2026-10-06", "momo", "ussd", None),
    ):
        db.execute(
            update(models.Payment)
            .where(models.Payment.household_id == ids[key])
            .values(settled_at=at(settled, 12), provider=provider, channel=channel, agent_id=agent)
        )
    b_period = db.scalar(
        select(models.CoveragePeriod.id).where(models.CoveragePeriod.household_id == ids["B"])
    )
    db.add(  # a mobile-money attempt that failed: never counted as collected
        models.Payment(
            reference=str(uuid.uuid4()),
            household_id=ids["B"],
            period_id=b_period,
            provider="momo",
            amount=2150,
            currency="XOF",
            status="failed",
            channel="ussd",
            created_at=at("2026-11-12"),
            settled_at=at("2026-11-12", 13),
        )
    )
    # Months later: D's cover started, E's lapsed; D renews a 2025 year it paid in full.
    for key, status in (("D", "active"), ("E", "lapsed")):
        db.execute(
            update(models.CoveragePeriod)
            .where(models.CoveragePeriod.household_id == ids[key])
            .values(status=status)
        )
    db.add(
        models.CoveragePeriod(
            household_id=ids["D"],
            product_id=db.scalar(select(models.Product.id).where(models.Product.code == "FAMILLE")),
            starts_on=date(2025, 10, 1),
            persons=4,
            premium_due=6300,
            amount_paid=6300,
            paid_in_full_on=date(2025, 10, 1),
            waiting_days=30,
            cover_months=12,
            grace_days=30,
            status="lapsed",
        )
    )
    db.execute(text("DELETE FROM messages"))
    for household, status, delivery, purpose in (
        (ids["A"], "delivered", "Success", "confirmation"),
        (ids["E"], "undelivered", "Failed", "reminder"),
        (None, "sent", None, "reply"),  # to a stranger's number
    ):
        db.add(
            models.Message(
                household_id=household,
                phone="+2290197000999",
                language="fr",
                purpose=purpose,
                template="t",
                params={},
                text="...",
                encoding="gsm7",
                segments=1,
                status=status,
                delivery_status=delivery,
                not_before=at("2026-11-05"),
                created_at=at("2026-11-05"),
            )
        )
    db.commit()


def by_key(rows: list[dict[str, Any]], *fields: str) -> dict[str, Any]:
    if len(fields) == 1:
        return {row["key"]: row[fields[0]] for row in rows}
    return {row["key"]: tuple(row[f] for f in fields) for row in rows}


def sql(db: Session, query: str, **params: Any) -> Any:
    db.rollback()  # a fresh snapshot: the API wrote through its own connections
    return db.execute(text(query), params).scalar()


async def test_enrolment_of_the_whole_scheme(known: None, login: Any, db: Session) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    figures = await admin.figures("enrolment")

    assert (figures["households"], figures["persons"]) == (5, 12)
    assert by_key(figures["by_mutual"], "households", "persons") == {
        "MS-PARAKOU": (3, 6),
        "MS-NDALI": (1, 4),
        "MS-KANDI": (1, 2),
    }
    assert by_key(figures["by_commune"], "households", "persons") == {
        "Parakou": (3, 6),
        "N'Dali": (1, 4),
        "Kandi": (1, 2),
    }
    assert by_key(figures["by_product"], "households", "persons") == {
        "FAMILLE": (4, 11),
        "SCOLAIRE": (1, 1),
    }
    assert by_key(figures["by_channel"], "households", "persons") == {
        "ussd": (2, 7),
        "agent": (2, 4),
        "import": (1, 1),
    }
    assert by_key(figures["by_occupation"], "persons") == {
        "farmer": 5,
        "trader": 1,
        "unknown": 6,
    }
    assert figures["persons"] == sql(db, "SELECT COUNT(*) FROM members")
    assert by_key(figures["by_mutual"], "persons")["MS-PARAKOU"] == sql(
        db,
        "SELECT COUNT(*) FROM members m JOIN households h ON h.id = m.household_id"
        " JOIN scheme_units u ON u.id = h.mutual_id WHERE u.code = 'MS-PARAKOU'",
    )


async def test_filters_narrow_the_enrolment(known: None, login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    november = await admin.figures("enrolment", **{"from": "2026-11-01", "to": "2026-11-30"})
    agents_in_parakou = await admin.figures("enrolment", mutual="MS-PARAKOU", channel="agent")
    school = await admin.figures("enrolment", product="SCOLAIRE")
    kandi = await admin.figures("enrolment", commune="Kandi")
    last_day = await admin.figures("enrolment", **{"from": "2026-11-02", "to": "2026-11-02"})

    assert (november["households"], november["persons"]) == (3, 6)
    assert (agents_in_parakou["households"], agents_in_parakou["persons"]) == (1, 2)
    assert (school["households"], school["persons"]) == (1, 1)
    assert (kandi["households"], kandi["persons"]) == (1, 2)
    assert (last_day["households"], last_day["persons"]) == (1, 3)
    assert november["filters"]["from"] == "2026-11-01"


async def test_coverage_status_and_renewals(known: None, login: Any, db: Session) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    figures = await admin.figures("coverage")

    assert figures["households"] == 5
    assert figures["households_by_status"] == {
        "pending_payment": 2,
        "waiting": 1,
        "active": 1,
        "grace": 0,
        "lapsed": 1,
        "cancelled": 0,
    }
    assert figures["persons_by_status"]["pending_payment"] == 3
    assert figures["persons_by_status"]["active"] == 4
    assert {row["key"]: row["active"] for row in figures["by_mutual"]}["MS-NDALI"] == 1
    # Five first years (A, B, C, E, D in 2025) and D's renewal.
    assert figures["periods_opened"] == {"first": 5, "renewals": 1}
    # The older lapsed year of D is not its state now: only E is lapsed.
    assert sql(db, "SELECT COUNT(*) FROM coverage_periods WHERE status = 'lapsed'") == 2


SCHOOL = 262


async def test_collection(known: None, login: Any, db: Session) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    figures = await admin.figures("collection")
    november = await admin.figures("collection", **{"from": "2026-11-01", "to": "2026-11-30"})

    # The pupil joined SCOLAIRE in November: 9 of the school year's 12 months at 350.
    due = 4725 + 3150 + SCHOOL + 6300 + 6300 + 3150
    paid = 4725 + 1000 + 6300 + 6300
    premiums = figures["premiums"]
    assert (premiums["premium_due"], premiums["premium_paid"]) == (due, paid)
    assert premiums["collection_rate"] == round(paid / due, 4)
    assert due == sql(db, "SELECT SUM(premium_due) FROM coverage_periods")
    assert by_key(figures["premiums_by_product"], "premium_due") == {
        "FAMILLE": due - SCHOOL,
        "SCOLAIRE": SCHOOL,
    }
    assert by_key(figures["premiums_by_mutual"], "premium_paid") == {
        "MS-PARAKOU": 5725,
        "MS-NDALI": 12600,
        "MS-KANDI": 0,
    }
    # Money received: three payments, the failed attempt left out.
    assert (figures["collected"]["payments"], figures["collected"]["amount"]) == (3, 12025)
    assert by_key(figures["collected_by_provider"], "amount") == {"cash": 5725, "momo": 6300}
    assert by_key(figures["collected_by_channel"], "payments") == {"agent": 2, "ussd": 1}
    assert sql(db, "SELECT SUM(amount) FROM payments WHERE status = 'succeeded'") == 12025
    # November: the cover years A, B, C opened, the cash settled then.
    assert november["premiums"]["premium_due"] == 4725 + 3150 + SCHOOL
    assert november["collected"]["amount"] == 5725


async def test_timeseries_per_day_and_week(known: None, login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    days = await admin.figures("timeseries", **{"from": "2026-11-01", "to": "2026-11-30"})
    weeks = await admin.figures(
        "timeseries", **{"from": "2026-11-01", "to": "2026-11-30", "interval": "week"}
    )
    default = await admin.figures("timeseries")

    per_day = {row["start"]: row for row in days["series"]}
    assert len(per_day) == 30
    assert per_day["2026-11-02"]["households"] == 1
    assert per_day["2026-11-02"]["persons"] == 3
    assert per_day["2026-11-03"]["collected"] == 4725
    assert per_day["2026-11-12"]["payments"] == 1
    assert sum(row["households"] for row in days["series"]) == 3
    assert per_day["2026-11-04"] == {
        "start": "2026-11-04",
        "households": 0,
        "persons": 0,
        "payments": 0,
        "collected": 0,
    }
    per_week = {row["start"]: row for row in weeks["series"]}
    # Weeks start on Monday; the first and the last are cut to the period.
    assert list(per_week) == [
        "2026-10-26",
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
        "2026-11-23",
        "2026-11-30",
    ]
    assert per_week["2026-11-02"]["collected"] == 4725
    assert per_week["2026-11-09"]["households"] == 1
    assert per_week["2026-11-16"]["households"] == 1
    # Without a period: the last 30 days up to today.
    assert default["series"][-1]["start"] == "2026-11-23"
    assert len(default["series"]) == 30


async def test_agents(known: None, login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)
    manager = await login(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")

    everyone = {row["name"]: row for row in (await admin.figures("agents"))["agents"]}
    parakou = (await manager.figures("agents"))["agents"]

    assert everyone["Awa"] | {"agent_id": 0} == {
        "agent_id": 0,
        "name": "Awa",
        "mutual": "MS-PARAKOU",
        "households": 1,
        "members": 2,
        "cash_payments": 2,
        "cash_collected": 5725,
    }
    assert (everyone["Bio"]["households"], everyone["Bio"]["cash_collected"]) == (1, 0)
    assert (everyone["Chabi"]["households"], everyone["Chabi"]["members"]) == (0, 0)
    assert [row["name"] for row in parakou] == ["Awa"]
    # A viewer learns which agent, not who.
    viewer = await login(StaffRole.VIEWER, "ZS-PARAKOU")
    seen = {row["agent_id"]: row["name"] for row in (await viewer.figures("agents"))["agents"]}
    assert seen[everyone["Awa"]["agent_id"]] == f"A. #{everyone['Awa']['agent_id']}"


async def test_sms(known: None, login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)
    manager = await login(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")

    everything = await admin.figures("sms")
    parakou = await manager.figures("sms")

    assert everything["messages"] == 3
    assert everything["by_status"] == {"delivered": 1, "sent": 1, "undelivered": 1}
    assert everything["by_delivery_status"] == {"Failed": 1, "Success": 1, "none": 1}
    assert everything["by_purpose"]["reply"] == 1
    assert (parakou["messages"], parakou["by_status"]) == (1, {"delivered": 1})


async def test_overview(known: None, login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    figures = await admin.figures("overview")

    assert (figures["households"], figures["persons"]) == (5, 12)
    assert figures["households_by_status"]["active"] == 1
    assert figures["premiums"]["premium_paid"] == 18325
    assert figures["collected"]["amount"] == 12025
    assert figures["scope"] is None


async def test_a_manager_sees_their_mutual_only(known: None, login: Any) -> None:
    manager = await login(StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")

    own = await manager.figures("enrolment")
    named = await manager.figures("enrolment", mutual="MS-PARAKOU")
    other = await manager.get("enrolment", mutual="MS-KANDI")
    collection = await manager.figures("collection")

    assert (own["households"], own["persons"]) == (3, 6)
    assert [row["key"] for row in own["by_mutual"]] == ["MS-PARAKOU"]
    assert named["households"] == 3
    assert own["scope"] == "RMS-BJ/ZS-PARAKOU/MS-PARAKOU"
    assert other.status_code == 403
    assert "MS-KANDI" in other.json()["error"]
    assert collection["collected"]["amount"] == 5725


async def test_a_viewer_sees_their_zone(known: None, login: Any) -> None:
    viewer = await login(StaffRole.VIEWER, "ZS-PARAKOU")

    figures = await viewer.figures("coverage")
    kandi = await viewer.get("coverage", mutual="MS-KANDI")

    assert figures["households"] == 4
    assert figures["households_by_status"]["lapsed"] == 0
    assert kandi.status_code == 403


ENDPOINT_NAMES = [endpoint.name for endpoint in stats_routes.ENDPOINTS]


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
async def test_without_a_session_every_figure_is_refused(
    name: str, app: Starlette, clean: None
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://gateway.test") as http:
        anonymous = await http.get(f"/api/v1/stats/{name}")
        forged = await http.get(
            f"/api/v1/stats/{name}", headers={"Cookie": f"{COOKIE}=not-a-session"}
        )

    assert (anonymous.status_code, forged.status_code) == (401, 401)


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
async def test_every_figure_answers_on_an_empty_scheme(name: str, login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    assert (await admin.get(name)).status_code == 200


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"from": "2026-13-01"}, "from must be a date"),
        ({"to": "yesterday"}, "to must be a date"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "from must be on or before to"),
        ({"channel": "sms"}, "channel must be one of"),
        ({"interval": "month"}, "interval must be one of"),
        ({"mutual": "MS-NOWHERE"}, "no mutual with code MS-NOWHERE"),
        ({"mutual": "ZS-PARAKOU"}, "no mutual with code ZS-PARAKOU"),
        ({"mutual": "MS PARAKOU; --"}, "mutual must be a code"),
        ({"product": "GOLD"}, "no product with code GOLD"),
        ({"commune": "x" * 61}, "commune is at most 60"),
        ({"mutul": "MS-PARAKOU"}, "unknown parameter(s): mutul"),
        ({"to": "9999-12-31"}, "to must be between 2000 and 2100"),
        ({"from": "0001-01-05"}, "from must be between 2000 and 2100"),
    ],
)
async def test_bad_filters_are_refused_with_the_reason(
    login: Any, query: dict[str, str], reason: str
) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    response = await admin.get("enrolment", **query)

    assert response.status_code == 400
    assert reason in response.json()["error"]


async def test_a_time_series_has_a_limit(login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    days = await admin.get("timeseries", **{"from": "2020-01-01", "to": "2026-11-23"})
    weeks = await admin.get(
        "timeseries", **{"from": "2020-01-01", "to": "2026-11-23", "interval": "week"}
    )

    assert days.status_code == 400
    assert "at most 400 days" in days.json()["error"]
    assert weeks.status_code == 200


async def test_the_funnel_is_not_broken_down_by_commune(login: Any) -> None:
    admin = await login(StaffRole.CENTRAL_ADMIN)

    response = await admin.get("funnel", commune="Parakou")

    assert response.status_code == 400
    assert "not broken down by commune" in response.json()["error"]


async def test_the_openapi_document_describes_every_stats_route(app: Starlette) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://gateway.test") as http:
        document = (await http.get("/api/v1/openapi.json")).json()

    served = {
        route.path
        for route in app.routes
        if getattr(route, "path", "").startswith("/api/v1/stats/")
    }
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == served
    assert len(served) == len(ENDPOINT_NAMES)
    for path, item in document["paths"].items():
        operation = item["get"]
        assert {"200", "400", "401", "403"} <= set(operation["responses"]), path
        assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "mutual"}
        assert operation["description"], path


async def test_the_documented_fields_are_the_returned_ones(known: None, login: Any) -> None:
    """The top-level fields of every answer are exactly those its schema lists."""
    admin = await login(StaffRole.CENTRAL_ADMIN)
    document = (await admin.http.get("/api/v1/openapi.json")).json()

    for name in ENDPOINT_NAMES:
        schema = document["paths"][f"/api/v1/stats/{name}"]["get"]["responses"]["200"]
        properties = schema["content"]["application/json"]["schema"]["properties"]
        assert set(await admin.figures(name)) == set(properties), name
