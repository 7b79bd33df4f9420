"""`/admin/agents`: field agents, as `alafia agents ...` manages them, from a browser.

    GET  /admin/agents[?mutual=MS-PARAKOU]     the list, with figures and cash held
    GET  /admin/agents/new, POST               add an agent (answered with its activation code)
    GET  /admin/agents/{id}                    one agent: figures, cash, hand-overs, actions
    POST /admin/agents/{id}/disable            (after a confirmation step) and enable,
         /admin/agents/{id}/reset-pin          reset-pin (confirmed too; answered with a
                                               new activation code), unlock
         /admin/agents/{id}/unlock
    POST /admin/agents/{id}/handover           cash the agent gave to the mutual

Everyone sees the agents of their scope (a viewer with names and phones masked);
central staff and mutual managers change them, a manager only in their own mutual.
Anything else is refused with 403, written to the audit log (`change_refused`) and
changes nothing. Each change goes through `gateway.agents.accounts.Agents` or
`gateway.agents.ledger.CashLedger`, audited with `staff:<id>` like the CLI's `cli:<user>`.

Every action form carries the account's state as the page showed it; if someone changed
the account meanwhile, the change is refused (409) and the page shows it as it is now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from db import models
from db.values import UnitLevel
from gateway.actors import staff_actor
from gateway.agents import accounts
from gateway.agents import ledger as cash
from gateway.agents.accounts import AgentError, AgentRow
from gateway.agents.activation import Activation, shown
from gateway.agents.ledger import LedgerError
from gateway.staff.agent_roster import Mutual, mutuals_in_scope, roster
from gateway.staff.auth import StaffUser
from gateway.staff.dashboard import dashboard_of
from gateway.staff.form_fields import (
    Errors,
    FieldError,
    form_text,
    phone_examples,
    read_amount,
    read_phone,
    readable_phone,
)
from gateway.staff.guard import Forbidden, NotFound, staff_page
from gateway.staff.management import may_manage_agents
from gateway.staff.pages import add_nav_link, render
from gateway.staff.refusals import refuse
from gateway.stats.board import TooLong
from gateway.stats.figures import agent_initials
from menus.identifiers import PhoneNumberError, mask_phone

PAGE = "/admin/agents"


@dataclass(frozen=True)
class Change:
    name: str  # in the URL
    method: str  # of gateway.agents.accounts.Agents
    action: str  # as the audit log names it
    confirm: bool  # asked again before it is done: it cannot be undone as it was


CHANGES = {
    change.name: change
    for change in (
        Change("disable", "disable", "agent_disabled", confirm=True),
        Change("enable", "enable", "agent_enabled", confirm=False),
        # The old PIN cannot be given back: the agent must choose a new one.
        Change("reset-pin", "reset_pin", "pin_reset", confirm=True),
        Change("unlock", "unlock", "agent_unlocked", confirm=False),
    )
}
NOTICES = (*CHANGES, "added", "handover")  # what `?done=` may say after a change
# Which field a service's refusal belongs to.
AGENT_FIELDS = {
    accounts.NAME: "name",
    accounts.NO_MUTUAL: "mutual",
    accounts.PHONE_TAKEN: "phone",
    accounts.DESK_PHONE: "phone",
}
CASH_FIELDS = {
    cash.AMOUNT: "amount",
    cash.ABOVE_HELD: "amount",
    cash.RECEIVED_BY: "received_by",
    cash.REFERENCE: "reference",
    cash.REFERENCE_TAKEN: "reference",
}

add_nav_link(PAGE, "agents.nav")


@dataclass(frozen=True)
class NewAgent:
    phone: str  # as typed
    name: str
    mutual: str  # a code


@dataclass(frozen=True)
class HandoverForm:
    amount: str  # as typed
    received_by: str
    reference: str


@staff_page
async def agents(request: Request, staff: StaffUser) -> Response:
    dashboard = dashboard_of(request)
    mutuals = await mutuals_in_scope(dashboard.sessions, staff.scope)
    wanted = request.query_params.get("mutual") or None
    if wanted is not None and wanted not in {m.code for m in mutuals}:
        raise Forbidden()  # another mutual's agents (or no such mutual)
    if wanted is None and len(mutuals) == 1:
        wanted = mutuals[0].code
    try:
        found = await roster(
            dashboard.management,
            dashboard.board,
            dashboard.sessions,
            staff.scope,
            mutuals,
            dashboard.now().date(),
            wanted,
        )
    except TooLong:  # the figures of a whole scheme, on a busy database
        found = None
    return render(
        request,
        "agents.html",
        {
            "roster": found,
            "mutuals": mutuals,
            "mutual": wanted,
            "manages": may_manage_agents(staff.scope),
            "masked": not staff.scope.sees_personal_data,
        },
        status_code=200 if found is not None else 503,
    )


@staff_page
async def new_agent(request: Request, staff: StaffUser) -> Response:
    dashboard = dashboard_of(request)
    if not may_manage_agents(staff.scope):
        if request.method == "POST":
            form = await request.form()
            await refuse(request, staff, "agent_added", mutual=form_text(form, "mutual", 32))
        raise Forbidden()
    mutuals = await mutuals_in_scope(dashboard.sessions, staff.scope)
    if request.method == "GET":
        only = mutuals[0].code if len(mutuals) == 1 else ""
        return _new_agent_page(request, mutuals, NewAgent("", "", only), {})
    form = await request.form()
    typed = NewAgent(
        form_text(form, "phone", 40), form_text(form, "name", 120), form_text(form, "mutual", 32)
    )
    errors: Errors = {}
    if typed.mutual not in {m.code for m in mutuals}:
        if await _is_a_mutual(request, typed.mutual):
            await refuse(request, staff, "agent_added", mutual=typed.mutual)
        errors["mutual"] = FieldError("agents.error.mutual")
    try:
        phone = read_phone(typed.phone, dashboard.country)
    except PhoneNumberError:
        errors["phone"] = FieldError("manage.error.phone", phone_examples(dashboard.country))
    try:
        accounts.agent_name(typed.name)
    except AgentError:
        errors["name"] = FieldError("agents.error.name")
    if not errors:
        try:
            added = await dashboard.management.agents.add(
                phone, typed.name, typed.mutual, staff_actor(staff.id)
            )
        except AgentError as error:
            errors[AGENT_FIELDS[error.reason]] = FieldError(f"agents.error.{error.reason}")
        else:
            row = await dashboard.management.agents.agent(added.agent_id)
            assert row is not None
            return _code_page(request, row, added, added_now=True)
    return _new_agent_page(request, mutuals, typed, errors)


def _code_page(request: Request, row: AgentRow, issued: Activation, *, added_now: bool) -> Response:
    """The activation code, this once: kept nowhere but in this answer (no-store), never
    in a URL. Only staff who may manage agents get here, and they see names and phones."""
    context = {
        "agent": row,
        "name": row.name,
        "phone": readable_phone(row.phone),
        "code": shown(issued.code),
        "expires_at": issued.expires_at,
        "added": added_now,
    }
    return render(request, "agent_code.html", context)


def _new_agent_page(
    request: Request, mutuals: list[Mutual], typed: NewAgent, errors: Errors
) -> Response:
    country = dashboard_of(request).country
    return render(
        request,
        "agent_new.html",
        {"mutuals": mutuals, "typed": typed, "errors": errors, "examples": phone_examples(country)},
        status_code=400 if errors else 200,
    )


@staff_page
async def agent(request: Request, staff: StaffUser) -> Response:
    row, mutual = await _agent_in_scope(request, staff)
    return await _agent_page(request, staff, row, mutual, done=request.query_params.get("done"))


@staff_page
async def change(request: Request, staff: StaffUser) -> Response:
    asked = CHANGES.get(request.path_params["change"])
    if asked is None:
        raise NotFound()
    row, mutual = await _agent_in_scope(request, staff, asked.action)
    form = await request.form()
    seen = form_text(form, "state", 20)
    if seen != row.state:  # changed since the page was shown
        return await _agent_page(request, staff, row, mutual, stale=True)
    if asked.confirm and form.get("step") != "do":
        return render(
            request,
            "agent_confirm.html",
            {
                "agent": row,
                "phone": readable_phone(row.phone),
                "mutual": mutual,
                "change": asked.name,
            },
        )
    management = dashboard_of(request).management
    try:
        done = await getattr(management.agents, asked.method)(
            row.phone, staff_actor(staff.id), expected=seen
        )
    except AgentError as error:
        if error.reason == accounts.NO_AGENT:
            raise NotFound() from None
        if error.reason != accounts.STALE:
            raise
        return await _agent_page(request, staff, *await _agent_in_scope(request, staff), stale=True)
    if isinstance(done, Activation):  # a PIN reset: the new code to hand over
        return _code_page(request, row, done, added_now=False)
    return RedirectResponse(f"{PAGE}/{row.id}?done={asked.name}", status_code=303)


@staff_page
async def handover(request: Request, staff: StaffUser) -> Response:
    row, mutual = await _agent_in_scope(request, staff, "cash_handed_over")
    form = await request.form()
    typed = HandoverForm(
        form_text(form, "amount", 20),
        form_text(form, "received_by", 120),
        form_text(form, "reference", 64),
    )
    errors: Errors = {}
    amount = read_amount(typed.amount)
    if amount is None or amount <= 0:
        errors["amount"] = FieldError("agents.error.amount")
    if not typed.received_by:
        errors["received_by"] = FieldError("agents.error.received_by")
    if not typed.reference:
        errors["reference"] = FieldError("agents.error.reference")
    if amount is not None and not errors:
        ledger = dashboard_of(request).management.cash
        try:
            await ledger.hand_over(
                row.phone, amount, typed.received_by, typed.reference, staff_actor(staff.id)
            )
        except LedgerError as error:
            if error.reason == cash.NO_AGENT:
                raise NotFound() from None
            errors[CASH_FIELDS[error.reason]] = FieldError(f"agents.error.{error.reason}")
        else:
            return RedirectResponse(f"{PAGE}/{row.id}?done=handover", status_code=303)
    return await _agent_page(request, staff, row, mutual, handover=typed, errors=errors)


async def _agent_in_scope(
    request: Request, staff: StaffUser, action: str | None = None
) -> tuple[AgentRow, Mutual]:
    """The agent of the URL, within the staff member's scope; for a change (`action`),
    one they may make, else refused and audited."""
    agent_id = int(request.path_params["agent_id"])
    if action is not None and not may_manage_agents(staff.scope):
        await refuse(request, staff, action, agent_id=agent_id)
    dashboard = dashboard_of(request)
    row = await dashboard.management.agents.agent(agent_id)
    if row is None:
        raise NotFound()
    async with dashboard.sessions() as session:
        unit = (
            await session.execute(
                select(
                    models.SchemeUnit.id,
                    models.SchemeUnit.code,
                    models.SchemeUnit.name,
                    models.SchemeUnit.path,
                ).where(models.SchemeUnit.code == row.mutual)
            )
        ).one()
    mutual = Mutual(*unit)
    if not staff.scope.covers(mutual.path):
        if action is not None:
            await refuse(request, staff, action, agent_id=agent_id)
        raise Forbidden()
    return row, mutual


async def _is_a_mutual(request: Request, code: str) -> bool:
    async with dashboard_of(request).sessions() as session:
        found = await session.scalar(
            select(models.SchemeUnit.id).where(
                models.SchemeUnit.code == code, models.SchemeUnit.level == UnitLevel.MUTUAL
            )
        )
    return found is not None


async def _agent_page(
    request: Request,
    staff: StaffUser,
    row: AgentRow,
    mutual: Mutual,
    *,
    done: str | None = None,
    stale: bool = False,
    handover: HandoverForm | None = None,
    errors: Errors | None = None,
) -> Response:
    dashboard = dashboard_of(request)
    management = dashboard.management
    figures = await management.desk.figures(row.id, dashboard.now().date())
    (position,) = await management.cash.positions(phone=row.phone)
    handovers = await management.cash.handovers(row.id)
    personal = staff.scope.sees_personal_data
    context: dict[str, Any] = {
        "agent": row,
        "name": row.name if personal else agent_initials(row.name, row.id),
        "phone": readable_phone(row.phone) if personal else mask_phone(row.phone),
        "mutual": mutual,
        "figures": figures,
        "position": position,
        "handovers": handovers,
        "personal": personal,
        "manages": may_manage_agents(staff.scope),
        "done": done if done in NOTICES else None,
        "stale": stale,
        "handover": handover or HandoverForm("", "", ""),
        "errors": errors or {},
    }
    status = 409 if stale else 400 if errors else 200
    return render(request, "agent.html", context, status_code=status)
