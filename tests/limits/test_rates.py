"""Rate limits shared by every process through Redis: member checks per phone (USSD and
SMS together), eligibility per facility key (429 with Retry-After), payment prompts per
payer number. Windows are moved with the gateway's injected clock, never waited for."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.redis import connect
from gateway.app import create_app
from gateway.limits.rates import RateLimiter
from gateway.payments.capability import Payments
from gateway.register.capability import Register
from gateway.settings import ConfigError, Rate, Settings
from gateway.ussd.capability import Ussd
from menus.identifiers import member_number
from tests.conftest import Clock
from tests.register.test_eligibility import DESK, desk_check, enrolled
from tests.support.clock import Now
from tests.support.gateway import part

SMS_FORM = {"to": "22020", "linkId": "L1", "date": "2026-11-23 09:20:11", "networkCode": "61603"}


@dataclasses.dataclass
class Instance:
    app: Starlette
    http: httpx.AsyncClient


# MoMo configured (never called: no worker runs here), so that payments can start.
MOMO = {
    "PAYMENT_PROVIDER": "momo",
    "PUBLIC_BASE_URL": "https://gateway.example.org",
    "MOMO_BASE_URL": "http://127.0.0.1:9",
    "MOMO_SUBSCRIPTION_KEY": "key",
    "MOMO_API_USER": "0b7c6a2e-64a7-4c1c-9a55-8c2b1f5e2d10",
    "MOMO_API_KEY": "key",
    "MOMO_TARGET_ENVIRONMENT": "mtnbenin",
    "MOMO_CURRENCY": "XOF",
}


@asynccontextmanager
async def instances(
    settings: Settings, now: Now, count: int = 2, paying: bool = False, **rates: Rate
) -> AsyncIterator[list[Instance]]:
    """`count` gateways, as `count` server processes would be: one database, one Redis,
    each its own pools and limiter; `rates` replace the default limits."""
    limited = dataclasses.replace(settings, limits=dataclasses.replace(settings.limits, **rates))
    if paying:
        limited = dataclasses.replace(limited, payments=Settings.from_env(MOMO).payments)
    async with AsyncExitStack() as stack:
        found = []
        for _ in range(count):
            app = create_app(limited, Clock(), now=now)
            await stack.enter_async_context(app.router.lifespan_context(app))
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
            )
            found.append(Instance(app, http))
        yield found


async def add_facility(app: Starlette, phones: list[str]) -> str:
    _, key = await part(app, Register).facilities.add("CS-PKU", "CS Parakou", phones, by="test")
    part(app, Ussd).service.callers.forget_known_phones()
    return key


# -- the counter itself ------------------------------------------------------------------


async def test_two_processes_never_both_take_the_last_use(settings: Settings, clean: None) -> None:
    assert settings.redis_url is not None
    now = Now()
    clients = [connect(settings.redis_url, 20, 2.0) for _ in range(2)]
    limiters = [RateLimiter(client, now) for client in clients]
    rate = Rate(limit=20, window=60)
    verdicts = await asyncio.gather(
        *(limiters[i % 2].check("race", rate, "+2290197000001", 1) for i in range(60))
    )
    assert sum(v.allowed for v in verdicts) == 20
    for client in clients:
        await client.aclose()


async def test_the_window_opens_at_the_first_use_and_moves_with_the_clock(
    settings: Settings, clean: None
) -> None:
    assert settings.redis_url is not None
    now = Now()
    redis = connect(settings.redis_url, 4, 2.0)
    refused: list[str] = []
    limit = RateLimiter(redis, now, on_refusal=refused.append).limit("walk", Rate(2, 60))
    assert (await limit.hit("a")).allowed
    now.later(seconds=30)
    assert (await limit.hit("a")).allowed
    third = await limit.hit("a")
    assert third.refused and third.retry_after == 30  # the window opened 30 s ago
    assert (await limit.hit("b")).allowed  # another subject counts apart
    assert refused == ["walk"]
    now.later(seconds=30)
    assert (await limit.hit("a")).allowed
    await redis.aclose()


async def test_without_redis_a_limit_lets_the_use_through() -> None:
    redis = connect("redis://127.0.0.1:9/0", 2, 0.5)  # nothing listens there
    verdict = await RateLimiter(redis, Now()).check("down", Rate(1, 60), "x", 1)
    assert verdict.allowed
    await redis.aclose()


# -- eligibility per facility key ----------------------------------------------------------


async def test_a_facility_key_is_refused_past_its_limit_on_every_instance(
    settings: Settings, clean: None
) -> None:
    now = Now()
    async with instances(settings, now, eligibility=Rate(3, 60)) as (one, two):
        key = await add_facility(one.app, [])
        head = await enrolled(one.app, one.http)
        auth = {"Authorization": f"Bearer {key}"}
        answers = [
            await gateway.http.get(f"/api/v1/eligibility/{head}", headers=auth)
            for gateway in (one, two, one)
        ]
        assert [a.status_code for a in answers] == [200, 200, 200]
        refused = await two.http.get(f"/api/v1/eligibility/{head}", headers=auth)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "60"
        assert "too many checks with this key" in refused.json()["error"]
        fhir = await one.http.post(
            "/fhir/CoverageEligibilityRequest",
            json={"resourceType": "CoverageEligibilityRequest"},
            headers=auth,
        )
        assert fhir.status_code == 429 and fhir.headers["Retry-After"] == "60"
        assert fhir.json()["issue"][0]["code"] == "throttled"
        now.later(seconds=60)
        assert (await two.http.get(f"/api/v1/eligibility/{head}", headers=auth)).status_code == 200


# -- member checks per phone, USSD and SMS ----------------------------------------------


async def test_a_desk_phone_scanning_members_gets_a_closing_screen(
    settings: Settings, clean: None, db: Session
) -> None:
    now = Now()
    async with instances(settings, now, member_checks=Rate(3, 3600)) as (one, two):
        await add_facility(one.app, [DESK])
        part(two.app, Ussd).service.callers.forget_known_phones()
        head = await enrolled(one.app, one.http)
        for gateway in (one, two, one):
            assert (await desk_check(gateway.http, head))[-1].startswith(f"CON Kpadé D. ({head})")
        refused = await desk_check(two.http, head)
        assert refused[-1] == (
            "END Trop de vérifications depuis ce téléphone. Merci de réessayer dans 60 min."
        )
        assert db.scalar(select(models.EligibilityCheck.id).limit(1)) is not None
        now.later(minutes=60)
        assert (await desk_check(one.http, head))[-1].startswith("CON Kpadé D.")


async def test_sms_checks_count_with_the_phones_ussd_checks(
    settings: Settings, clean: None, db: Session
) -> None:
    now = Now()
    async with instances(settings, now, member_checks=Rate(3, 3600)) as (one, two):
        await add_facility(one.app, [DESK])
        head = await enrolled(one.app, one.http)
        await desk_check(one.http, head)  # one check by USSD
        for n, gateway in enumerate((two, one, two)):
            form = {**SMS_FORM, "from": DESK, "text": f"VERIF {head}", "id": f"ATXid_{n}"}
            assert (await gateway.http.post("/sms/inbound", data=form)).status_code == 200
        replies = db.scalars(
            select(models.Message.template)
            .where(models.Message.phone == DESK)
            .order_by(models.Message.id)
        ).all()
        assert [r == "reply_too_many_checks" for r in replies] == [False, False, True]
        rights = {**SMS_FORM, "from": DESK, "text": f"DROITS {head}", "id": "ATXid_r"}
        await one.http.post("/sms/inbound", data=rights)
        last = db.scalars(select(models.Message.text).order_by(models.Message.id.desc())).first()
        assert last == "Trop de vérifications depuis ce numéro. Réessayez dans 60 min."


# -- payment prompts per payer number ----------------------------------------------------


async def test_prompts_to_one_payer_number_stop_at_the_limit(
    settings: Settings, clean: None
) -> None:
    now = Now()
    async with instances(settings, now, paying=True, payment_prompts=Rate(2, 3600)) as (one, two):
        head = await enrolled(one.app, one.http, paid=False)
        payer = "+2290197000901"
        outcomes = [
            (await part(gateway.app, Payments).service.start(head, 100, payer))["outcome"]
            for gateway in (one, two, one)
        ]
        assert outcomes[2] == "too_many_prompts"
        assert "too_many_prompts" not in outcomes[:2]
        other = await part(two.app, Payments).service.start(head, 100, "+2290197000902")
        assert other["outcome"] != "too_many_prompts"
        now.later(hours=1)
        again = await part(two.app, Payments).service.start(head, 100, payer)
        assert again["outcome"] != "too_many_prompts"


async def test_a_scan_meets_the_default_limit_that_a_busy_facility_never_does(
    settings: Settings, clean: None
) -> None:
    """The default, 120 checks a minute per key, is two patients a second at one
    facility's system; enumerating members goes past it within the first minute."""
    assert settings.limits.eligibility == Rate(120, 60)
    now = Now()
    async with instances(settings, now, count=1) as (one,):
        key = await add_facility(one.app, [])
        auth = {"Authorization": f"Bearer {key}"}
        statuses = []
        for n in range(121):
            member_no = member_number(100_000 + n)
            response = await one.http.get(f"/api/v1/eligibility/{member_no}", headers=auth)
            statuses.append(response.status_code)
        assert set(statuses[:120]) == {404} and statuses[120] == 429


def test_limits_are_settings_checked_with_the_others() -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"BODY_LIMIT_BYTES": "lots", "MEMBER_CHECKS_PER_HOUR": "0"})
    assert error.value.problems == [
        "BODY_LIMIT_BYTES must be a whole number, got 'lots'",
        "MEMBER_CHECKS_PER_HOUR must be between 1 and 100000, got 0",
    ]
    tuned = Settings.from_env({"ELIGIBILITY_CHECKS_PER_MINUTE": "600"}).limits
    assert tuned.eligibility == Rate(600, 60)
