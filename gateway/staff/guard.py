"""The guard of every dashboard page: a logged-in staff member, and for forms a CSRF
token and a same-site origin.

    from gateway.staff.guard import Forbidden, staff_page

    @staff_page
    async def mutual_figures(request: Request, staff: StaffUser) -> Response:
        if not staff.scope.covers(unit_path):
            raise Forbidden()          # a 403 page in the staff member's language
        return render(request, "stats/mutual.html", {...})

    Route("/admin/stats/{code}", mutual_figures, methods=["GET"])

- No session (or an ended one, or a disabled account): 303 to `/admin/login?next=<this
  page>`; after the login the browser comes back here.
- A POST (any method but GET/HEAD): refused with 403 when the `Origin` header names
  another site, or when the form's `csrf` field is not the session's token (compared in
  constant time). The endpoint reads the form again with `await request.form()`:
  Starlette keeps it.
- `Forbidden` raised inside the endpoint becomes a 403 page; `NotFound` a 404 page.
- The staff member is also on `request.state.staff`, where `pages.render` finds it.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.staff.auth import StaffUser, current_staff
from gateway.staff.pages import render

LOGIN = "/admin/login"
HOME = "/admin"
# Where a login may lead back to: the dashboard, and the phone simulator it links to.
AFTER_LOGIN = (HOME, "/simulator")

StaffEndpoint = Callable[[Request, StaffUser], Awaitable[Response]]


class Forbidden(Exception):
    """Outside the staff member's role or scope."""


class NotFound(Exception):
    pass


def staff_page(endpoint: StaffEndpoint) -> Callable[[Request], Awaitable[Response]]:
    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        staff = await current_staff(request)
        if staff is None:
            return to_login(request)
        request.state.staff = staff
        if request.method not in ("GET", "HEAD"):
            form = await request.form()
            token = form.get("csrf")
            if not same_origin(request) or not tokens_match(
                token if isinstance(token, str) else None, staff.session.csrf
            ):
                return forbidden(request)
        try:
            return await endpoint(request, staff)
        except Forbidden:
            return forbidden(request)
        except NotFound:
            return render(request, "not_found.html", status_code=404)

    return guarded


def to_login(request: Request) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{LOGIN}?next={quote(here, safe='/')}", status_code=303)


def forbidden(request: Request) -> Response:
    return render(request, "forbidden.html", status_code=403)


def tokens_match(sent: str | None, expected: str | None) -> bool:
    """Constant time, so that the time of a refusal does not spell out the token."""
    if not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))


def same_origin(request: Request) -> bool:
    """Browsers send `Origin` with every POST; one naming another host is a cross-site
    form. Only the host is compared: behind a TLS proxy we see http while the browser
    says https. No header at all (old browsers, scripts) is left to the CSRF token."""
    origin = request.headers.get("origin")
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    if origin is None:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


def safe_next(target: str | None) -> str:
    """Where to go after the login: only a page of the dashboard or the simulator, never
    another site (`//evil.example`, `/\\evil.example` and `https://...` are all refused)."""
    if (
        not target
        or not target.startswith(AFTER_LOGIN)
        or "//" in target
        or "\\" in target
        or any(ord(ch) < 32 for ch in target)
    ):
        return HOME
    return target
