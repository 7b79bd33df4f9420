"""Join a mutual with the household: head first, then each dependant, then confirm.

Every answer is kept in the session (and in the resume snapshot) so a dropped call
costs nothing typed; the household is written only by the final `EnrolHousehold`.

Where to join is asked in `enrol_offer`, the persons and the product in
`enrol_household`; this module confirms them (cancelling asks again), builds the effect,
says how it went, offers to pay at once when payments are on, and puts the journey
together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from menus import parsers
from menus.context import MenuContext
from menus.effects import EnrolHousehold, PersonDraft
from menus.journeys import entries
from menus.journeys.enrol_household import (
    HOUSEHOLD_NODES,
    already_lines,
    enrolled_dependants,
    head_answers,
    household_phone,
)
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
    """Who is enrolled, what each pays and the total: the caller checks names and money."""
    product = chosen_product(ctx, state)
    head = head_answers(state)
    persons = [head, *({**d, **d["name"]} for d in enrolled_dependants(state))]
    births = [date.fromisoformat(p["birth"]["date"]) for p in persons]
    lines: list[Text] = [
        T(
            "enrol_summary_head",
            {
                "family": parsers.shown_name(head["last_name"]),
                "persons": len(persons),
                "product": parsers.display_name(product.names.get(state.language, product.code)),
            },
        )
    ]
    if product.household_premium is None:  # priced person by person: each one's price
        lines += [
            T(
                "enrol_summary_member",
                {
                    "name": parsers.shown_name(p["first_names"]),
                    "amount": Money(product.premium_of([born], ctx.today)),
                },
            )
            for p, born in zip(persons, births, strict=True)
        ]
    else:  # one price for the household: its members' names alone
        lines += [parsers.shown_name(p["first_names"]) for p in persons]
    lines.append(T("enrol_summary_total", {"total": Money(product.premium_of(births, ctx.today))}))
    return lines


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
    deps = enrolled_dependants(state)
    agent = registering_agent(state)
    return EnrolHousehold(
        mutual_code=state.data["mutual"],
        product_code=state.data["product"],
        # Registered by an agent: the household's own phone gets its SMS, not the agent's.
        phone=household_phone(state),
        language=state.language,
        head=_draft(head, Relationship.HEAD),
        dependants=tuple(_draft({**d, **d["name"]}, d["relationship"]) for d in deps),
        channel=Channel.AGENT if agent else Channel.VOICE if ctx.by_voice else Channel.USSD,
        agent_id=agent.id if agent else None,
    )


@routes_to("done", "enrolled.pay_now", "duplicate", "closed", "refused")
def _after_enrol(ctx: MenuContext, state: SessionState) -> str:
    outcome = state.data["result"]["outcome"]
    if outcome in ("enrolled", "duplicate"):
        state.forget_resume = True  # nothing left to continue: the household is written
    if outcome == "enrolled" and ctx.payments and registering_agent(state) is None:
        return "enrolled.pay_now"
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


def _pay_now_lines(ctx: MenuContext, state: SessionState) -> Sequence[Text]:
    result = state.data["result"]
    params = {"member_no": result["member_no"], "amount": Money(result["premium_due"])}
    return [T("enrol_done_pay", params)]


def _pay_for_new_household(state: SessionState, value: bool) -> None:
    # The payment journey's quote, for the household just enrolled (not the caller's).
    state.data["member_no"] = state.data["result"]["member_no"]


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
        Say("already", lines=already_lines),
        Menu(
            "summary",
            prompt=_summary,
            options=(
                Option(T("confirm"), True, next="enrol"),
                Option(T("cancel"), False, next="cancel_check"),
            ),
            next="enrol",
        ),
        # One press must not erase every answer: asked again.
        Menu(
            "cancel_check",
            prompt=[T("enrol_cancel_check")],
            options=(
                Option(T("enrol_cancel_yes"), True, next="cancelled"),
                Option(T("enrol_cancel_no"), False, next="summary"),
            ),
            next="summary",
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

# The end of an enrolment when payments are on: the member number, and paying at once in
# the same session. A journey of its own, not resumable: the enrolment is written, and a
# dropped call here must not offer to continue it.
ENROLLED = Journey(
    name="enrolled",
    nodes=(
        Menu(
            "pay_now",
            prompt=_pay_now_lines,
            options=(Option(T("pay_now"), True, next="pay.quote"),),
            next="pay.quote",
            save=_pay_for_new_household,
        ),
    ),
)
