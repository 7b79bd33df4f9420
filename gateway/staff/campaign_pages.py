"""`/admin/campaigns`: a campaign SMS to a mutual (or one commune of it), in two steps.

The first POST (`step=preview`) shows how many numbers the message would reach and a
button to confirm; the second (`step=send`) queues it through `Campaigns.send` and
redirects, so that reloading the page sends nothing twice. Viewers may not send; a
mutual outside the staff member's scope is refused with 403. Central staff whose scope
is the whole scheme may leave the mutual empty: every household then.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from db import models
from db.engine import writing
from db.values import AuditAction, UnitLevel
from gateway import audit
from gateway.actors import staff_actor
from gateway.sms.campaigns import Segment
from gateway.sms.texts import CAMPAIGN_TEMPLATES
from gateway.staff.auth import StaffUser
from gateway.staff.dashboard import dashboard_of
from gateway.staff.guard import Forbidden, staff_page
from gateway.staff.pages import render
from gateway.staff.scope_sql import within_scope

PAGE = "/admin/campaigns"


@dataclass(frozen=True)
class CampaignChoice:
    template: str
    mutual: str  # a mutual's code; "" for the whole scheme
    commune: str


@staff_page
async def campaigns(request: Request, staff: StaffUser) -> Response:
    if not staff.scope.may_send_campaigns:
        raise Forbidden()
    if request.method == "GET":
        sent = request.query_params.get("sent")
        return await _page(request, staff, CampaignChoice("", "", ""), sent=sent)
    form = await request.form()
    choice = CampaignChoice(
        template=str(form.get("template") or ""),
        mutual=str(form.get("mutual") or ""),
        commune=str(form.get("commune") or "").strip()[:60],
    )
    if choice.template not in CAMPAIGN_TEMPLATES:
        return await _page(request, staff, choice, error="campaign.error.template")
    dashboard = dashboard_of(request)
    if choice.mutual:
        async with dashboard.sessions() as session:
            path = await session.scalar(
                select(models.SchemeUnit.path).where(
                    models.SchemeUnit.code == choice.mutual,
                    models.SchemeUnit.level == UnitLevel.MUTUAL,
                )
            )
        if path is None:
            return await _page(request, staff, choice, error="campaign.error.mutual")
        if not staff.scope.covers(path):
            raise Forbidden()
    elif staff.scope.unit_path is not None:
        return await _page(request, staff, choice, error="campaign.error.mutual")
    segment = Segment(choice.mutual or None, choice.commune or None)
    if form.get("step") != "send":
        count = await dashboard.campaigns.audience(segment)
        return await _page(request, staff, choice, audience=count)
    campaign_id, queued = await dashboard.campaigns.send(
        segment, choice.template, staff_actor(staff.id)
    )
    async with writing(dashboard.sessions) as session:
        session.add(
            audit.entry(
                staff_actor(staff.id),
                AuditAction.CAMPAIGN_SENT,
                dashboard.now(),
                details={
                    "campaign_id": campaign_id,
                    "template": choice.template,
                    "mutual": segment.mutual,
                    "commune": segment.commune,
                    "recipients": queued,
                },
            )
        )
    return RedirectResponse(f"{PAGE}?sent={queued}", status_code=303)


async def _page(
    request: Request,
    staff: StaffUser,
    choice: CampaignChoice,
    *,
    audience: int | None = None,
    error: str | None = None,
    sent: str | None = None,
) -> Response:
    dashboard = dashboard_of(request)
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
        "campaigns.html",
        {
            "choice": choice,
            "templates": CAMPAIGN_TEMPLATES,
            "mutuals": [(code, name) for code, name in mutuals],
            "whole_scheme": staff.scope.unit_path is None,
            "audience": audience,
            "error": error,
            "sent": int(sent) if sent and sent.isdigit() else None,
        },
        status_code=400 if error else 200,
    )
