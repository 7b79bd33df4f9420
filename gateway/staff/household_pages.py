"""`/admin/households`: support staff find a household by member number or phone.

Each search is audited (`household_search`, with what the query was read as, never the
phone itself), and so is each household opened (`household_viewed`). A household's page
shows its history and, to those who may correct it, the links to the correction forms
(`gateway.staff.household_change_pages`), which come back here with `?done=<what>`.
"""

from __future__ import annotations

from datetime import UTC

from starlette.requests import Request
from starlette.responses import Response

from db.engine import writing
from db.values import AuditAction
from gateway import audit
from gateway.actors import staff_actor
from gateway.staff.auth import StaffUser
from gateway.staff.dashboard import dashboard_of
from gateway.staff.guard import Forbidden, NotFound, staff_page
from gateway.staff.household_changes import may_correct
from gateway.staff.households import HouseholdLookup, OutsideScope, QueryKind, read_query
from gateway.staff.pages import render

# What a correction page says it did, on its way back here.
DONE = ("corrected", "unchanged", "moved")


def _lookup(request: Request) -> HouseholdLookup:
    dashboard = dashboard_of(request)
    zone = dashboard.now().tzinfo or UTC
    return HouseholdLookup(dashboard.sessions, lambda: dashboard.now().date(), zone)


@staff_page
async def search(request: Request, staff: StaffUser) -> Response:
    text = request.query_params.get("q", "").strip()[:40]
    if not text:
        return render(request, "households.html", {"q": "", "kind": None, "hits": []})
    dashboard = dashboard_of(request)
    query = read_query(text, dashboard.country, staff.scope)
    hits = await _lookup(request).search(staff.scope, query)
    async with writing(dashboard.sessions) as session:
        session.add(
            audit.entry(
                staff_actor(staff.id),
                AuditAction.HOUSEHOLD_SEARCH,
                dashboard.now(),
                member_no=query.value if query.kind == QueryKind.MEMBER_NO else None,
                details={"kind": query.kind, "results": len(hits)},
            )
        )
    return render(request, "households.html", {"q": text, "kind": query.kind, "hits": hits})


@staff_page
async def household(request: Request, staff: StaffUser) -> Response:
    household_id = int(request.path_params["household_id"])
    try:
        detail = await _lookup(request).detail(staff.scope, household_id)
    except OutsideScope:
        raise Forbidden() from None
    if detail is None:
        raise NotFound()
    dashboard = dashboard_of(request)
    async with writing(dashboard.sessions) as session:
        session.add(
            audit.entry(
                staff_actor(staff.id),
                AuditAction.HOUSEHOLD_VIEWED,
                dashboard.now(),
                household_id=detail.id,
            )
        )
    done = request.query_params.get("done")
    return render(
        request,
        "household.html",
        {
            "household": detail,
            "may_correct": may_correct(staff.scope),
            "done": done if done in DONE else None,
        },
    )
