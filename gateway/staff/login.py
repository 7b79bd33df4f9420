"""`/admin/login` and `/admin/logout`.

CSRF before there is a session ("login CSRF": a foreign page logging the victim into
the attacker's account) is stopped by a double-submit cookie: GET /admin/login sets a
random token in the cookie `__Host-alafia_login` and in the form's hidden `csrf` field;
the POST must bring both, equal. Another site can make a browser post the form but can
neither read our cookie nor set it: the `__Host-` prefix makes the browser refuse a
cookie of that name from a sub-domain or over plain http, the classic way around a
double-submit cookie. The `Origin` check of `guard.same_origin` comes on top. This
needs nothing stored on the server for people who only look at the login page.

The session cookie (`sessions.COOKIE`) is `Secure; HttpOnly; SameSite=Lax; Path=/` and
has no expiry: it goes when the browser closes, and Redis ends it after two idle hours.
A new token is made at every login (an old one is closed), so a token planted before
the login is worth nothing after it.
"""

from __future__ import annotations

import logging
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.secrets_kdf import KdfBusy
from gateway.staff import accounts as staff_accounts
from gateway.staff.accounts import StaffAccounts
from gateway.staff.auth import StaffUser, current_staff
from gateway.staff.dashboard import dashboard_of
from gateway.staff.guard import LOGIN, forbidden, safe_next, same_origin, staff_page, tokens_match
from gateway.staff.pages import render
from gateway.staff.sessions import COOKIE, StaffSessions

log = logging.getLogger(__name__)

LOGIN_COOKIE = "__Host-alafia_login"
LOGIN_COOKIE_AGE = 3600


def accounts_of(request: Request) -> StaffAccounts:
    dashboard = dashboard_of(request)
    return StaffAccounts(dashboard.sessions, dashboard.now, dashboard.logins)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def login_page(request: Request) -> Response:
    if request.method == "POST":
        return await _login(request)
    if await current_staff(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return _form(request)


def _form(
    request: Request, *, error: str | None = None, email: str = "", status_code: int = 200
) -> Response:
    token = request.cookies.get(LOGIN_COOKIE)
    if not token or len(token) != 43:  # token_urlsafe(32)
        token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"error": error, "email": email, "next": safe_next(request.query_params.get("next"))},
        csrf=token,
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=LOGIN_COOKIE_AGE,
        secure=True,
        httponly=True,
        samesite="strict",
        path="/",
    )
    return response


async def _login(request: Request) -> Response:
    form = await request.form()
    sent = form.get("csrf")
    if not same_origin(request) or not tokens_match(
        sent if isinstance(sent, str) else None, request.cookies.get(LOGIN_COOKIE)
    ):
        return forbidden(request)
    email = str(form.get("email") or "")
    password = str(form.get("password") or "")
    try:
        attempt = await accounts_of(request).authenticate(email, password, client_ip(request))
    except KdfBusy:
        # A flood of logins: refused at once rather than queued behind it.
        log.warning("login refused: too many password checks at once")
        return _form(request, error="login.busy", email=email.strip()[:200], status_code=503)
    if attempt.outcome == staff_accounts.LoginOutcome.THROTTLED:
        # Too many failures from this address, whatever the account: it may be told so
        # (it says nothing about any account), and when to come back.
        response = _form(
            request, error="login.throttled", email=email.strip()[:200], status_code=429
        )
        response.headers["Retry-After"] = str(attempt.retry_after or 60)
        return response
    if attempt.outcome != staff_accounts.LoginOutcome.OK or attempt.account is None:
        # One answer for an unknown email, a wrong password, a disabled or locked account.
        return _form(request, error="login.failed", email=email.strip()[:200])
    sessions = StaffSessions(dashboard_of(request).redis)
    await sessions.close(request.cookies.get(COOKIE))
    token, _ = await sessions.open(attempt.account.id)
    log.info("staff %s logged in", attempt.account.id)
    response = RedirectResponse(safe_next(str(form.get("next") or "")), status_code=303)
    response.set_cookie(COOKIE, token, secure=True, httponly=True, samesite="lax", path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


@staff_page
async def logout(request: Request, staff: StaffUser) -> Response:
    await StaffSessions(dashboard_of(request).redis).close(request.cookies.get(COOKIE))
    await accounts_of(request).record_logout(staff.id, client_ip(request))
    log.info("staff %s logged out", staff.id)
    response = RedirectResponse(LOGIN, status_code=303)
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response
