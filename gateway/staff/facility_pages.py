"""`/admin/facilities`: health facilities, as `alafia facilities ...` manages them, from a
browser. Central staff only: a facility checks the cover of members of every mutual.

    GET  /admin/facilities                 the list, and the form to add one
    POST /admin/facilities                 add: its API key is shown on the answer, once
    GET  /admin/facilities/{code}          one facility: desk phones, key prefix, actions
    POST /admin/facilities/{code}/phones   set its desk phones
    POST /admin/facilities/{code}/new-key  after a confirmation step: a new key, shown once
    POST /admin/facilities/{code}/revoke   after a confirmation step

An API key appears only in the page that answers the POST which made it: never in a URL
(it would stay in the browser's history and the proxy's logs), never in the audit log
(only its prefix), and the page is not cached (`Cache-Control: no-store`). Every change
goes through `gateway.register.facilities.Facilities`, the register capability's own
(so a revoked key stops at once in this process), audited with `staff:<id>`.

Forms carry the facility's version (its key, revocation and desk phones as shown); a
form shown before someone else changed the facility is refused (409) with the facility
as it is now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.actors import staff_actor
from gateway.register import facilities as rules
from gateway.register.facilities import FacilityError
from gateway.staff.auth import StaffUser
from gateway.staff.dashboard import dashboard_of
from gateway.staff.form_fields import (
    BadPhone,
    Errors,
    FieldError,
    form_text,
    phone_examples,
    read_phones,
    readable_phone,
)
from gateway.staff.guard import Forbidden, NotFound, staff_page
from gateway.staff.management import may_manage_facilities
from gateway.staff.pages import add_nav_link, render
from gateway.staff.refusals import refuse

PAGE = "/admin/facilities"
CONFIRMED = {"new-key": "facility_key_replaced", "revoke": "facility_revoked"}
FIELDS = {
    rules.BAD_CODE: "code",
    rules.CODE_TAKEN: "code",
    rules.NAME: "name",
    rules.PHONE_TAKEN: "phones",
    rules.AGENT_PHONE: "phones",
    rules.CONFLICT: "form",
}
NOTICES = ("phones", "revoke")  # what `?done=` may say after a change

add_nav_link(PAGE, "facilities.nav", lambda staff: may_manage_facilities(staff.scope))


@dataclass(frozen=True)
class FacilityView:
    """A facility as its pages show it (`Facilities.listing`'s row, phones readable)."""

    code: str
    name: str
    key_prefix: str  # shown as alf_<prefix>_…, which is all that is kept besides the hash
    revoked: bool
    phones: list[str]  # as people read them
    version: str  # what a form carries back (gateway.register.facilities.version_of)

    @classmethod
    def of(cls, row: dict[str, Any]) -> FacilityView:
        return cls(
            code=str(row["code"]),
            name=str(row["name"]),
            key_prefix=str(row["key_prefix"]),
            revoked=bool(row["revoked"]),
            phones=[readable_phone(phone) for phone in row["phones"]],
            version=str(row["version"]),
        )


@dataclass(frozen=True)
class NewFacility:
    code: str  # as typed
    name: str
    phones: str  # the box's text, one phone a line


@staff_page
async def facilities(request: Request, staff: StaffUser) -> Response:
    if not may_manage_facilities(staff.scope):
        if request.method == "POST":
            form = await request.form()
            await refuse(request, staff, "facility_added", code=form_text(form, "code", 32))
        raise Forbidden()
    if request.method == "GET":
        return await _list_page(request, NewFacility("", "", ""), {})
    dashboard = dashboard_of(request)
    form = await request.form()
    typed = NewFacility(
        form_text(form, "code", 32), form_text(form, "name", 120), form_text(form, "phones", 2000)
    )
    errors: Errors = {}
    for field, check in (("code", rules.facility_code), ("name", rules.facility_name)):
        try:
            check(getattr(typed, field))
        except FacilityError as error:
            errors[field] = FieldError(f"facilities.error.{error.reason}")
    phones = _phones(typed.phones, dashboard.country, errors)
    if not errors:
        try:
            made, key = await dashboard.management.facilities.add(
                typed.code, typed.name, phones, by=staff_actor(staff.id)
            )
        except FacilityError as error:
            errors[FIELDS[error.reason]] = _error(error)
        else:
            return render(
                request, "facility_key.html", {"code": made.code, "key": key, "new": True}
            )
    return await _list_page(request, typed, errors)


@staff_page
async def facility(request: Request, staff: StaffUser) -> Response:
    found = await _facility(request, staff)
    done = request.query_params.get("done")
    return _facility_page(request, found, done=done if done in NOTICES else None)


@staff_page
async def phones(request: Request, staff: StaffUser) -> Response:
    found = await _facility(request, staff, "facility_phones_set")
    dashboard = dashboard_of(request)
    form = await request.form()
    typed = form_text(form, "phones", 2000)
    if form.get("version") != found.version:
        return _facility_page(request, found, stale=True)
    errors: Errors = {}
    desk = _phones(typed, dashboard.country, errors)
    if not errors:
        try:
            await dashboard.management.facilities.set_phones(
                found.code, desk, by=staff_actor(staff.id), expected=found.version
            )
        except FacilityError as error:
            if error.reason == rules.STALE:
                return _facility_page(request, await _facility(request, staff), stale=True)
            if error.reason not in FIELDS:  # NO_FACILITY: gone since it was read
                raise NotFound() from None
            errors[FIELDS[error.reason]] = _error(error)
        else:
            return RedirectResponse(f"{PAGE}/{found.code}?done=phones", status_code=303)
    return _facility_page(request, found, phones=typed, errors=errors)


@staff_page
async def change(request: Request, staff: StaffUser) -> Response:
    name = request.path_params["change"]
    if name not in CONFIRMED:
        raise NotFound()
    found = await _facility(request, staff, CONFIRMED[name])
    form = await request.form()
    version = found.version
    if form.get("version") != version:
        return _facility_page(request, found, stale=True)
    if form.get("step") != "do":
        return render(request, "facility_confirm.html", {"facility": found, "change": name})
    management = dashboard_of(request).management
    code, by = found.code, staff_actor(staff.id)
    try:
        if name == "revoke":
            await management.facilities.revoke(code, by=by, expected=version)
        else:
            key = await management.facilities.new_key(code, by=by, expected=version)
    except FacilityError as error:
        if error.reason != rules.STALE:  # NO_FACILITY: gone since it was read
            raise NotFound() from None
        return _facility_page(request, await _facility(request, staff), stale=True)
    if name == "revoke":
        return RedirectResponse(f"{PAGE}/{code}?done=revoke", status_code=303)
    return render(request, "facility_key.html", {"code": code, "key": key, "new": False})


async def _facility(request: Request, staff: StaffUser, action: str | None = None) -> FacilityView:
    """The facility of the URL, for central staff only; for anyone else a change
    (`action`) is refused and audited."""
    code = request.path_params["code"]
    if not may_manage_facilities(staff.scope):
        if action is not None:
            await refuse(request, staff, action, code=code[:32])
        raise Forbidden()
    found = await dashboard_of(request).management.facilities.listing(code)
    if not found:
        raise NotFound()
    return FacilityView.of(found[0])


def _phones(typed: str, country: str, errors: Errors) -> list[str]:
    try:
        return read_phones(typed, country)
    except BadPhone as bad:
        errors["phones"] = FieldError(
            "facilities.error.phone", {"typed": bad.typed[:40], **phone_examples(country)}
        )
        return []


def _error(error: FacilityError) -> FieldError:
    return FieldError(f"facilities.error.{error.reason}", {"phone": error.phone or ""})


async def _list_page(request: Request, typed: NewFacility, errors: Errors) -> Response:
    dashboard = dashboard_of(request)
    return render(
        request,
        "facilities.html",
        {
            "facilities": [
                FacilityView.of(row) for row in await dashboard.management.facilities.listing()
            ],
            "typed": typed,
            "errors": errors,
            "examples": phone_examples(dashboard.country),
        },
        status_code=400 if errors else 200,
    )


def _facility_page(
    request: Request,
    found: FacilityView,
    *,
    done: str | None = None,
    stale: bool = False,
    phones: str | None = None,
    errors: Errors | None = None,
) -> Response:
    return render(
        request,
        "facility.html",
        {
            "facility": found,
            "phones": "\n".join(found.phones) if phones is None else phones,
            "done": done,
            "stale": stale,
            "errors": errors or {},
            "examples": phone_examples(dashboard_of(request).country),
        },
        status_code=409 if stale else 400 if errors else 200,
    )
