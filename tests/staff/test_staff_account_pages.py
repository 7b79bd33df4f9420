"""Staff accounts from the dashboard (`/admin/staff`, central admins only) and the page where
a person sets their own password with a one-time code (`/admin/password`): who may, what is
audited, what each step refuses. Real database, real Redis, the gateway's own service."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway.staff.password_codes import code_hash
from tests.conftest import Clock
from tests.staff.web import (
    ADMIN,
    MANAGER,
    OTHER_MANAGER,
    PASSWORD,
    VIEWER,
    add_staff,
    audit_rows,
    hidden,
    logged_in,
    login,
    text_of,
)

NEW_PASSWORD = "le manguier de Banikanni"
PERSON = "gestion.ndali@agence.bj"


@pytest.fixture
async def other(app: Starlette, clean: None) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser: the person whose account the admin manages."""
    transport = httpx.ASGITransport(app=app, client=("192.0.2.8", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://gateway.test") as http:
        yield http


def account(db: Session, email: str) -> models.StaffAccount:
    db.expire_all()
    found = db.scalar(select(models.StaffAccount).where(models.StaffAccount.email == email))
    assert found is not None
    return found


def code_on(page: httpx.Response) -> str:
    found = re.search(r'<p class="code" id="code">([A-Z0-9-]+)</p>', page.text)
    assert found, page.text
    return found.group(1)


async def add_person(web: httpx.AsyncClient, csrf: str, **fields: str) -> httpx.Response:
    values = {"email": PERSON, "role": "mutual_manager", "scope": "MS-NDALI", "csrf": csrf}
    return await web.post("/admin/staff/new", data=values | fields)


async def set_password(
    web: httpx.AsyncClient, code: str, password: str = NEW_PASSWORD, again: str | None = None
) -> httpx.Response:
    return await web.post(
        "/admin/password",
        data={"code": code, "password": password, "password_again": again or password},
    )


# -- who may --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [MANAGER, OTHER_MANAGER, VIEWER])
async def test_only_central_admins_manage_accounts(
    web: httpx.AsyncClient, app: Starlette, db: Session, who: tuple[str, str | None]
) -> None:
    target = await add_staff(app, PERSON, "viewer", None)
    csrf = await logged_in(web, app, *who)
    assert "/admin/staff" not in (await web.get("/admin")).text
    for path in ("/admin/staff", "/admin/staff/new", f"/admin/staff/{target}"):
        assert (await web.get(path)).status_code == 403, path
    for action in ("unlock", "disable", "password", "role"):
        answer = await web.post(
            f"/admin/staff/{target}/{action}", data={"csrf": csrf, "role": "central_admin"}
        )
        assert answer.status_code == 403, action
    assert (await add_person(web, csrf, email="x@agence.bj")).status_code == 403
    assert account(db, PERSON).role == "viewer" and account(db, PERSON).disabled_at is None
    assert audit_rows(db, "staff_added")[-1].actor == "test"


# -- adding an account and setting its password ------------------------------------------------


async def test_an_admin_adds_an_account_and_the_person_sets_their_own_password(
    web: httpx.AsyncClient, other: httpx.AsyncClient, app: Starlette, db: Session
) -> None:
    csrf = await logged_in(web, app, *ADMIN)
    admin_id = account(db, "central_admin.all@agence.bj").id
    assert "/admin/staff" in (await web.get("/admin")).text  # in the menu

    shown = await add_person(web, csrf, email="  Gestion.NDali@agence.bj ")

    assert shown.status_code == 200
    code = code_on(shown)
    assert re.fullmatch(r"([A-Z2-9]{4}-){3}[A-Z2-9]{4}", code)
    assert shown.headers["cache-control"] == "no-store"
    assert "Valable une seule fois, jusqu'au 2026-11-24" in text_of(shown)
    stored = account(db, PERSON)
    assert (stored.role, stored.scope_unit_id is not None) == ("mutual_manager", True)
    assert stored.password_code_hash == code_hash(code) != code
    (added,) = [row for row in audit_rows(db, "staff_added") if row.actor != "test"]
    assert added.actor == f"staff:{admin_id}"
    assert added.details["role"] == "mutual_manager" and added.details["scope"] == "MS-NDALI"
    assert code not in str(added.details) and code.replace("-", "") not in str(added.details)
    listing = text_of(await web.get("/admin/staff"))
    assert (
        "gestion.ndali@agence.bj Gestion de mutuelle MS-NDALI En attente de son mot de passe"
        in (listing)
    )

    form = await other.get("/admin/password")
    assert form.status_code == 200 and 'name="code"' in form.text
    assert (await login(other, PERSON, "anything at all")).status_code == 200  # no password yet
    done = await set_password(other, code.lower().replace("-", " "))  # as someone may type it
    assert done.status_code == 200 and "Mot de passe enregistré" in done.text
    assert (await login(other, PERSON, NEW_PASSWORD)).status_code == 303
    assert (await other.get("/admin")).status_code == 200
    (set_row,) = audit_rows(db, "staff_password_set")
    assert set_row.actor == f"staff:{stored.id}" and set_row.details == {"ip": "192.0.2.8"}
    assert account(db, PERSON).password_code_hash is None

    again = await set_password(other, code, "someone else's password")
    assert again.status_code == 400
    assert "Code inconnu, déjà utilisé ou expiré" in text_of(again)
    other.cookies.clear()
    assert (await login(other, PERSON, NEW_PASSWORD)).status_code == 303


async def test_the_password_page_refuses_what_it_cannot_take(
    web: httpx.AsyncClient, other: httpx.AsyncClient, app: Starlette, db: Session, clock: Clock
) -> None:
    csrf = await logged_in(web, app, *ADMIN)
    code = code_on(await add_person(web, csrf))

    short = await set_password(other, code, "short")
    assert short.status_code == 400 and "au moins 10 caractères" in text_of(short)
    assert f'value="{code}"' in short.text  # the code stays typed; the password does not
    differ = await set_password(other, code, NEW_PASSWORD, "le manguier de Parakou")
    assert differ.status_code == 400 and "Les deux mots de passe diffèrent" in text_of(differ)
    cross = await other.post(
        "/admin/password",
        data={"code": code, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    assert audit_rows(db, "staff_password_set") == []

    clock.day += timedelta(days=2)  # the code lasted 24 hours
    late = await set_password(other, code)
    assert late.status_code == 400 and "expiré" in text_of(late)
    assert "Code expiré" in text_of(await web.get("/admin/staff"))
    assert audit_rows(db, "staff_password_set") == []


async def test_problems_with_a_new_account_are_shown_next_to_their_field(
    web: httpx.AsyncClient, app: Starlette, db: Session
) -> None:
    csrf = await logged_in(web, app, *ADMIN)
    for fields, field, words in [
        ({"email": "not-an-email"}, "email", "Exemple : gestion.parakou@exemple.bj"),
        ({"scope": ""}, "scope", "a pour périmètre sa mutuelle. Exemple : MS-PARAKOU"),
        ({"scope": "ZS-PARAKOU"}, "scope", "une mutuelle, pas une zone"),
        ({"role": "superuser"}, "role", "Choisissez un rôle"),
        ({"email": "central_admin.all@agence.bj"}, "email", "existe déjà"),
    ]:
        answer = await add_person(web, csrf, **fields)
        assert answer.status_code == 400, fields
        assert f'id="e-{field}"' in answer.text, fields
        assert words in text_of(answer), fields
    assert (await add_person(web, csrf, role="central_admin", scope="")).status_code == 200
    english = await web.get("/admin/staff/new?lang=en")
    assert "Add an account" in english.text
    answer = await add_person(web, csrf, email="broken")
    assert "Example: gestion.parakou@example.bj" in text_of(answer)
    assert (await add_person(web, csrf, email="")).status_code == 400
    csrf_less = await web.post("/admin/staff/new", data={"email": "a@agence.bj", "role": "viewer"})
    assert csrf_less.status_code == 403
    emails = {a.email for a in db.scalars(select(models.StaffAccount)).all()}
    assert emails == {"central_admin.all@agence.bj", PERSON}


# -- one account: password code, unlock, disable, role ------------------------------------------


async def test_a_new_code_stops_the_old_password_and_ends_the_sessions(
    web: httpx.AsyncClient, other: httpx.AsyncClient, app: Starlette, db: Session
) -> None:
    target = await add_staff(app, PERSON, "viewer", "ZS-PARAKOU")
    assert (await login(other, PERSON)).status_code == 303
    csrf = await logged_in(web, app, *ADMIN)

    confirm = await web.get(f"/admin/staff/{target}/password")
    assert "cessera de fonctionner tout de suite" in text_of(confirm)
    assert account(db, PERSON).password_code_hash is None  # nothing done by looking
    shown = await web.post(f"/admin/staff/{target}/password", data={"csrf": csrf})

    code = code_on(shown)
    assert "L'ancien mot de passe de gestion.ndali@agence.bj ne fonctionne plus" in text_of(shown)
    assert (await other.get("/admin")).status_code == 303  # logged out
    assert (await login(other, PERSON)).status_code == 200  # the old password is no more
    assert (await set_password(other, code)).status_code == 200
    assert (await login(other, PERSON, NEW_PASSWORD)).status_code == 303
    (issued,) = audit_rows(db, "staff_password_code_issued")
    assert issued.details["staff_id"] == target and code not in str(issued.details)


async def test_an_admin_unlocks_a_locked_account(
    web: httpx.AsyncClient, other: httpx.AsyncClient, app: Starlette, db: Session
) -> None:
    target = await add_staff(app, PERSON, "viewer", None)
    for _ in range(5):
        await login(other, PERSON, "wrong guess")
    csrf = await logged_in(web, app, *ADMIN)
    page = await web.get(f"/admin/staff/{target}")
    assert "Bloqué après trop d'essais" in text_of(page)

    done = await web.post(f"/admin/staff/{target}/unlock", data={"csrf": csrf})

    assert done.status_code == 303 and done.headers["location"].endswith("?done=unlocked")
    assert (await login(other, PERSON)).status_code == 303
    assert audit_rows(db, "staff_unlocked")[0].actor.startswith("staff:")


async def test_disabling_is_confirmed_first_and_ends_the_persons_session(
    web: httpx.AsyncClient, other: httpx.AsyncClient, app: Starlette, db: Session
) -> None:
    target = await add_staff(app, PERSON, "mutual_manager", "MS-NDALI")
    assert (await login(other, PERSON)).status_code == 303
    csrf = await logged_in(web, app, *ADMIN)

    confirm = await web.get(f"/admin/staff/{target}/disable")
    assert confirm.status_code == 200 and 'class="danger"' in confirm.text
    assert "Cela ne se défait pas" in text_of(confirm)
    assert account(db, PERSON).disabled_at is None
    done = await web.post(f"/admin/staff/{target}/disable", data={"csrf": csrf})

    assert done.status_code == 303
    assert "Compte désactivé" in text_of(await web.get(done.headers["location"]))
    assert account(db, PERSON).disabled_at is not None
    assert (await other.get("/admin")).status_code == 303
    (row,) = audit_rows(db, "staff_disabled")
    assert row.actor.startswith("staff:") and row.details == {"staff_id": target}


async def test_a_role_change_is_reviewed_confirmed_audited_and_ends_the_sessions(
    web: httpx.AsyncClient, other: httpx.AsyncClient, app: Starlette, db: Session
) -> None:
    target = await add_staff(app, PERSON, "mutual_manager", "MS-NDALI")
    assert (await login(other, PERSON)).status_code == 303
    csrf = await logged_in(web, app, *ADMIN)
    path = f"/admin/staff/{target}/role"
    form = await web.get(path)
    assert 'option value="MS-NDALI" selected' in form.text

    wrong = await web.post(path, data={"role": "mutual_manager", "scope": "", "csrf": csrf})
    assert wrong.status_code == 400 and 'id="e-scope"' in wrong.text
    review = await web.post(path, data={"role": "viewer", "scope": "ZS-PARAKOU", "csrf": csrf})
    assert review.status_code == 200
    assert "Gestion de mutuelle → Consultation" in text_of(review)
    assert "MS-NDALI → ZS-PARAKOU" in text_of(review)
    assert account(db, PERSON).role == "mutual_manager"  # nothing done by reviewing
    assert (await other.get("/admin")).status_code == 200

    done = await web.post(
        path,
        data={
            "step": "confirm",
            "role": hidden(review, "role"),
            "scope": hidden(review, "scope"),
            "from_role": hidden(review, "from_role"),
            "from_scope": hidden(review, "from_scope"),
            "csrf": csrf,
        },
    )

    assert done.status_code == 303 and done.headers["location"].endswith("?done=role")
    assert account(db, PERSON).role == "viewer"
    assert (await other.get("/admin")).status_code == 303  # to log in again, as a viewer
    (row,) = audit_rows(db, "staff_role_changed")
    assert row.details == {
        "staff_id": target,
        "changes": {
            "role": {"before": "mutual_manager", "after": "viewer"},
            "scope": {"before": "MS-NDALI", "after": "ZS-PARAKOU"},
        },
    }

    stale = await web.post(
        path,
        data={
            "step": "confirm",
            "role": "central_admin",
            "scope": "",
            "from_role": "mutual_manager",  # what the page showed before the change above
            "from_scope": "MS-NDALI",
            "csrf": csrf,
        },
    )
    assert stale.status_code == 409 and "modifié entre-temps" in text_of(stale)
    assert account(db, PERSON).role == "viewer"


async def test_an_admin_cannot_disable_or_demote_themselves(
    web: httpx.AsyncClient, app: Starlette, db: Session
) -> None:
    csrf = await logged_in(web, app, *ADMIN)
    own = account(db, "central_admin.all@agence.bj").id
    page = await web.get(f"/admin/staff/{own}")
    assert f"/admin/staff/{own}/disable" not in page.text and "votre propre compte" in page.text
    disable = await web.post(f"/admin/staff/{own}/disable", data={"csrf": csrf})
    role = await web.post(
        f"/admin/staff/{own}/role",
        data={"step": "confirm", "role": "viewer", "scope": "", "csrf": csrf},
    )
    assert disable.status_code == role.status_code == 400
    assert "demandez à un autre administrateur central" in text_of(disable)
    stored = account(db, "central_admin.all@agence.bj")
    assert stored.disabled_at is None and stored.role == "central_admin"
    assert (await web.get("/admin/staff/999999")).status_code == 404
    assert PASSWORD  # the fixtures' accounts all share it


async def test_account_forms_without_the_session_token_or_from_another_site_do_nothing(
    web: httpx.AsyncClient, app: Starlette, db: Session
) -> None:
    target = await add_staff(app, PERSON, "mutual_manager", "MS-NDALI")
    csrf = await logged_in(web, app, *ADMIN)
    fields = {"step": "confirm", "role": "viewer", "scope": "", "from_role": "mutual_manager"}
    for action in ("unlock", "disable", "password", "role"):
        path = f"/admin/staff/{target}/{action}"
        assert (await web.post(path, data=fields)).status_code == 403, action
        cross = await web.post(
            path, data={**fields, "csrf": csrf}, headers={"Origin": "https://evil.example"}
        )
        assert cross.status_code == 403, action
    stored = account(db, PERSON)
    assert (stored.role, stored.disabled_at, stored.password_code_hash) == (
        "mutual_manager",
        None,
        None,
    )
    assert audit_rows(db, "staff_unlocked") == []
