"""`/admin/staff`: dashboard accounts, for central admins only, through the service the
shell's `alafia staff` uses (`gateway.staff.accounts.StaffAccounts`), under its rules
and with its audit (the actor is `staff:<id>` instead of `cli:<user>`).

- `/admin/staff`: every account, its role, scope and state;
- `/admin/staff/new`: add one (email, role, scope); the page then shows, once, the code
  with which the person sets their own password at `/admin/password`;
- `/admin/staff/<id>`: one account, and what can be done to it:
  `unlock` (one click), `password` (a new code; the old password stops working),
  `disable` and `role` (role and scope), each confirmed on a page of its own first.

A central admin cannot disable their own account nor change their own role here (there
would be nobody left to undo it): another central admin, or the shell, does that.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from db import models
from db.engine import as_aware
from db.values import StaffRole
from gateway.actors import staff_actor
from gateway.staff.account_rules import StaffAccountError
from gateway.staff.account_views import StaffAccountView
from gateway.staff.accounts import StaffAccounts
from gateway.staff.auth import StaffUser
from gateway.staff.dashboard import dashboard_of
from gateway.staff.guard import Forbidden, NotFound, staff_page
from gateway.staff.household_forms import typed
from gateway.staff.pages import add_nav_link, render
from gateway.staff.password_codes import PasswordCode
from gateway.staff.scope import ROLES

PAGE = "/admin/staff"

add_nav_link(PAGE, "accounts.nav", lambda staff: staff.role == StaffRole.CENTRAL_ADMIN)


@dataclass(frozen=True)
class AccountLine:
    account: StaffAccountView
    state: str  # active, locked, disabled, code_given (no password yet), code_expired


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str


def _accounts(request: Request) -> StaffAccounts:
    dashboard = dashboard_of(request)
    return StaffAccounts(dashboard.sessions, dashboard.now, dashboard.logins)


def _central_admin(staff: StaffUser) -> None:
    if staff.role != StaffRole.CENTRAL_ADMIN:
        raise Forbidden()


async def _account(request: Request) -> StaffAccountView:
    found = await _accounts(request).get(int(request.path_params["staff_id"]))
    if found is None:
        raise NotFound()
    return _in_scheme_time(request, found)


def _in_scheme_time(request: Request, account: StaffAccountView) -> StaffAccountView:
    """Its times as the scheme's clock reads them: PostgreSQL hands them back in the
    connection's zone (often UTC, an hour behind Benin), SQLite without a zone."""
    now = dashboard_of(request).now()

    def local(moment: datetime | None) -> datetime | None:
        return None if moment is None else as_aware(moment, now).astimezone(now.tzinfo)

    return dataclasses.replace(
        account,
        disabled_at=local(account.disabled_at),
        locked_until=local(account.locked_until),
        last_login_at=local(account.last_login_at),
        password_code_until=local(account.password_code_until),
    )


def _state(request: Request, account: StaffAccountView) -> str:
    now = dashboard_of(request).now()
    if account.disabled_at is not None:
        return "disabled"
    if account.locked_until is not None and as_aware(account.locked_until, now) > now:
        return "locked"
    code_until = account.password_code_until
    if code_until is not None:
        return "code_given" if as_aware(code_until, now) > now else "code_expired"
    return "active"


async def _units(request: Request) -> list[Unit]:
    async with dashboard_of(request).sessions() as session:
        rows = await session.execute(
            select(models.SchemeUnit.code, models.SchemeUnit.name, models.SchemeUnit.level)
            .where(models.SchemeUnit.level != "village_group")
            .order_by(models.SchemeUnit.path)
        )
        return [Unit(code, name, level) for code, name, level in rows.all()]


# -- the list and a new account ----------------------------------------------------------------


@staff_page
async def staff_list(request: Request, staff: StaffUser) -> Response:
    _central_admin(staff)
    accounts = [_in_scheme_time(request, a) for a in await _accounts(request).list()]
    lines = [AccountLine(a, _state(request, a)) for a in accounts]
    return render(request, "staff_list.html", {"lines": lines})


@staff_page
async def staff_new(request: Request, staff: StaffUser) -> Response:
    _central_admin(staff)
    if request.method == "GET":
        return await _new_page(request, {"email": "", "role": "", "scope": ""})
    form = await request.form()
    shown = {
        "email": typed(form, "email", 200),
        "role": typed(form, "role", 20),
        "scope": typed(form, "scope", 32),
    }
    try:
        account_id, code = await _accounts(request).add_with_code(
            shown["email"], shown["role"], shown["scope"] or None, staff_actor(staff.id)
        )
    except StaffAccountError as error:
        return await _new_page(request, shown, error)
    account = await _accounts(request).get(account_id)
    assert account is not None
    return _code_page(request, _in_scheme_time(request, account), code, added=True)


async def _new_page(
    request: Request, shown: Mapping[str, str], error: StaffAccountError | None = None
) -> Response:
    problems, general = _problems(error)
    return render(
        request,
        "staff_new.html",
        {
            "shown": shown,
            "roles": ROLES,
            "units": await _units(request),
            "problems": problems,
            "error": general,
        },
        status_code=400 if error else 200,
    )


# -- one account ----------------------------------------------------------------------------------


@staff_page
async def staff_account(request: Request, staff: StaffUser) -> Response:
    _central_admin(staff)
    account = await _account(request)
    done = request.query_params.get("done")
    return render(
        request,
        "staff_account.html",
        {
            "account": account,
            "state": _state(request, account),
            "own": account.id == staff.id,
            "done": done if done in ("unlocked", "disabled", "role", "unchanged") else None,
        },
    )


@staff_page
async def staff_unlock(request: Request, staff: StaffUser) -> Response:
    _central_admin(staff)
    account = await _account(request)
    await _accounts(request).unlock(account.email, staff_actor(staff.id))
    return _back_to(account, "unlocked")


@staff_page
async def staff_disable(request: Request, staff: StaffUser) -> Response:
    _central_admin(staff)
    account = await _account(request)
    if account.id == staff.id:
        return _confirm_page(request, account, "disable", refused="accounts.error.self")
    if request.method == "GET":
        return _confirm_page(request, account, "disable")
    await _accounts(request).disable(account.email, staff_actor(staff.id))
    return _back_to(account, "disabled")


@staff_page
async def staff_password(request: Request, staff: StaffUser) -> Response:
    _central_admin(staff)
    account = await _account(request)
    if request.method == "GET":
        return _confirm_page(request, account, "password")
    try:
        code = await _accounts(request).issue_password_code(account.email, staff_actor(staff.id))
    except StaffAccountError as error:
        return _confirm_page(request, account, "password", refused=_key(error))
    return _code_page(request, account, code, added=False)


@staff_page
async def staff_role(request: Request, staff: StaffUser) -> Response:
    """The role and scope form, then the confirmation (`step=confirm`), which carries the
    role and scope it was shown so that a change made meanwhile is not overwritten."""
    _central_admin(staff)
    account = await _account(request)
    current = {"role": account.role, "scope": account.scope_code or ""}
    if account.id == staff.id:
        return await _role_page(request, account, current, refused="accounts.error.self")
    if request.method == "GET":
        return await _role_page(request, account, current)
    form = await request.form()
    wanted = {"role": typed(form, "role", 20), "scope": typed(form, "scope", 32)}
    accounts = _accounts(request)
    try:
        await accounts.check_role(wanted["role"], wanted["scope"] or None)
    except StaffAccountError as error:
        return await _role_page(request, account, wanted, error=error)
    was = {"role": typed(form, "from_role", 20), "scope": typed(form, "from_scope", 32)}
    if form.get("step") != "confirm" or was != current:
        return _role_confirm_page(request, account, wanted, stale=form.get("step") == "confirm")
    changed = await accounts.change_role(
        account.email, wanted["role"], wanted["scope"] or None, staff_actor(staff.id)
    )
    return _back_to(account, "role" if changed else "unchanged")


async def _role_page(
    request: Request,
    account: StaffAccountView,
    shown: Mapping[str, str],
    *,
    error: StaffAccountError | None = None,
    refused: str | None = None,
) -> Response:
    problems, general = _problems(error)
    return render(
        request,
        "staff_role.html",
        {
            "account": account,
            "shown": shown,
            "roles": ROLES,
            "units": await _units(request),
            "problems": problems,
            "error": general or refused,
        },
        status_code=_status(request, error or refused),
    )


def _role_confirm_page(
    request: Request, account: StaffAccountView, wanted: Mapping[str, str], *, stale: bool
) -> Response:
    context: dict[str, Any] = {"account": account, "wanted": wanted, "stale": stale}
    return render(request, "staff_role_confirm.html", context, status_code=409 if stale else 200)


def _confirm_page(
    request: Request, account: StaffAccountView, action: str, *, refused: str | None = None
) -> Response:
    return render(
        request,
        "staff_confirm.html",
        {"account": account, "action": action, "refused": refused},
        status_code=_status(request, refused),
    )


def _code_page(
    request: Request, account: StaffAccountView, code: PasswordCode, *, added: bool
) -> Response:
    """The code, once: it is kept nowhere but in this answer (not cached: no-store)."""
    context = {"account": account, "code": code, "added": added}
    return render(request, "staff_code.html", context)


def _status(request: Request, refusal: object) -> int:
    """400 for a form refused; a page that only says what cannot be done is a 200."""
    return 400 if refusal and request.method == "POST" else 200


def _back_to(account: StaffAccountView, done: str) -> Response:
    return RedirectResponse(f"{PAGE}/{account.id}?done={done}", status_code=303)


def _problems(error: StaffAccountError | None) -> tuple[dict[str, str], str | None]:
    """A refusal next to its field, or for the form as a whole."""
    if error is None:
        return {}, None
    if error.field is not None:
        return {error.field: _key(error)}, None
    return {}, _key(error)


def _key(error: StaffAccountError) -> str:
    return f"accounts.error.{error.reason}"


ACCOUNT = PAGE + "/{staff_id:int}"
PAGES = [
    (PAGE, staff_list, ["GET"]),
    (f"{PAGE}/new", staff_new, ["GET", "POST"]),
    (ACCOUNT, staff_account, ["GET"]),
    (f"{ACCOUNT}/unlock", staff_unlock, ["POST"]),
    (f"{ACCOUNT}/disable", staff_disable, ["GET", "POST"]),
    (f"{ACCOUNT}/password", staff_password, ["GET", "POST"]),
    (f"{ACCOUNT}/role", staff_role, ["GET", "POST"]),
]
