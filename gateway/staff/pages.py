"""Rendering dashboard pages: one Jinja2 environment, one `render` for every page.

    from gateway.staff.pages import render

    return render(request, "stats_home.html", {"figures": figures})

A page template extends `base.html` and fills `{% block content %}` (and `{% block title
%}`; `{% block head %}` for a page's own stylesheet). `render` gives every template:

- `t(key, **params)`: the text of a key in the page's language (`gateway.staff.language`);
- `lang`: `fr` or `en`; `staff`: the `StaffUser` the guard found (None on the login page);
- `csrf`: the token a POST form must carry as `<input type="hidden" name="csrf">`
  (`{{ csrf_field() }}` writes that input);
- `path`: the page's path, for the language links;
- `nav`: the links of the menu bar this staff member may follow;
- the filter `xof`: `{{ 1575 | xof }}` is `1 575 FCFA`.

Another part adds its entry to the menu bar once, at import:

    add_nav_link("/admin/stats", "stats.nav", lambda staff: True)

Responses carry `Cache-Control: no-store` (pages hold personal data; a shared office
computer must not show them from its cache) and a strict Content-Security-Policy:
scripts and styles only from our own `/admin/static/` (inline `style=` attributes are
allowed for charts drawn as SVG), no frames, forms post only to us.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from gateway.staff import language

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}

_environment = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
)


@pass_context
def _t(context: Context, key: str, **params: Any) -> str:
    return language.translate(context.get("lang", language.DEFAULT), key, **params)


@pass_context
def _csrf_field(context: Context) -> Markup:
    token = context.get("csrf") or ""
    return Markup('<input type="hidden" name="csrf" value="{}">').format(escape(token))


def _xof(amount: int | None) -> str:
    """Whole francs with thin spaces between thousands, as people write them: 1 575 FCFA."""
    return "—" if amount is None else f"{amount:,}".replace(",", "\u202f") + "\u00a0FCFA"


_environment.globals["t"] = _t
_environment.filters["xof"] = _xof
_environment.globals["csrf_field"] = _csrf_field
templates = Jinja2Templates(env=_environment)


@dataclass(frozen=True)
class NavLink:
    href: str
    key: str  # its text in the catalogues
    shown_to: Callable[[Any], bool]  # given the StaffUser


NAV: list[NavLink] = []


def add_nav_link(href: str, key: str, shown_to: Callable[[Any], bool] = lambda staff: True) -> None:
    if all(link.href != href for link in NAV):
        NAV.append(NavLink(href, key, shown_to))


add_nav_link("/admin", "nav.home")
add_nav_link("/admin/households", "nav.households")
add_nav_link("/admin/campaigns", "nav.campaigns", lambda staff: staff.scope.may_send_campaigns)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    csrf: str | None = None,
) -> Response:
    """A page in the request's language. `csrf` is only for the login page, before there
    is a session; afterwards the session's token is used."""
    staff = getattr(request.state, "staff", None)
    lang = language.language_of(request)
    values: dict[str, Any] = {
        "lang": lang,
        "staff": staff,
        "csrf": csrf or (staff.session.csrf if staff is not None else ""),
        "path": request.url.path,
        "nav": [link for link in NAV if staff is not None and link.shown_to(staff)],
        **(context or {}),
    }
    response = templates.TemplateResponse(
        request, template, values, status_code=status_code, headers=SECURITY_HEADERS
    )
    if language.asked_language(request):
        response.set_cookie(
            language.COOKIE, lang, max_age=365 * 86400, secure=True, samesite="lax", path="/"
        )
    return response
