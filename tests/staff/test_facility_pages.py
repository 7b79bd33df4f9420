"""`/admin/facilities`: central staff add a facility and see its API key once, replace or
revoke the key after a confirmation step, set desk phones; everyone else is refused (403,
audited, nothing changed); stale forms (409) and CSRF; every change audited, no key in
the audit log."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from db.values import StaffRole
from gateway.actors import staff_actor
from gateway.enrolment.service import EnrolmentService
from gateway.register.capability import Register
from gateway.register.facilities import Facilities, FacilityError
from tests.staff.management_web import (
    OpenAs,
    StaffBrowser,
    audit,
    field_error,
    shown,
    staff_browsers,
)
from tests.support.agents import add_agent
from tests.support.gateway import part
from tests.support.households import enrol_household
from tests.support.ussd_phone import Phone

KEY = re.compile(r"alf_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}")
DESK_A = "+2290197000301"
DESK_B = "+2290197000302"
SHOWN = {DESK_A: "+229 01 97 00 03 01", DESK_B: "+229 01 97 00 03 02"}  # as pages write them
AGENT = "+2290197000601"


@pytest.fixture
async def staff_as(app: Starlette, clean: None) -> AsyncIterator[OpenAs]:
    async with staff_browsers(app) as open_as:
        yield open_as


def service(app: Starlette) -> Facilities:
    facilities: Facilities = part(app, Register).facilities
    return facilities


def key_on(page: httpx.Response) -> str:
    found = re.search(r'<textarea id="api-key"[^>]*>([^<]+)</textarea>', page.text)
    assert found, page.text
    return found.group(1).strip()


async def eligibility(client: httpx.AsyncClient, key: str, member_no: str = "109999991") -> int:
    """What the API answers to this key (an unknown member: 404 means the key passed)."""
    answer = await client.get(
        f"/api/v1/eligibility/{member_no}", headers={"Authorization": f"Bearer {key}"}
    )
    return answer.status_code


async def add(central: StaffBrowser, code: str = "CS-PKU", phones: str = "") -> httpx.Response:
    return await central.post(
        "/admin/facilities", {"code": code, "name": "Centre de santé de Parakou", "phones": phones}
    )


def everything_audited(db: Session) -> str:
    db.expire_all()
    return json.dumps([e.details for e in db.scalars(select(models.AuditEntry)).all()])


# -- who may ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        (StaffRole.MUTUAL_MANAGER, "MS-PARAKOU"),
        (StaffRole.VIEWER, None),
        (StaffRole.VIEWER, "MS-KANDI"),
    ],
)
async def test_only_central_staff_see_or_change_facilities(
    app: Starlette, staff_as: OpenAs, db: Session, role: str, scope: str | None
) -> None:
    await service(app).add("CS-KDI", "CS Kandi", [DESK_B], by="cli:test")
    other = await staff_as(role, scope)

    assert "/admin/facilities" not in (await other.get("/admin")).text  # not in the menu
    for path in ("/admin/facilities", "/admin/facilities/CS-KDI"):
        assert (await other.get(path)).status_code == 403
    posts = [
        ("/admin/facilities", {"code": "CS-PKU", "name": "CS Parakou", "phones": DESK_A}),
        ("/admin/facilities/CS-KDI/phones", {"phones": DESK_A}),
        ("/admin/facilities/CS-KDI/revoke", {"step": "do"}),
        ("/admin/facilities/CS-KDI/new-key", {"step": "do"}),
    ]
    for path, data in posts:
        answer = await other.post(path, data)
        assert answer.status_code == 403, path
        assert not KEY.search(answer.text)

    listed = await service(app).listing()
    assert [(f["code"], f["revoked"], f["phones"]) for f in listed] == [("CS-KDI", False, [DESK_B])]
    refusals = audit(db, "change_refused")
    assert [r.details["action"] for r in refusals] == [
        "facility_added",
        "facility_phones_set",
        "facility_revoked",
        "facility_key_replaced",
    ]
    assert {r.actor for r in refusals} == {staff_actor(other.staff_id)}


# -- adding ----------------------------------------------------------------------


async def test_a_new_facilitys_key_is_shown_once_and_works(
    app: Starlette, staff_as: OpenAs, db: Session, client: httpx.AsyncClient
) -> None:
    central = await staff_as(StaffRole.CENTRAL_ADMIN, None)
    form = await central.get("/admin/facilities")
    assert form.status_code == 200 and "Ajouter un centre de santé" in form.text

    answer = await add(central, phones=f"97 00 03 01\n{DESK_B}, {DESK_A}")

    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    key = key_on(answer)
    assert KEY.fullmatch(key)
    assert "ne sera plus jamais affichée" in shown(answer)
    assert await eligibility(client, key) == 404  # the key passed; the member is unknown
    assert await eligibility(client, key[:-1] + "x") == 401

    for path in ("/admin/facilities", "/admin/facilities/CS-PKU"):
        page = await central.get(path)
        assert page.status_code == 200
        assert key not in page.text and key[17:] not in page.text
        assert key[:16] + "_…" in page.text  # its prefix identifies it
    detail = await central.get("/admin/facilities/CS-PKU")
    assert re.search(
        rf'id="facility-phones">.*{re.escape(SHOWN[DESK_A])}.*{re.escape(SHOWN[DESK_B])}',
        detail.text,
    )

    (entry,) = audit(db, "facility_added")
    assert entry.actor == staff_actor(central.staff_id)
    assert entry.details["code"] == "CS-PKU" and entry.details["phones"] == [DESK_A, DESK_B]
    assert entry.details["key_prefix"] == key[4:16]
    assert key[17:] not in everything_audited(db)


async def test_a_new_desk_phone_checks_cover_at_once(
    app: Starlette,
    staff_as: OpenAs,
    client: httpx.AsyncClient,
    enrolment: EnrolmentService,
) -> None:
    await Phone(client, "+2290197000799").dial()  # the gateway has just read known phones
    central = await staff_as(StaffRole.CENTRAL_ADMIN, None)

    await add(central, phones=DESK_A)

    desk = Phone(client, DESK_A)
    await desk.dial()  # the language first
    assert "Vérifier un patient" in await desk.type("1")


async def test_the_add_form_says_what_is_wrong_next_to_each_field(
    app: Starlette, staff_as: OpenAs, db: Session
) -> None:
    await service(app).add("CS-KDI", "CS Kandi", [DESK_B], by="cli:test")
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU")
    central = await staff_as(StaffRole.CENTRAL_ADMIN, None)

    bad = await central.post(
        "/admin/facilities", {"code": "CS PKU!", "name": "C", "phones": f"{DESK_A}\n12"}
    )
    assert bad.status_code == 400
    assert "sans espace" in field_error(bad, "code")
    assert "2 à 120 caractères" in field_error(bad, "name")
    assert "« 12 » n'est pas un numéro reconnu" in field_error(bad, "phones")
    assert "01 95 12 34 56" in field_error(bad, "phones")
    assert f"{DESK_A}\n12</textarea>" in bad.text  # what was typed stays

    taken = await add(central, "CS-KDI")
    assert "déjà ce code" in field_error(taken, "code")
    other_desk = await add(central, phones=DESK_B)
    assert f"{DESK_B} est déjà un téléphone d'accueil d'un autre centre" in field_error(
        other_desk, "phones"
    )
    agents_phone = await add(central, phones=AGENT)
    assert f"{AGENT} est le téléphone d'un agent de terrain" in field_error(agents_phone, "phones")
    english = await central.http.post(
        "/admin/facilities?lang=en",
        data={"csrf": central.csrf, "code": "CS-PKU", "name": "CS", "phones": "abc"},
    )
    assert '"abc" is not a number we recognise' in field_error(english, "phones")

    for answer in (bad, taken, other_desk, agents_phone, english):
        assert answer.status_code == 400 and not KEY.search(answer.text)
    assert db.scalar(select(func.count()).select_from(models.Facility)) == 1
    assert len(audit(db, "facility_added")) == 1  # the test's own


# -- changing --------------------------------------------------------------------


async def test_a_new_key_is_confirmed_then_shown_once_and_the_old_one_stops(
    app: Starlette, staff_as: OpenAs, db: Session, client: httpx.AsyncClient
) -> None:
    central = await staff_as(StaffRole.CENTRAL_ADMIN, None)
    old = key_on(await add(central))
    page = await central.get("/admin/facilities/CS-PKU")
    version = re.search(r'name="version" value="([0-9a-f]+)"', page.text)
    assert version

    asked = await central.post(
        "/admin/facilities/CS-PKU/new-key", {"version": version.group(1), "step": "confirm"}
    )
    assert asked.status_code == 200 and "Remplacer la clé d'API\u00a0?" in shown(asked)
    assert not KEY.search(asked.text)
    assert await eligibility(client, old) == 404  # nothing changed yet

    done = await central.post(
        "/admin/facilities/CS-PKU/new-key", {"version": version.group(1), "step": "do"}
    )

    assert done.status_code == 200
    new = key_on(done)
    assert new != old
    assert await eligibility(client, old) == 401
    assert await eligibility(client, new) == 404
    (entry,) = audit(db, "facility_key_replaced")
    assert entry.actor == staff_actor(central.staff_id)
    assert entry.details == {
        "facility_id": entry.details["facility_id"],
        "code": "CS-PKU",
        "key_prefix": new[4:16],
    }
    assert new[17:] not in everything_audited(db)

    # The same confirmed form posted again (a reload): the key it saw is gone.
    again = await central.post(
        "/admin/facilities/CS-PKU/new-key", {"version": version.group(1), "step": "do"}
    )
    assert again.status_code == 409 and not KEY.search(again.text)
    assert await eligibility(client, new) == 404


async def test_revoking_is_confirmed_and_stops_the_key_and_the_desk(
    app: Starlette, staff_as: OpenAs, db: Session, client: httpx.AsyncClient
) -> None:
    central = await staff_as(StaffRole.CENTRAL_ADMIN, None)
    key = key_on(await add(central, phones=DESK_A))
    version = (await service(app).listing("CS-PKU"))[0]["version"]
    desk = Phone(client, DESK_A)
    await desk.dial()
    assert "Vérifier un patient" in await desk.type("1")  # and its phone is known now

    asked = await central.post(
        "/admin/facilities/CS-PKU/revoke", {"version": version, "step": "confirm"}
    )
    assert asked.status_code == 200 and "Révoquer la clé\u00a0?" in shown(asked)
    assert await eligibility(client, key) == 404

    done = await central.post("/admin/facilities/CS-PKU/revoke", {"version": version, "step": "do"})

    assert done.status_code == 303
    assert done.headers["location"] == "/admin/facilities/CS-PKU?done=revoke"
    assert "Clé révoquée : le centre ne peut plus" in shown(
        await central.get(done.headers["location"])
    )
    assert await eligibility(client, key) == 401
    await desk.dial()
    assert "Vérifier un patient" not in await desk.type("1")
    (entry,) = audit(db, "facility_revoked")
    assert entry.actor == staff_actor(central.staff_id) and entry.details["code"] == "CS-PKU"


async def test_desk_phones_are_set_and_a_stale_form_is_refused(
    app: Starlette, staff_as: OpenAs, db: Session
) -> None:
    central = await staff_as(StaffRole.CENTRAL_ADMIN, None)
    await add(central, phones=DESK_A)
    page = await central.get("/admin/facilities/CS-PKU")
    version = re.search(r'name="version" value="([0-9a-f]+)"', page.text)
    assert version and f"{SHOWN[DESK_A]}</textarea>" in page.text

    done = await central.post(
        "/admin/facilities/CS-PKU/phones", {"version": version.group(1), "phones": DESK_B}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/facilities/CS-PKU?done=phones"
    assert (await service(app).listing("CS-PKU"))[0]["phones"] == [DESK_B]
    (entry,) = audit(db, "facility_phones_set")
    assert entry.actor == staff_actor(central.staff_id) and entry.details["phones"] == [DESK_B]

    # The first page's form again: the phones it showed have changed since.
    stale = await central.post(
        "/admin/facilities/CS-PKU/phones", {"version": version.group(1), "phones": ""}
    )
    assert stale.status_code == 409
    assert "Quelqu'un d'autre a modifié cette fiche" in shown(stale)
    assert f"{SHOWN[DESK_B]}</textarea>" in stale.text  # the current phones, not the stale ones
    assert (await service(app).listing("CS-PKU"))[0]["phones"] == [DESK_B]
    assert len(audit(db, "facility_phones_set")) == 1

    bad = await central.post(
        "/admin/facilities/CS-PKU/phones",
        {"version": (await service(app).listing("CS-PKU"))[0]["version"], "phones": "0197"},
    )
    assert bad.status_code == 400 and "« 0197 »" in field_error(bad, "phones")


async def test_the_service_refuses_a_stale_version_and_names_the_phone_at_fault(
    app: Starlette, client: httpx.AsyncClient, db: Session
) -> None:
    await service(app).add("CS-PKU", "CS Parakou", [DESK_A], by="cli:test")
    await add_agent(app, AGENT, "Bio Sika", "MS-PARAKOU")
    (row,) = await service(app).listing("CS-PKU")
    await service(app).set_phones("CS-PKU", [DESK_B], by="cli:other")

    with pytest.raises(FacilityError) as stale:
        await service(app).revoke("CS-PKU", by="staff:1", expected=str(row["version"]))
    assert stale.value.reason == "stale"
    with pytest.raises(FacilityError) as agents:
        await service(app).set_phones("CS-PKU", [DESK_B, AGENT], by="staff:1")
    assert (agents.value.reason, agents.value.phone) == ("agent_phone", AGENT)
    assert audit(db, "facility_revoked") == []
    assert [e.actor for e in audit(db, "facility_phones_set")] == ["cli:other"]


async def test_facility_forms_need_the_session_token(
    app: Starlette, staff_as: OpenAs, db: Session
) -> None:
    central = await staff_as(StaffRole.CENTRAL_ADMIN, None)
    await add(central)
    version = (await service(app).listing("CS-PKU"))[0]["version"]
    fields = {"version": version, "step": "do"}

    assert (
        await central.http.post("/admin/facilities/CS-PKU/revoke", data=fields)
    ).status_code == 403
    cross = await central.http.post(
        "/admin/facilities/CS-PKU/new-key",
        data={**fields, "csrf": central.csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403 and not KEY.search(cross.text)
    added = await central.http.post("/admin/facilities", data={"code": "CS-X", "name": "CS X"})
    assert added.status_code == 403 and not KEY.search(added.text)

    assert [(f["code"], f["revoked"]) for f in await service(app).listing()] == [("CS-PKU", False)]
    assert audit(db, "facility_revoked") == [] and audit(db, "facility_key_replaced") == []


async def test_a_real_member_is_checked_with_the_key_from_the_page(
    app: Starlette, staff_as: OpenAs, client: httpx.AsyncClient, enrolment: EnrolmentService
) -> None:
    member_no = await enrol_household(enrolment)
    central = await staff_as(StaffRole.CENTRAL_ADMIN, None)
    key = key_on(await add(central))

    answer = await client.get(
        f"/api/v1/eligibility/{member_no}", headers={"Authorization": f"Bearer {key}"}
    )

    assert answer.status_code == 200
    assert answer.json()["member_no"] == member_no
