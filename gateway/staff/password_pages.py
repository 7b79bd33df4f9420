"""`/admin/password`: a person sets their own password with the one-time code a central
admin gave them (`StaffAccounts.add_with_code`, `issue_password_code`).

Nobody is logged in here, so there is no session token: the code itself is the secret a
cross-site form cannot know, and the `Origin` check refuses a post from another site.
The code is typed into the form, never carried in the address, so that it appears in no
access log, browser history or `Referer`. A wrong, used or expired code is refused before
any slow password hashing is done, so guessing costs us nothing; at about 78 bits, valid
24 hours, it cannot be guessed anyway. Once set, the person logs in as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from gateway.secrets_kdf import KdfBusy
from gateway.staff.account_rules import StaffAccountError
from gateway.staff.accounts import StaffAccounts
from gateway.staff.dashboard import dashboard_of
from gateway.staff.guard import forbidden, same_origin
from gateway.staff.pages import render

log = logging.getLogger(__name__)

PAGE = "/admin/password"


async def password_page(request: Request) -> Response:
    if request.method == "GET":
        return _form(request)
    if not same_origin(request):
        return forbidden(request)
    form = await request.form()
    code = _field(form.get("code"), 60)
    password = _field(form.get("password"), 2048)
    if password != _field(form.get("password_again"), 2048):
        return _form(request, {"password_again": "password_code.error.differ"}, code=code)
    dashboard = dashboard_of(request)
    accounts = StaffAccounts(dashboard.sessions, dashboard.now, dashboard.logins)
    ip = request.client.host if request.client else None
    try:
        account = await accounts.set_password(code, password, ip)
    except StaffAccountError as error:
        field = error.field or "code"
        kept = "" if field == "code" else code
        return _form(request, {field: f"password_code.error.{error.reason}"}, code=kept)
    except KdfBusy:
        log.warning("password not set: too many password checks at once")
        return _form(request, {"password": "login.busy"}, code=code, status_code=503)
    log.info("staff %s set their password with a code", account.id)
    return render(request, "password_set.html", {"email": account.email})


def _form(
    request: Request,
    problems: Mapping[str, str] | None = None,
    *,
    code: str = "",
    status_code: int | None = None,
) -> Response:
    return render(
        request,
        "password.html",
        {"problems": problems or {}, "code": code},
        status_code=status_code or (400 if problems else 200),
    )


def _field(value: object, longest: int) -> str:
    return value[:longest] if isinstance(value, str) else ""


PAGES = [(PAGE, password_page, ["GET", "POST"])]
