"""A household of the file already enrolled: its row renews it.

Found by a member number in its rows, or by the phone and the head's name and birth
year (what makes an enrolment a duplicate). Within the batch's transaction: members of
the file not yet in the household are added (the others are kept: a member leaves
through the dashboard, an agent or the short code, never by being left out of a file),
exemptions and the group of the file are recorded, and the next cover year is opened
through `gateway.enrolment.pricing.open_period`, the one place a year is written, once
per household and year (request key `import-renew:<household>:<year it renews>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.register import EventKind
from db import models
from db.engine import hold_decision_lock
from db.values import ExemptionGround, ExemptionSource
from gateway.enrolment.carry import carriable, mark_carried
from gateway.enrolment.exemptions import record_exemption
from gateway.enrolment.pricing import open_period, persons_of, quote
from gateway.enrolment.service import member_from
from gateway.groups.payers import join_group
from gateway.imports.households_csv import ValidHousehold
from gateway.register.outgoing import register_event
from gateway.scheme.calendar import calendar_of, next_year, renewal_window
from menus.identifiers import member_number
from menus.values import Channel


@dataclass(frozen=True)
class Renewed:
    outcome: str  # renewed, earlier (this year is renewed already) or refused
    member_no: str  # the head's
    reason: str = ""


def household_named(
    session: Session, mutual_id: int, household: ValidHousehold
) -> models.Household | Renewed | None:
    """The enrolled household the rows' member numbers name; a refusal when they name
    several, or one of another mutual; None when they name none."""
    numbers = [number for number in household.member_nos if number]
    if not numbers:
        return None
    found = set(
        session.scalars(
            select(models.Member.household_id).where(models.Member.member_no.in_(numbers))
        )
    )
    if len(found) != 1 or len(numbers) != len(
        session.scalars(select(models.Member.id).where(models.Member.member_no.in_(numbers))).all()
    ):
        return Renewed("refused", "", "member numbers of no household, or of several")
    row = session.get(models.Household, found.pop())
    assert row is not None
    if row.mutual_id != mutual_id:
        return Renewed("refused", "", "a household of another mutual")
    left = session.scalars(
        select(models.Member.member_no).where(
            models.Member.member_no.in_(numbers), models.Member.left_on.is_not(None)
        )
    ).all()
    if left:
        # Else the person would come back as a new member with a new number.
        return Renewed(
            "refused", "", f"members who left the household: {', '.join(map(str, left))}"
        )
    return row


def renew_in(
    session: Session,
    row: models.Household,
    household: ValidHousehold,
    group: models.PayerGroup | None,
    now: datetime,
    actor: str,
) -> Renewed:
    today = now.date()
    # The lock USSD and agent renewals take (RenewalService.renew_in): one decision at a
    # time per household, so a renewal by phone meanwhile is seen here ("earlier") rather
    # than colliding on the one-renewal index and rolling the whole batch back.
    hold_decision_lock(session, f"household:{row.id}")
    head = _head_no(session, row.id)
    current = session.scalar(
        select(models.CoveragePeriod)
        .where(
            models.CoveragePeriod.household_id == row.id,
            models.CoveragePeriod.cancelled_on.is_(None),
        )
        .order_by(models.CoveragePeriod.starts_on.desc())
        .limit(1)
        .with_for_update()
    )
    if current is None:
        return Renewed("refused", head, "no cover year to renew")
    if current.renewal_of_id is not None and (
        current.covered_from is None or current.covered_from > today
    ):
        return Renewed("earlier", head)
    product = session.get(models.Product, row.product_id)
    assert product is not None
    calendar = calendar_of(product)
    if current.covered_until is None or current.grace_until is None:
        return Renewed("refused", head, "its current year is not paid: nothing to renew yet")
    window = renewal_window(calendar, current.covered_until, current.grace_until)
    if today < window.opens_on:
        return Renewed("refused", head, f"renewal opens on {window.opens_on.isoformat()}")
    members = _add_members(session, row, household, now, actor)
    record_exemptions(session, members, household, now, actor)
    if group is not None:
        join_group(row, group)
    year = next_year(calendar, current, today)
    priced = quote(session, product, row.category, persons_of(session, row.id, today), year, today)
    carried_from = carriable(session, row.id, priced.household_share)
    period = open_period(
        session,
        row,
        product,
        priced,
        year,
        today=today,
        now=now,
        channel=Channel.IMPORT,
        request_key=f"import-renew:{row.id}:{current.id}",
        renewal_of=current,
        carried_in=sum(p.refund_due for p in carried_from),
    )
    mark_carried(carried_from, period, now)
    return Renewed("renewed", head)


def _add_members(
    session: Session, row: models.Household, household: ValidHousehold, now: datetime, actor: str
) -> list[models.Member]:
    """The file's persons as members, in the file's order: those named by number or by
    name and birth year are the members already there; the others are added."""
    existing = list(
        session.scalars(
            select(models.Member).where(
                models.Member.household_id == row.id, models.Member.left_on.is_(None)
            )
        )
    )
    by_number = {m.member_no: m for m in existing}
    by_name = {(m.last_name, m.first_names, m.birth_year): m for m in existing}
    request = household.request
    found: list[models.Member] = []
    for person, number in zip(
        (request.head, *request.dependants), household.member_nos, strict=True
    ):
        born = date.fromisoformat(person.birth_date)
        member = by_number.get(number) if number else None
        member = member or by_name.get((person.last_name, person.first_names, born.year))
        if member is None:
            member = member_from(person, row.id, None, now)
            if member.relationship_to_head == "head":
                member.relationship_to_head = "other"  # the household keeps its head
            session.add(member)
            session.flush()
            member.member_no = member_number(member.id)
            session.add(
                # One of a file's many: pushed after the enrolments and payments of the day.
                register_event(
                    EventKind.MEMBER_ADDED, row.id, now, member_no=member.member_no, backfill=True
                )
            )
        found.append(member)
    return found


def record_exemptions(
    session: Session,
    members: list[models.Member],
    household: ValidHousehold,
    now: datetime,
    actor: str,
) -> None:
    """The file's exemptions for its persons (`members` in the file's order: the head,
    then the dependants), recorded with source `import`."""
    for member, exemption in zip(members, household.exemptions, strict=True):
        if exemption is not None:
            record_exemption(
                session,
                member.id,
                ExemptionGround(exemption.ground),
                ExemptionSource.IMPORT,
                exemption.starts_on,
                exemption.ends_on,
                actor,
                now,
            )


def _head_no(session: Session, household_id: int) -> str:
    return (
        session.scalar(
            select(models.Member.member_no).where(
                models.Member.household_id == household_id,
                models.Member.relationship_to_head == "head",
            )
        )
        or ""
    )
