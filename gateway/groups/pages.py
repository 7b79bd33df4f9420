"""`/admin/groups` and `/admin/exemptions`: group payers and exemptions from a browser.

    GET  /admin/groups                  the groups of the staff member's unit; add one
    POST /admin/groups                  add a group
    GET  /admin/groups/{code}           its invoices (one per contract year); forms
    POST /admin/groups/{code}/contract  sign a year's contract
    POST /admin/groups/{code}/join      a household (by member number) joins it
    POST /admin/groups/{code}/transfer  record a transfer, once per reference
    GET  /admin/exemptions?member=NO    a member's exemptions; the form to add one
    POST /admin/exemptions              record one (audited)

Staff see only the groups and members of their unit (`Scope.covers`); outside it a
group or member is "not found". Viewers read, never write (403 on every POST). Each
change is audited with `staff:<id>` by the service it calls.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from db import models
from db.values import StaffRole, UnitLevel
from gateway.actors import staff_actor
from gateway.groups.exemption_desk import ExemptionDesk
from gateway.groups.exemption_rules import GROUNDS, ExemptionRefused
from gateway.groups.payers import KINDS, GroupError, GroupPayers
from gateway.staff.auth import StaffUser
from gateway.staff.dashboard import Dashboard, dashboard_of, serving
from gateway.staff.form_fields import form_text, read_phone
from gateway.staff.guard import Forbidden, NotFound, staff_page
from gateway.staff.pages import add_nav_link, render
from gateway.staff.scope_sql import within_scope
from menus.identifiers import PhoneNumberError

GROUPS = "/admin/groups"
EXEMPTIONS = "/admin/exemptions"

add_nav_link(GROUPS, "groups.nav")
add_nav_link(EXEMPTIONS, "exemptions.nav")


def routes(dashboard: Dashboard) -> list[BaseRoute]:
    pages = [
        (GROUPS, groups, ["GET", "POST"]),
        (GROUPS + "/{code}", group, ["GET"]),
        (GROUPS + "/{code}/{change}", group_change, ["POST"]),
        (EXEMPTIONS, exemptions, ["GET", "POST"]),
    ]
    return [Route(path, serving(dashboard, page), methods=methods) for path, page, methods in pages]


def _writer(staff: StaffUser) -> None:
    if staff.scope.role == StaffRole.VIEWER:
        raise Forbidden()


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@staff_page
async def groups(request: Request, staff: StaffUser) -> Response:
    dashboard = dashboard_of(request)
    service = GroupPayers(dashboard.sessions)
    error = None
    if request.method == "POST":
        _writer(staff)
        form = await request.form()
        try:
            treasurer = form_text(form, "treasurer", 30)
            try:
                phone = read_phone(treasurer, dashboard.country) if treasurer else None
            except PhoneNumberError:
                raise GroupError("phone") from None
            await service.add(
                form_text(form, "code", 24).upper(),
                form_text(form, "name", 120),
                form_text(form, "kind", 16),
                form_text(form, "mutual", 32),
                phone,
                by=staff_actor(staff.id),
                scope=staff.scope,
                now=dashboard.now(),
            )
        except GroupError as refusal:
            error = f"groups.error.{refusal.reason}"
        except PermissionError as outside:
            raise Forbidden() from outside
        else:
            return RedirectResponse(GROUPS, status_code=303)
    async with dashboard.sessions() as session:
        mutuals = (
            await session.execute(
                select(models.SchemeUnit.code, models.SchemeUnit.name)
                .where(
                    models.SchemeUnit.level == UnitLevel.MUTUAL,
                    within_scope(staff.scope, models.SchemeUnit.path),
                )
                .order_by(models.SchemeUnit.name)
            )
        ).all()
    return render(
        request,
        "groups.html",
        {
            "groups": await service.listing(staff.scope),
            "mutuals": list(mutuals),
            "kinds": KINDS,
            "writer": staff.scope.role != StaffRole.VIEWER,
            "error": error,
        },
        status_code=400 if error else 200,
    )


@staff_page
async def group(request: Request, staff: StaffUser) -> Response:
    return await _group_page(request, staff, request.path_params["code"])


async def _group_page(
    request: Request, staff: StaffUser, code: str, *, error: str | None = None
) -> Response:
    dashboard = dashboard_of(request)
    service = GroupPayers(dashboard.sessions)
    try:
        invoices = await service.invoices(code, staff.scope)
    except LookupError as unknown:
        raise NotFound() from unknown
    async with dashboard.sessions() as session:
        products = (
            await session.scalars(select(models.Product.code).order_by(models.Product.code))
        ).all()
    done = request.query_params.get("done")
    return render(
        request,
        "group.html",
        {
            "code": code,
            "invoices": invoices,
            "products": products,
            "writer": staff.scope.role != StaffRole.VIEWER,
            "error": error,
            "done": done if done in ("contract", "join", "transfer") else None,
        },
        status_code=400 if error else 200,
    )


@staff_page
async def group_change(request: Request, staff: StaffUser) -> Response:
    _writer(staff)
    code, change = request.path_params["code"], request.path_params["change"]
    dashboard = dashboard_of(request)
    service = GroupPayers(dashboard.sessions)
    form = await request.form()
    by, now = staff_actor(staff.id), dashboard.now()
    try:
        if change == "contract":
            year, starts, ends = (
                form_text(form, "year", 4),
                _day(form_text(form, "from", 10)),
                _day(form_text(form, "to", 10)),
            )
            if not year.isdigit() or starts is None or ends is None:
                raise GroupError("dates")
            await service.sign(
                code,
                int(year),
                form_text(form, "product", 32),
                starts,
                ends,
                by=by,
                scope=staff.scope,
                now=now,
            )
        elif change == "join":
            await service.join(
                code, form_text(form, "member_no", 12), by=by, scope=staff.scope, now=now
            )
        elif change == "transfer":
            amount = form_text(form, "amount", 12)
            received = _day(form_text(form, "received_on", 10)) or now.date()
            if not amount.isdigit() or int(amount) <= 0:
                raise GroupError("amount")
            await service.record_transfer(
                code,
                int(amount),
                form_text(form, "reference", 64),
                received,
                by=by,
                scope=staff.scope,
                now=now,
            )
        else:
            raise NotFound()
    except LookupError as unknown:
        raise NotFound() from unknown
    except GroupError as refusal:
        return await _group_page(request, staff, code, error=f"groups.error.{refusal.reason}")
    return RedirectResponse(f"{GROUPS}/{code}?done={change}", status_code=303)


@staff_page
async def exemptions(request: Request, staff: StaffUser) -> Response:
    dashboard = dashboard_of(request)
    desk = ExemptionDesk(dashboard.sessions)
    member_no = request.query_params.get("member", "").strip()[:12]
    error = None
    recorded = False
    if request.method == "POST":
        _writer(staff)
        form = await request.form()
        member_no = form_text(form, "member_no", 12)
        starts = _day(form_text(form, "from", 10)) or dashboard.now().date()
        until = form_text(form, "until", 10)
        ends = _day(until)
        try:
            if until and ends is None:
                raise ExemptionRefused("bad_date")
            recorded = await desk.record(
                member_no,
                form_text(form, "ground", 16),
                starts,
                ends,
                by=staff_actor(staff.id),
                scope=staff.scope,
                now=dashboard.now(),
            )
        except ExemptionRefused as refusal:
            error = f"exemptions.error.{refusal.reason}"
        else:
            return RedirectResponse(
                f"{EXEMPTIONS}?member={member_no}&done={int(recorded)}", status_code=303
            )
    found = []
    if member_no and error is None:
        try:
            found = await desk.of_member(member_no, staff.scope)
        except ExemptionRefused as refusal:
            error = f"exemptions.error.{refusal.reason}"
    return render(
        request,
        "exemptions.html",
        {
            "member_no": member_no,
            "exemptions": found,
            "grounds": GROUNDS,
            "writer": staff.scope.role != StaffRole.VIEWER,
            "error": error,
            "done": request.query_params.get("done") == "1",
        },
        status_code=400 if error and request.method == "POST" else 200,
    )
