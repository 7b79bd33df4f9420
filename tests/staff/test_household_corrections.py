"""Correcting a household from the dashboard: a member's names and birth date, the contact
phone and the village, by role and scope, with CSRF, stale forms, the audit (before and
after, shown on the household's page) and the register outbox. Real database, real Redis."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from db import models
from gateway.enrolment.service import EnrolmentService
from tests.conftest import TODAY
from tests.staff.web import (
    ADMIN,
    KANDI_PHONE,
    MANAGER,
    OTHER_MANAGER,
    PARAKOU_PHONE,
    VIEWER,
    audit_rows,
    hidden,
    household_of,
    logged_in,
    members,
    register_events,
    text_of,
)


@pytest.fixture
async def parakou(enrolment: EnrolmentService, db: Session) -> int:
    """A household of MS-PARAKOU: ASSOGBA Rose (head), Afi and Sena, born in 1990."""
    return await household_of(enrolment, db, PARAKOU_PHONE, "MS-PARAKOU")


def _scheme_hour() -> str:
    return datetime.now(ZoneInfo("Africa/Porto-Novo")).strftime("%H")


def member_page(household_id: int, member: models.Member) -> str:
    return f"/admin/households/{household_id}/members/{member.member_no}"


async def correct_member(
    web: httpx.AsyncClient, path: str, csrf: str, **fields: str
) -> httpx.Response:
    form = await web.get(path)
    assert form.status_code == 200, form.text
    values = {
        "last_name": "ASSOGBA",
        "first_names": "Afi",
        "birth_date": "1990",
        "version": hidden(form, "version"),
        "csrf": csrf,
    }
    return await web.post(path, data=values | fields)


# -- who may correct ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"), [(ADMIN, 200), (MANAGER, 200), (OTHER_MANAGER, 403), (VIEWER, 403)]
)
async def test_the_forms_open_for_those_who_may_correct_this_household(
    web: httpx.AsyncClient,
    app: Starlette,
    parakou: int,
    db: Session,
    who: tuple[str, str | None],
    status: int,
) -> None:
    await logged_in(web, app, *who)
    child = members(db, parakou)[1]
    for path in (
        f"/admin/households/{parakou}/contact",
        member_page(parakou, child),
        member_page(parakou, child) + "/move",
    ):
        assert (await web.get(path)).status_code == status, path
    page = await web.get(f"/admin/households/{parakou}")
    links = f"/admin/households/{parakou}/contact" in page.text
    assert links is (status == 200)


async def test_a_form_of_an_unknown_household_or_member_is_not_found(
    web: httpx.AsyncClient, app: Starlette, parakou: int, enrolment: EnrolmentService, db: Session
) -> None:
    other = await household_of(enrolment, db, "+2290197000703", "MS-PARAKOU")
    await logged_in(web, app, *MANAGER)
    stranger = members(db, other)[1]
    assert (await web.get(member_page(parakou, stranger))).status_code == 404
    assert (await web.get("/admin/households/999999/contact")).status_code == 404


# -- a member's names and birth date ----------------------------------------------------------


async def test_a_manager_corrects_a_misspelt_name_and_the_page_shows_before_and_after(
    web: httpx.AsyncClient, app: Starlette, parakou: int, db: Session
) -> None:
    csrf = await logged_in(web, app, *MANAGER)
    child = members(db, parakou)[1]
    path = member_page(parakou, child)

    hours = {_scheme_hour()}
    answer = await correct_member(
        web, path, csrf, last_name="  assogba-dossou ", first_names="marie madeleine"
    )
    hours.add(_scheme_hour())

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/admin/households/{parakou}?done=corrected"
    corrected = members(db, parakou)[1]
    assert (corrected.last_name, corrected.first_names) == ("ASSOGBA-DOSSOU", "Marie Madeleine")
    (entry,) = audit_rows(db, "member_corrected")
    assert entry.household_id == parakou and entry.member_no == child.member_no
    assert entry.actor.startswith("staff:")
    assert entry.details == {
        "changes": {
            "last_name": {"before": "ASSOGBA", "after": "ASSOGBA-DOSSOU"},
            "first_names": {"before": "Afi", "after": "Marie Madeleine"},
        }
    }
    (event,) = register_events(db, parakou)[1:]  # after the enrolment's
    assert (event.kind, event.member_no, event.status) == (
        "household_updated",
        child.member_no,
        "pending",
    )
    page = await web.get(answer.headers["location"])
    shown = text_of(page)
    assert "Correction enregistrée" in shown
    assert "Membre corrigé" in shown and "mutual_manager.ms-parakou@agence.bj" in shown
    assert "Nom de famille : ASSOGBA → ASSOGBA-DOSSOU" in shown
    assert "Prénoms : Afi → Marie Madeleine" in shown
    # In the scheme's time, whatever zone the database hands the time back in.
    assert any(f"{TODAY} {hour}:" in shown for hour in hours), shown


async def test_a_birth_date_may_be_a_year_or_a_full_date(
    web: httpx.AsyncClient, app: Starlette, parakou: int, db: Session
) -> None:
    csrf = await logged_in(web, app, *ADMIN)
    path = member_page(parakou, members(db, parakou)[2])

    assert (await correct_member(web, path, csrf, birth_date="12/03/2016")).status_code == 303
    child = members(db, parakou)[2]
    assert (child.birth_date.isoformat(), child.birth_year, child.birth_year_only) == (
        "2016-03-12",
        2016,
        False,
    )
    assert 'value="12/03/2016"' in (await web.get(path)).text  # as the form takes it back

    assert (await correct_member(web, path, csrf, birth_date="2015")).status_code == 303
    child = members(db, parakou)[2]
    assert (child.birth_date.isoformat(), child.birth_year_only) == ("2015-01-01", True)
    changes = [e.details["changes"]["birth_date"] for e in audit_rows(db, "member_corrected")]
    assert changes == [
        {"before": "1990", "after": "2016-03-12"},
        {"before": "2016-03-12", "after": "2015"},
    ]


async def test_problems_are_shown_next_to_their_field_with_an_example(
    web: httpx.AsyncClient, app: Starlette, parakou: int, db: Session
) -> None:
    csrf = await logged_in(web, app, *MANAGER)
    path = member_page(parakou, members(db, parakou)[1])

    answer = await correct_member(
        web, path, csrf, last_name="4SSOGBA", first_names="", birth_date="31/02/2030"
    )

    assert answer.status_code == 400
    for field in ("last_name", "first_names", "birth_date"):
        assert f'id="e-{field}"' in answer.text
        assert f'aria-describedby="h-{field} e-{field}" aria-invalid="true"' in answer.text
    shown = text_of(answer)
    assert "Exemple : ASSOGBA ou N'DAH" in shown
    assert "Exemple : 12/03/1985 ou 1985" in shown
    assert 'value="4SSOGBA"' in answer.text  # what was typed stays, to be mended
    assert members(db, parakou)[1].last_name == "ASSOGBA"
    assert audit_rows(db, "member_corrected") == []

    english = await web.get(path + "?lang=en")
    answer = await web.post(
        path,
        data={
            "last_name": "ASSOGBA",
            "first_names": "Afi",
            "birth_date": "tomorrow",
            "version": hidden(english, "version"),
            "csrf": csrf,
        },
    )
    assert "Check the date of birth" in text_of(answer)
    assert "Example: 12/03/1985 or 1985" in text_of(answer)


async def test_the_same_values_again_change_nothing(
    web: httpx.AsyncClient, app: Starlette, parakou: int, db: Session
) -> None:
    csrf = await logged_in(web, app, *MANAGER)
    answer = await correct_member(web, member_page(parakou, members(db, parakou)[1]), csrf)
    assert answer.headers["location"].endswith("?done=unchanged")
    assert audit_rows(db, "member_corrected") == []
    assert len(register_events(db, parakou)) == 1  # the enrolment's only


# -- the contact phone and the village ---------------------------------------------------------


async def test_the_phone_is_normalised_and_reaches_the_register_the_village_does_not(
    web: httpx.AsyncClient, app: Starlette, parakou: int, db: Session
) -> None:
    csrf = await logged_in(web, app, *MANAGER)
    path = f"/admin/households/{parakou}/contact"

    form = await web.get(path)
    village = await web.post(
        path,
        data={
            "phone": PARAKOU_PHONE,
            "village": "  Banikanni  ",
            "version": hidden(form, "version"),
            "csrf": csrf,
        },
    )
    assert village.status_code == 303
    assert len(register_events(db, parakou)) == 1  # the register keeps no village

    form = await web.get(path)
    assert 'value="Banikanni"' in form.text
    phone = await web.post(
        path,
        data={
            "phone": "96 00 00 01",  # an old 8-digit number, as people still give it
            "village": "Banikanni",
            "version": hidden(form, "version"),
            "csrf": csrf,
        },
    )
    assert phone.status_code == 303
    db.expire_all()
    household = db.get(models.Household, parakou)
    assert household is not None
    assert (household.phone, household.village) == ("+2290196000001", "Banikanni")
    assert [e.kind for e in register_events(db, parakou)] == [
        "household_enrolled",
        "household_updated",
    ]
    changes = [e.details["changes"] for e in audit_rows(db, "household_corrected")]
    assert changes == [
        {"village": {"before": None, "after": "Banikanni"}},
        {"phone": {"before": PARAKOU_PHONE, "after": "+2290196000001"}},
    ]
    shown = text_of(await web.get(f"/admin/households/{parakou}"))
    assert f"Téléphone : {PARAKOU_PHONE} → +2290196000001" in shown


async def test_a_phone_that_cannot_be_read_is_refused_with_an_example(
    web: httpx.AsyncClient, app: Starlette, parakou: int, db: Session
) -> None:
    csrf = await logged_in(web, app, *MANAGER)
    path = f"/admin/households/{parakou}/contact"
    form = await web.get(path)
    answer = await web.post(
        path,
        data={"phone": "12", "village": "x" * 61, "version": hidden(form, "version"), "csrf": csrf},
    )
    assert answer.status_code == 400
    shown = text_of(answer)
    assert "Exemple : 01 97 00 07 01" in shown and "60 caractères au plus" in shown
    assert audit_rows(db, "household_corrected") == []


# -- refusals ----------------------------------------------------------------------------------


async def test_forms_without_the_session_token_or_from_another_site_are_refused(
    web: httpx.AsyncClient, app: Starlette, parakou: int, db: Session
) -> None:
    csrf = await logged_in(web, app, *MANAGER)
    path = member_page(parakou, members(db, parakou)[1])
    form = await web.get(path)
    fields = {
        "last_name": "DOSSOU",
        "first_names": "Afi",
        "birth_date": "1990",
        "version": hidden(form, "version"),
    }
    assert (await web.post(path, data=fields)).status_code == 403
    changed = csrf[:-1] + ("B" if csrf.endswith("A") else "A")
    assert (await web.post(path, data={**fields, "csrf": changed})).status_code == 403
    cross = await web.post(
        path, data={**fields, "csrf": csrf}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    assert members(db, parakou)[1].last_name == "ASSOGBA"
    assert audit_rows(db, "member_corrected") == []


@pytest.mark.parametrize(("who", "reason"), [(OTHER_MANAGER, "outside_scope"), (VIEWER, "role")])
async def test_a_correction_outside_ones_role_or_scope_is_refused_and_audited(
    web: httpx.AsyncClient,
    app: Starlette,
    parakou: int,
    db: Session,
    who: tuple[str, str | None],
    reason: str,
) -> None:
    csrf = await logged_in(web, app, *who)
    child = members(db, parakou)[1]
    member = await web.post(
        member_page(parakou, child),
        data={
            "last_name": "DOSSOU",
            "first_names": "Afi",
            "birth_date": "1990",
            "version": "anything",
            "csrf": csrf,
        },
    )
    contact = await web.post(
        f"/admin/households/{parakou}/contact",
        data={"phone": KANDI_PHONE, "village": "", "version": "anything", "csrf": csrf},
    )
    assert member.status_code == contact.status_code == 403
    assert "Accès refusé" in member.text
    assert members(db, parakou)[1].last_name == "ASSOGBA"
    db.expire_all()
    household = db.get(models.Household, parakou)
    assert household is not None and household.phone == PARAKOU_PHONE
    assert len(register_events(db, parakou)) == 1
    refusals = audit_rows(db, "household_change_refused")
    assert [(r.household_id, r.member_no, r.details) for r in refusals] == [
        (parakou, child.member_no, {"change": "member", "reason": reason}),
        (parakou, None, {"change": "contact", "reason": reason}),
    ]


async def test_a_stale_form_is_refused_with_the_values_now(
    web: httpx.AsyncClient, app: Starlette, parakou: int, db: Session
) -> None:
    csrf = await logged_in(web, app, *MANAGER)
    path = member_page(parakou, members(db, parakou)[1])
    opened = await web.get(path)  # a colleague's form, left open
    assert (await correct_member(web, path, csrf, first_names="Afiya")).status_code == 303

    late = await web.post(
        path,
        data={
            "last_name": "ASSOGBA",
            "first_names": "Afiwa",
            "birth_date": "1990",
            "version": hidden(opened, "version"),
            "csrf": csrf,
        },
    )

    assert late.status_code == 409
    shown = text_of(late)
    assert "a été modifié depuis l'ouverture du formulaire" in shown
    assert "Prénoms Afiya" in shown  # the value now
    assert 'value="Afiwa"' in late.text  # what they typed, to send again once checked
    assert members(db, parakou)[1].first_names == "Afiya"
    assert len(audit_rows(db, "member_corrected")) == 1
    again = await web.post(
        path,
        data={
            "last_name": "ASSOGBA",
            "first_names": "Afiwa",
            "birth_date": "1990",
            "version": hidden(late, "version"),
            "csrf": csrf,
        },
    )
    assert again.status_code == 303 and members(db, parakou)[1].first_names == "Afiwa"


async def test_a_viewer_reads_the_history_masked(
    web: httpx.AsyncClient, app: Starlette, parakou: int, db: Session
) -> None:
    csrf = await logged_in(web, app, *MANAGER)
    path = f"/admin/households/{parakou}/contact"
    form = await web.get(path)
    await web.post(
        path,
        data={
            "phone": "0196000001",
            "village": "Banikanni",
            "version": hidden(form, "version"),
            "csrf": csrf,
        },
    )
    await correct_member(
        web, member_page(parakou, members(db, parakou)[1]), csrf, last_name="DOSSOU"
    )

    await logged_in(web, app, *VIEWER)
    page = await web.get(f"/admin/households/{parakou}")
    shown = text_of(page)
    assert "Historique des modifications" in shown
    assert "Nom de famille : A. → D." in shown
    assert "Téléphone : +229********01 → +229********01" in shown
    assert "Village : — → •••" in shown
    for secret in ("DOSSOU", "Banikanni", "0196000001", "mutual_manager.ms-parakou"):
        assert secret not in page.text
    assert "staff:" in shown  # the manager by number only
    assert "/contact" not in page.text  # no correction links for a viewer
