"""Join a mutual with the household: head first, then each dependant, then confirm.

Every answer is kept in the session (and in the resume snapshot) so a dropped call
costs nothing typed; the household is written only by the final `EnrolHousehold`.

Where to join is asked in `enrol_offer`, the persons in `enrol_household`; this module
confirms them, builds the effect, says how it went and puts the journey together. Its
node ids stay as they are: sessions and the USSD funnel store them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from menus import parsers
from menus.context import MenuContext
from menus.effects import EnrolHousehold, PersonDraft
from menus.journeys import entries
from menus.journeys.enrol_household import HOUSEHOLD_NODES, head_answers
from menus.journeys.enrol_offer import (
    OFFER_NODES,
    chosen_product,
    closed_lines,
    registering_agent,
)
from menus.nodes import Act, Entry, Journey, Menu, Option, Outcome, Say, routes_to
from menus.state import SessionState
from menus.text import Money, T, Text
from menus.values import Channel, Relationship


def _summary(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    product = chosen_product(ctx, state)
    persons = state.data["dep_count"] + 1
    head = head_answers(state)
    deps = state.data.get("deps", [])[: state.data["dep_count"]]
    births = [date.fromisoformat(p["birth"]["date"]) for p in (head, *deps)]
    return [
        T(
            "enrol_summary",
            {
                "name": parsers.shown_name(head["last_name"], head["first_names"]),
                "persons": persons,
                "product": parsers.display_name(product.names.get(state.language, product.code)),
                "total": Money(product.premium_of(births, ctx.today)),
            },
        )
    ]


def _draft(person: dict[str, Any], relationship: str) -> PersonDraft:
    return PersonDraft(
        last_name=person["last_name"],
        first_names=person["first_names"],
        sex=person["sex"],
        birth_date=person["birth"]["date"],
        birth_year_only=person["birth"]["year_only"],
        relationship=relationship,
        occupation=person.get("occupation"),
        national_id=person.get("national_id"),
    )


def _enrol(ctx: MenuContext, state: SessionState) -> EnrolHousehold:
    head = head_answers(state)
    deps = state.data.get("deps", [])[: state.data["dep_count"]]
    agent = registering_agent(state)
    return EnrolHousehold(
        mutual_code=state.data["mutual"],
        product_code=state.data["product"],
        # Registered by an agent: the household's own phone gets its SMS, not the agent's.
        phone=state.data["household_phone"] if agent else state.caller["phone"],
        language=state.language,
        head=_draft(head, Relationship.HEAD),
        dependants=tuple(_draft({**d, **d["name"]}, d["relationship"]) for d in deps),
        channel=Channel.AGENT if agent else Channel.VOICE if ctx.by_voice else Channel.USSD,
        agent_id=agent.id if agent else None,
    )


@routes_to("done", "duplicate", "closed", "refused")
def _after_enrol(ctx: MenuContext, state: SessionState) -> str:
    outcome = state.data["result"]["outcome"]
    return {"enrolled": "done", "duplicate": "duplicate", "closed": "closed"}.get(
        outcome, "refused"
    )


def _done(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    result = state.data["result"]
    params = {"member_no": result["member_no"], "amount": Money(result["premium_due"])}
    if registering_agent(state) is not None:
        return [T("agent_enrol_done", params)]
    return [T("enrol_done", params)]


def _duplicate(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    params = {"member_no": state.data["result"]["member_no"]}
    if registering_agent(state) is not None:
        return [T("agent_enrol_duplicate", params)]
    return [T("enrol_duplicate", params)]


def _closed_now(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    opens_on = state.data.get("result", {}).get("opens_on")
    if opens_on:
        return [T("campaign_closed", {"date": date.fromisoformat(opens_on)})]
    return closed_lines(ctx, state)


JOURNEY = Journey(
    name="enrol",
    entry=Entry(entries.join_label, number=entries.JOIN),
    resumable=True,
    nodes=(
        *OFFER_NODES,
        *HOUSEHOLD_NODES,
        Menu(
            "summary",
            prompt=_summary,
            options=(
                Option(T("confirm"), True, next="enrol"),
                Option(T("cancel"), False, next="cancelled"),
            ),
            next="enrol",
        ),
        Act("enrol", effect=_enrol, save="result", next=_after_enrol),
        Say("done", lines=_done, outcome=Outcome.ENROLLED),
        Say("duplicate", lines=_duplicate),
        Say("closed", lines=_closed_now),
        Say("refused", lines=[T("enrol_refused")]),
        Say("cancelled", lines=[T("enrol_cancelled")]),
        Say("no_offer", lines=[T("no_offer")]),
    ),
)
