"""The staff dashboard's routes, under `/admin`.

Another part's pages join with their own `Route("/admin/...", endpoint)` in their
`routes()`, guarded by `gateway.staff.guard.staff_page` and rendered with
`gateway.staff.pages.render` (see those modules).
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.staff import campaign_pages, household_pages, login, stats_pages

STATIC = Path(__file__).parent / "static"


def routes() -> list[BaseRoute]:
    return [
        *stats_pages.routes(),  # /admin itself: the headline figures
        Route("/admin/login", login.login_page, methods=["GET", "POST"]),
        Route("/admin/logout", login.logout, methods=["POST"]),
        Route("/admin/households", household_pages.search, methods=["GET"]),
        Route("/admin/households/{household_id:int}", household_pages.household, methods=["GET"]),
        Route("/admin/campaigns", campaign_pages.campaigns, methods=["GET", "POST"]),
        Mount("/admin/static", app=StaticFiles(directory=STATIC), name="staff-static"),
    ]
