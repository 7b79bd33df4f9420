"""The staff dashboard over HTTP: login, CSRF, lockout, logout, and what each role and
scope may see and do. Over https, as a browser would, so that Secure cookies are sent."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.values import StaffRole
from gateway.enrolment.service import EnrolmentService
from gateway.staff.accounts import StaffAccounts
from gateway.staff.language import catalogue
from gateway.staff.login_limits import LoginLimits
from gateway.staff.sessions import COOKIE
from tests.support.gateway import shared
from tests.support.households import enrol_household

PASSWORD = "correct horse battery"
PARAKOU_PHONE = "+2290197000701"
KANDI_PHONE = "+2290197000702"


@pytest.fixture
async def web(app: Starlette, clean: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://gateway.test") as http:
        yield http


async def add_staff(app: Starlette, email: str, role: str, scope: str | None) -> int:
    runtime = shared(app)
    return await StaffAccounts(runtime.sessions, runtime.now).add(
        email, role, scope, PASSWORD, "test"
    )


def csrf_in(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def login(
    web: httpx.AsyncClient, email: str, password: str = PASSWORD, next: str = ""
) -> httpx.Response:
    form = await web.get("/admin/login")
    return await web.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf": csrf_in(form), "next": next},
    )


async def logged_in(web: httpx.AsyncClient, app: Starlette, role: str, scope: str | None) -> str:
    """Log in a new account of this role and scope; the session's CSRF token."""
    email = f"{role}.{scope or 'all'}@agence.bj".lower()
    await add_staff(app, email, role, scope)
    answer = await login(web, email)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin"
    return csrf_in(await web.get("/admin"))


async def household_of(enrolment: EnrolmentService, db: Session, phone: str, mutual: str) -> int:
    member_no = await enrol_household(enrolment, phone, mutual=mutual)
    household_id = db.scalar(
        select(models.Member.household_id).where(models.Member.member_no == member_no)
    )
    assert household_id is not None
    return household_id


def audit_rows(db: Session, action: str) -> list[models.AuditEntry]:
    db.expire_all()
    return list(
        db.scalars(
            select(models.AuditEntry)
            .where(models.AuditEntry.action == action)
            .order_by(models.AuditEntry.id)
        ).all()
    )


async def test_pages_send_strangers_to_the_login(web: httpx.AsyncClient) -> None:
    for path, back in [
        ("/admin", "/admin"),
        ("/admin/households?q=97000701", "/admin/households%3Fq%3D97000701"),
        ("/admin/households/1", "/admin/households/1"),
        ("/admin/campaigns", "/admin/campaigns"),
    ]:
        answer = await web.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/admin/login?next={back}"
    answer = await web.post("/admin/campaigns", data={"template": "campaign_enrol"})
    assert answer.status_code == 303


async def test_login_sets_a_secure_session_cookie_and_goes_back(
    web: httpx.AsyncClient, app: Starlette, db: Session
) -> None:
    staff_id = await add_staff(app, "admin@agence.bj", StaffRole.CENTRAL_ADMIN, None)
    form = await web.get("/admin/login?next=/admin/households")
    assert form.status_code == 200 and 'name="password"' in form.text
    assert form.headers["cache-control"] == "no-store"
    login_cookie = form.headers["set-cookie"].lower()
    assert login_cookie.startswith("__host-alafia_login=")
    for attribute in ("secure", "httponly", "samesite=strict", "path=/"):
        assert attribute in login_cookie
    answer = await web.post(
        "/admin/login",
        data={
            "email": "Admin@Agence.bj",
            "password": PASSWORD,
            "csrf": csrf_in(form),
            "next": "/admin/households",
        },
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/households"
    session_cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")
    ).lower()
    for attribute in ("secure", "httponly", "samesite=lax", "path=/"):
        assert attribute in session_cookie
    home = await web.get("/admin")
    assert home.status_code == 200
    assert "admin@agence.bj" in home.text and "Administration centrale" in home.text
    assert "Tout le réseau" in home.text
    (row,) = audit_rows(db, "login")
    assert row.actor == f"staff:{staff_id}" and row.details == {"ip": "192.0.2.7"}


async def test_next_never_leaves_the_dashboard(web: httpx.AsyncClient, app: Starlette) -> None:
    await add_staff(app, "admin@agence.bj", StaffRole.CENTRAL_ADMIN, None)
    for target in ("//evil.example/admin", "https://evil.example", "/admin/\\evil", "/elsewhere"):
        web.cookies.clear()
        answer = await login(web, "admin@agence.bj", next=target)
        assert answer.headers["location"] == "/admin"


async def test_a_bad_password_says_the_same_as_an_unknown_email(
    web: httpx.AsyncClient, app: Starlette
) -> None:
    await add_staff(app, "admin@agence.bj", StaffRole.CENTRAL_ADMIN, None)
    wrong = await login(web, "admin@agence.bj", "not the password")
    unknown = await login(web, "nobody@agence.bj")
    for answer in (wrong, unknown):
        assert answer.status_code == 200
        assert "E-mail ou mot de passe incorrect" in answer.text
        assert COOKIE not in answer.headers.get("set-cookie", "")
    assert (await web.get("/admin")).status_code == 303


async def test_login_without_the_form_token_or_from_another_site_is_refused(
    web: httpx.AsyncClient, app: Starlette, db: Session
) -> None:
    await add_staff(app, "admin@agence.bj", StaffRole.CENTRAL_ADMIN, None)
    form = await web.get("/admin/login")
    token = csrf_in(form)
    fields = {"email": "admin@agence.bj", "password": PASSWORD}
    assert (await web.post("/admin/login", data=fields)).status_code == 403
    # Its first character changed (to one it is not: "x" would be the same 1 time in 64).
    changed = ("y" if token.startswith("x") else "x") + token[1:]
    wrong = await web.post("/admin/login", data={**fields, "csrf": changed})
    assert wrong.status_code == 403
    cross = await web.post(
        "/admin/login",
        data={**fields, "csrf": token},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    # A cross-site form cannot bring our cookie: the token alone is not enough.
    web.cookies.clear()
    assert (await web.post("/admin/login", data={**fields, "csrf": token})).status_code == 403
    assert audit_rows(db, "login") == []
    same = await web.get("/admin/login")
    answer = await web.post(
        "/admin/login",
        data={**fields, "csrf": csrf_in(same)},
        headers={"Origin": "https://gateway.test"},
    )
    assert answer.status_code == 303


async def test_forms_after_login_need_the_session_token(
    web: httpx.AsyncClient, app: Starlette
) -> None:
    csrf = await logged_in(web, app, StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    form = {"template": "campaign_enrol", "mutual": "MS-PARAKOU", "step": "preview"}
    assert (await web.post("/admin/campaigns", data=form)).status_code == 403
    # Its last character changed (to one it is not: "A" would be the same 1 time in 64).
    changed = csrf[:-1] + ("B" if csrf.endswith("A") else "A")
    other = await web.post("/admin/campaigns", data={**form, "csrf": changed})
    assert other.status_code == 403
    cross = await web.post(
        "/admin/campaigns",
        data={**form, "csrf": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    assert (await web.post("/admin/logout")).status_code == 403  # still logged in
    assert (await web.get("/admin")).status_code == 200
    assert (await web.post("/admin/campaigns", data={**form, "csrf": csrf})).status_code == 200


async def test_logout_ends_the_session_everywhere(
    web: httpx.AsyncClient, app: Starlette, db: Session
) -> None:
    csrf = await logged_in(web, app, StaffRole.VIEWER, None)
    token = web.cookies[COOKIE]
    answer = await web.post("/admin/logout", data={"csrf": csrf})
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/login"
    assert (await web.get("/admin")).status_code == 303
    # The old cookie, kept by someone, opens nothing either.
    web.cookies.set(COOKIE, token, domain="gateway.test")
    assert (await web.get("/admin")).status_code == 303
    assert len(audit_rows(db, "logout")) == 1


async def session_keys(app: Starlette) -> list[bytes]:
    return [key async for key in shared(app).redis.scan_iter("staff-session:*")]


async def test_a_session_ends_after_two_idle_hours_and_each_request_gives_two_more(
    web: httpx.AsyncClient, app: Starlette
) -> None:
    await add_staff(app, "viewer@agence.bj", StaffRole.VIEWER, None)
    assert (await login(web, "viewer@agence.bj")).status_code == 303
    redis = shared(app).redis
    [key] = await session_keys(app)
    # Redis counts the idle time: it keeps the session two hours from the login, even if
    # no page follows, and then forgets it.
    assert 2 * 3600 - 60 < await redis.ttl(key) <= 2 * 3600
    # Redis's clock cannot be moved from here; a shorter life left on the key stands for
    # the 1 h 59 min that went by without a request.
    await redis.expire(key, 60)
    assert (await web.get("/admin")).status_code == 200
    assert 2 * 3600 - 60 < await redis.ttl(key) <= 2 * 3600  # two hours again from now
    await redis.expire(key, 0)  # ...and two idle hours later Redis drops it
    answer = await web.get("/admin")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")


async def test_a_session_ends_twelve_hours_after_login_however_busy(
    web: httpx.AsyncClient, app: Starlette
) -> None:
    # The twelve hours are counted on the process clock (`time.time`), which we move.
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        await logged_in(web, app, StaffRole.VIEWER, None)
        for _ in range(6):  # a request every 1 h 59 min: never two idle hours
            clock.shift(timedelta(hours=1, minutes=59))
            assert (await web.get("/admin")).status_code == 200
        clock.shift(timedelta(minutes=5, seconds=59))  # 11:59:59 after the login
        assert (await web.get("/admin")).status_code == 200
        clock.shift(timedelta(seconds=2))
        answer = await web.get("/admin")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")
        assert await session_keys(app) == []  # forgotten, not only refused


async def test_five_failures_lock_the_account_on_the_login_page(
    web: httpx.AsyncClient, app: Starlette, db: Session
) -> None:
    await add_staff(app, "admin@agence.bj", StaffRole.CENTRAL_ADMIN, None)
    for _ in range(5):
        assert (await login(web, "admin@agence.bj", "guess guess")).status_code == 200
    locked = await login(web, "admin@agence.bj")
    assert "incorrect" in locked.text and (await web.get("/admin")).status_code == 303
    assert len(audit_rows(db, "locked")) == 1
    assert [r.details["reason"] for r in audit_rows(db, "login_failed")][-1] == "locked"
    logins = LoginLimits(shared(app).limits)  # an unlock lifts the lock at every address
    await StaffAccounts(shared(app).sessions, shared(app).now, logins).unlock(
        "admin@agence.bj", "cli:ops"
    )
    assert (await login(web, "admin@agence.bj")).status_code == 303


async def test_a_disabled_account_is_out_at_its_next_request(
    web: httpx.AsyncClient, app: Starlette
) -> None:
    await logged_in(web, app, StaffRole.VIEWER, None)
    await StaffAccounts(shared(app).sessions, shared(app).now).disable(
        "viewer.all@agence.bj", "cli:ops"
    )
    assert (await web.get("/admin")).status_code == 303


async def test_a_password_reset_logs_the_old_sessions_out(
    web: httpx.AsyncClient, app: Starlette
) -> None:
    await logged_in(web, app, StaffRole.VIEWER, None)
    accounts = StaffAccounts(shared(app).sessions, shared(app).now)
    await accounts.reset_password("viewer.all@agence.bj", "another long password", "cli:ops")
    assert (await web.get("/admin")).status_code == 303
    answer = await login(web, "viewer.all@agence.bj", "another long password")
    assert answer.status_code == 303 and answer.headers["location"] == "/admin"
    assert (await web.get("/admin")).status_code == 200


async def test_a_manager_sees_only_their_mutual(
    web: httpx.AsyncClient, app: Starlette, enrolment: EnrolmentService, db: Session
) -> None:
    own = await household_of(enrolment, db, PARAKOU_PHONE, "MS-PARAKOU")
    other = await household_of(enrolment, db, KANDI_PHONE, "MS-KANDI")
    await logged_in(web, app, StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    found = await web.get("/admin/households", params={"q": "97 00 07 01"})
    assert found.status_code == 200 and f"/admin/households/{own}" in found.text
    assert "ASSOGBA Rose" in found.text and PARAKOU_PHONE in found.text
    missing = await web.get("/admin/households", params={"q": KANDI_PHONE})
    assert f"/admin/households/{other}" not in missing.text
    assert "Aucun ménage trouvé" in missing.text
    page = await web.get(f"/admin/households/{own}")
    assert page.status_code == 200
    assert "ASSOGBA Enfant1" in page.text and "En attente de paiement" in page.text
    assert "4\u202f725\u00a0FCFA" in page.text  # three persons at 1,575
    assert (await web.get(f"/admin/households/{other}")).status_code == 403
    assert (await web.get("/admin/households/999999")).status_code == 404
    searches = audit_rows(db, "household_search")
    assert [r.details for r in searches] == [
        {"kind": "phone", "results": 1},
        {"kind": "phone", "results": 0},
    ]
    assert all("97000" not in json.dumps(r.details) for r in searches)
    (viewed,) = audit_rows(db, "household_viewed")
    assert viewed.household_id == own


async def test_search_by_member_number_records_the_number(
    web: httpx.AsyncClient, app: Starlette, enrolment: EnrolmentService, db: Session
) -> None:
    member_no = await enrol_household(enrolment, PARAKOU_PHONE, mutual="MS-PARAKOU")
    await logged_in(web, app, StaffRole.CENTRAL_ADMIN, None)
    found = await web.get("/admin/households", params={"q": member_no})
    assert "ASSOGBA Rose" in found.text
    unreadable = await web.get("/admin/households", params={"q": "12"})
    assert "Ni un numéro de membre" in unreadable.text
    rows = audit_rows(db, "household_search")
    assert [(r.member_no, r.details["kind"]) for r in rows] == [
        (member_no, "member_no"),
        (None, "unreadable"),
    ]


async def test_a_viewer_sees_masked_data_and_sends_nothing(
    web: httpx.AsyncClient, app: Starlette, enrolment: EnrolmentService, db: Session
) -> None:
    household = await household_of(enrolment, db, PARAKOU_PHONE, "MS-PARAKOU")
    csrf = await logged_in(web, app, StaffRole.VIEWER, "ZS-PARAKOU")
    home = await web.get("/admin")
    assert "/admin/campaigns" not in home.text
    head_no = db.scalar(
        select(models.Member.member_no).where(
            models.Member.household_id == household, models.Member.relationship_to_head == "head"
        )
    )
    found = await web.get("/admin/households", params={"q": head_no})  # by phone: refused
    page = await web.get(f"/admin/households/{household}")
    assert f"/admin/households/{household}" in found.text
    for answer in (found, page):
        assert answer.status_code == 200
        shown = answer.text.replace(f'value="{PARAKOU_PHONE}"', "")  # the search box's own
        assert "Rose" not in shown and "ASSOGBA" not in shown
        assert PARAKOU_PHONE not in shown and "+229********01" in shown
    assert "A. R." in page.text and "masqués" in page.text
    assert (await web.get("/admin/campaigns")).status_code == 403
    form = {"csrf": csrf, "template": "campaign_enrol", "mutual": "MS-PARAKOU", "step": "send"}
    assert (await web.post("/admin/campaigns", data=form)).status_code == 403
    assert db.scalar(select(func.count()).select_from(models.SmsCampaign)) == 0


async def test_a_manager_sends_their_campaign_and_not_another_mutuals(
    web: httpx.AsyncClient, app: Starlette, enrolment: EnrolmentService, db: Session
) -> None:
    await household_of(enrolment, db, PARAKOU_PHONE, "MS-PARAKOU")
    await household_of(enrolment, db, KANDI_PHONE, "MS-KANDI")
    csrf = await logged_in(web, app, StaffRole.MUTUAL_MANAGER, "MS-PARAKOU")
    page = await web.get("/admin/campaigns")
    assert page.status_code == 200 and "MS-PARAKOU" in page.text and "MS-KANDI" not in page.text
    form = {"csrf": csrf, "template": "campaign_pay", "commune": ""}
    kandi = await web.post("/admin/campaigns", data={**form, "mutual": "MS-KANDI"})
    assert kandi.status_code == 403
    kandi = await web.post("/admin/campaigns", data={**form, "mutual": "MS-KANDI", "step": "send"})
    assert kandi.status_code == 403
    whole = await web.post("/admin/campaigns", data={**form, "mutual": ""})
    assert whole.status_code == 400
    preview = await web.post(
        "/admin/campaigns", data={**form, "mutual": "MS-PARAKOU", "step": "preview"}
    )
    assert "1 numéros recevront ce message" in preview.text
    assert 'value="send"' in preview.text
    assert db.scalar(select(func.count()).select_from(models.SmsCampaign)) == 0
    sent = await web.post("/admin/campaigns", data={**form, "mutual": "MS-PARAKOU", "step": "send"})
    assert sent.status_code == 303 and sent.headers["location"] == "/admin/campaigns?sent=1"
    db.expire_all()
    phones = db.scalars(select(models.Message.phone).where(models.Message.purpose == "campaign"))
    assert list(phones) == [PARAKOU_PHONE]
    (row,) = audit_rows(db, "campaign_sent")
    assert row.details["mutual"] == "MS-PARAKOU" and row.details["recipients"] == 1
    assert "1 messages en file" in (await web.get(sent.headers["location"])).text


async def test_pages_speak_english_when_asked(web: httpx.AsyncClient, app: Starlette) -> None:
    await logged_in(web, app, StaffRole.CENTRAL_ADMIN, None)
    english = await web.get("/admin?lang=en")
    assert "The whole network" in english.text and '<html lang="en">' in english.text
    assert "alafia_lang=en" in english.headers["set-cookie"]
    assert "Find a household" in (await web.get("/admin/households")).text  # the cookie stays
    assert "Rechercher un ménage" in (await web.get("/admin/households?lang=fr")).text


def test_both_catalogues_have_the_same_keys() -> None:
    """Every group of pages' catalogues included (`gateway/staff/i18n/<group>/`)."""
    assert catalogue("fr").keys() == catalogue("en").keys()


async def test_the_stylesheet_is_served_from_here(web: httpx.AsyncClient) -> None:
    css = await web.get("/admin/static/admin.css")
    assert css.status_code == 200 and "@media" in css.text
