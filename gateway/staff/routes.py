"""The staff dashboard's routes, under `/admin`.

Another part's pages join with their own `Route("/admin/...", endpoint)` in their
`routes()`, guarded by `gateway.staff.guard.staff_page` and rendered with
`gateway.staff.pages.render` (see those modules).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.staff import campaign_pages, household_pages, login
from gateway.staff.auth import StaffUser
from gateway.staff.guard import staff_page
from gateway.staff.pages import render

STATIC = Path(__file__).parent / "static"


@staff_page
async def home(request: Request, staff: StaffUser) -> Response:
    return render(request, "home.html")


def routes() -> list[BaseRoute]:
    return [
        Route("/admin", home, methods=["GET"]),
        Route("/admin/login", login.login_page, methods=["GET", "POST"]),
        Route("/admin/logout", login.logout, methods=["POST"]),
        Route("/admin/households", household_pages.search, methods=["GET"]),
        Route("/admin/households/{household_id:int}", household_pages.household, methods=["GET"]),
        Route("/admin/campaigns", campaign_pages.campaigns, methods=["GET", "POST"]),
        Mount("/admin/static", app=StaticFiles(directory=STATIC), name="staff-static"),
    ]
