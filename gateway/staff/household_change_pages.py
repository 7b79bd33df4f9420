"""The household correction pages, under `/admin/households/<id>/...`:

- `contact`: the household's contact phone and village;
- `members/<member number>`: a member's family name, first names and birth date;
- `members/<member number>/move`: the member to another household, in two steps: the
  plan (persons, premiums and cover of both households, before and after), then its
  confirmation.

Each form carries the version of what it showed; a stale one is refused (409) with the
values as they are now. Problems are shown next to their field (400); a household
outside the staff member's role or scope answers 403 (audited when it was a POST). A
correction done redirects to the household's page, where its history shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.staff.auth import StaffUser
from gateway.staff.dashboard import dashboard_of
from gateway.staff.guard import Forbidden, NotFound, staff_page
from gateway.staff.household_changes import (
    ContactFacts,
    HouseholdChanges,
    MemberFacts,
    NoSuchRecord,
    Refused,
    Stale,
)
from gateway.staff.household_forms import (
    RELATIONSHIPS,
    FormProblems,
    read_contact,
    read_member,
    read_move,
    typed,
)
from gateway.staff.household_moves import MemberMoves, MovePlan, MoveRefused
from gateway.staff.pages import render

BASE = "/admin/households/{household_id:int}"


def _changes(request: Request) -> HouseholdChanges:
    dashboard = dashboard_of(request)
    return HouseholdChanges(dashboard.sessions, dashboard.now)


def _moves(request: Request) -> MemberMoves:
    dashboard = dashboard_of(request)
    return MemberMoves(dashboard.sessions, dashboard.now, _changes(request))


def _household_id(request: Request) -> int:
    return int(request.path_params["household_id"])


def _done(household_id: int, notice: str) -> Response:
    return RedirectResponse(f"/admin/households/{household_id}?done={notice}", status_code=303)


# -- the contact phone and the village ---------------------------------------------------


@staff_page
async def contact(request: Request, staff: StaffUser) -> Response:
    household_id = _household_id(request)
    changes = _changes(request)
    try:
        if request.method == "POST":  # a refusal audited, before anything is read
            await changes.authorise(staff.id, staff.scope, household_id, "contact")
        current = await changes.contact(staff.scope, household_id)
        if request.method == "GET":
            shown = {"phone": current.phone, "village": current.village or ""}
            return _contact_page(request, current, shown, current.version)
        form = await request.form()
        shown = {"phone": typed(form, "phone", 40), "village": typed(form, "village", 400)}
        version = typed(form, "version", 64)
        try:
            corrected = read_contact(form, dashboard_of(request).country)
        except FormProblems as problems:
            return _contact_page(request, current, shown, version, problems=problems.problems)
        try:
            changed = await changes.correct_contact(
                staff.id, staff.scope, household_id, version, corrected
            )
        except Stale as stale:
            now: ContactFacts = stale.current
            return _contact_page(request, now, shown, now.version, stale=True)
    except Refused:
        raise Forbidden() from None
    except NoSuchRecord:
        raise NotFound() from None
    return _done(household_id, "corrected" if changed else "unchanged")


def _contact_page(
    request: Request,
    current: ContactFacts,
    shown: Mapping[str, str],
    version: str,
    *,
    problems: Mapping[str, str] | None = None,
    stale: bool = False,
) -> Response:
    return render(
        request,
        "household_contact.html",
        {
            "current": current,
            "shown": shown,
            "version": version,
            "problems": problems or {},
            "stale": stale,
        },
        status_code=_status(problems, stale),
    )


# -- a member's names and birth date ------------------------------------------------------


@staff_page
async def member(request: Request, staff: StaffUser) -> Response:
    household_id = _household_id(request)
    member_no = str(request.path_params["member_no"])
    changes = _changes(request)
    try:
        if request.method == "POST":
            await changes.authorise(staff.id, staff.scope, household_id, "member", member_no)
        current = await changes.member(staff.scope, household_id, member_no)
        if not current.last_name or not current.first_names:
            # A name said on the voice line is written on its own page, with its
            # recording, and releases the household's SMS once the last is typed.
            return RedirectResponse("/admin/transcriptions", status_code=303)
        if request.method == "GET":
            return _member_page(request, current, _member_shown(current), current.version)
        form = await request.form()
        shown = {
            "last_name": typed(form, "last_name", 80),
            "first_names": typed(form, "first_names", 80),
            "birth_date": typed(form, "birth_date", 20),
        }
        version = typed(form, "version", 64)
        try:
            identity = read_member(form, dashboard_of(request).now().date())
        except FormProblems as problems:
            return _member_page(request, current, shown, version, problems=problems.problems)
        try:
            changed = await changes.correct_member(
                staff.id, staff.scope, household_id, member_no, version, identity
            )
        except Stale as stale:
            now: MemberFacts = stale.current
            return _member_page(request, now, shown, now.version, stale=True)
    except Refused:
        raise Forbidden() from None
    except NoSuchRecord:
        raise NotFound() from None
    return _done(household_id, "corrected" if changed else "unchanged")


def _member_shown(current: MemberFacts) -> dict[str, str]:
    return {
        "last_name": current.last_name,
        "first_names": current.first_names,
        "birth_date": current.birth_date_text,
    }


def _member_page(
    request: Request,
    current: MemberFacts,
    shown: Mapping[str, str],
    version: str,
    *,
    problems: Mapping[str, str] | None = None,
    stale: bool = False,
) -> Response:
    return render(
        request,
        "household_member.html",
        {
            "current": current,
            "shown": shown,
            "version": version,
            "problems": problems or {},
            "stale": stale,
        },
        status_code=_status(problems, stale),
    )


# -- moving a member ------------------------------------------------------------------------


@staff_page
async def move(request: Request, staff: StaffUser) -> Response:
    household_id = _household_id(request)
    member_no = str(request.path_params["member_no"])
    changes = _changes(request)
    try:
        if request.method == "POST":
            await changes.authorise(staff.id, staff.scope, household_id, "move", member_no)
        current = await changes.member(staff.scope, household_id, member_no)
        if request.method == "GET":
            return _move_form(request, current, {"to_member_no": "", "relationship": ""})
        form = await request.form()
        return await _move_step(request, staff, current, form)
    except Refused:
        raise Forbidden() from None
    except NoSuchRecord:
        raise NotFound() from None


async def _move_step(
    request: Request, staff: StaffUser, current: MemberFacts, form: FormData
) -> Response:
    shown = {
        "to_member_no": typed(form, "to_member_no", 40),
        "relationship": typed(form, "relationship", 20),
    }
    try:
        wanted = read_move(form)
    except FormProblems as problems:
        return _move_form(request, current, shown, problems=problems.problems)
    moves = _moves(request)
    household_id, member_no = current.household_id, current.member_no
    try:
        if form.get("step") != "confirm":
            plan = await moves.plan(staff.id, staff.scope, household_id, member_no, wanted)
            return _move_plan(request, plan, shown)
        version = typed(form, "version", 64)
        done = await moves.move(staff.id, staff.scope, household_id, member_no, wanted, version)
    except MoveRefused as refused:
        return _move_form(request, current, shown, refused=refused)
    except Stale as stale:
        return _move_plan(request, stale.current, shown, stale=True)
    return _done(done.target.household_id, "moved")


def _move_form(
    request: Request,
    current: MemberFacts,
    shown: Mapping[str, str],
    *,
    problems: Mapping[str, str] | None = None,
    refused: MoveRefused | None = None,
) -> Response:
    found = dict(problems or {})
    if refused is not None and refused.field is not None:
        found[refused.field] = refused.key
    general = refused if refused is not None and refused.field is None else None
    return render(
        request,
        "household_move.html",
        {
            "current": current,
            "shown": shown,
            "relationships": RELATIONSHIPS,
            "problems": found,
            "refused": general,
        },
        status_code=400 if found or general else 200,
    )


def _move_plan(
    request: Request, plan: MovePlan, shown: Mapping[str, str], *, stale: bool = False
) -> Response:
    context: dict[str, Any] = {"plan": plan, "shown": shown, "stale": stale}
    return render(request, "household_move_plan.html", context, status_code=409 if stale else 200)


def _status(problems: Mapping[str, str] | None, stale: bool) -> int:
    if stale:
        return 409
    return 400 if problems else 200


PAGES = [
    (f"{BASE}/contact", contact, ["GET", "POST"]),
    (f"{BASE}/members/{{member_no}}", member, ["GET", "POST"]),
    (f"{BASE}/members/{{member_no}}/move", move, ["GET", "POST"]),
]
