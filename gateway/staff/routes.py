"""The staff dashboard's routes, under `/admin`.

A page is an endpoint guarded by `gateway.staff.guard.staff_page` and rendered with
`gateway.staff.pages.render` (see those modules); listed here, it finds the dashboard's
services on `request.state.dashboard` (`gateway.staff.dashboard`).
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.staff import (
    agent_pages,
    campaign_pages,
    facility_pages,
    household_pages,
    login,
    stats_pages,
)
from gateway.staff.dashboard import Dashboard, serving
from gateway.staff.household_change_pages import PAGES as HOUSEHOLD_CHANGE_PAGES
from gateway.staff.password_pages import PAGES as PASSWORD_PAGES
from gateway.staff.staff_pages import PAGES as STAFF_ACCOUNT_PAGES

STATIC = Path(__file__).parent / "static"


def routes(dashboard: Dashboard) -> list[BaseRoute]:
    pages = [
        ("/admin", stats_pages.home, ["GET"]),
        ("/admin/stats", stats_pages.stats_index, ["GET"]),
        ("/admin/stats/{figure}", stats_pages.stats_page, ["GET"]),
        ("/admin/export/{table}.csv", stats_pages.export, ["GET"]),
        ("/admin/agents", agent_pages.agents, ["GET"]),
        ("/admin/agents/new", agent_pages.new_agent, ["GET", "POST"]),
        ("/admin/agents/{agent_id:int}", agent_pages.agent, ["GET"]),
        ("/admin/agents/{agent_id:int}/handover", agent_pages.handover, ["POST"]),
        ("/admin/agents/{agent_id:int}/{change}", agent_pages.change, ["POST"]),
        ("/admin/facilities", facility_pages.facilities, ["GET", "POST"]),
        ("/admin/facilities/{code}", facility_pages.facility, ["GET"]),
        ("/admin/facilities/{code}/phones", facility_pages.phones, ["POST"]),
        ("/admin/facilities/{code}/{change}", facility_pages.change, ["POST"]),
        ("/admin/login", login.login_page, ["GET", "POST"]),
        ("/admin/logout", login.logout, ["POST"]),
        ("/admin/households", household_pages.search, ["GET"]),
        ("/admin/households/{household_id:int}", household_pages.household, ["GET"]),
        ("/admin/campaigns", campaign_pages.campaigns, ["GET", "POST"]),
        *HOUSEHOLD_CHANGE_PAGES,
        *STAFF_ACCOUNT_PAGES,
        *PASSWORD_PAGES,
    ]
    return [
        *(Route(path, serving(dashboard, page), methods=methods) for path, page, methods in pages),
        Mount("/admin/static", app=StaticFiles(directory=STATIC), name="staff-static"),
    ]
