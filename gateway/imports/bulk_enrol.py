"""The plain households of an import batch, enrolled set-based.

Most households of a file are new families with nothing unusual: no member number (not
a renewal), no group payer, no exemption, a product that takes them today, nobody of
theirs enrolled already. Those are written here with one multi-row INSERT per table for
the whole batch (households, members, cover years through
`gateway.enrolment.pricing.open_periods`, confirmation SMS, register events, audit),
their ids taken beforehand: a handful of statements per batch instead of about fourteen
per household. The rows are built by the same constructors the enrolment service uses
(`member_from`, `enrolment_sms`, `register_event`, `audit.entry`) and priced by the same
rules (`pricing.rules_for` and `quote_by`), so an imported household is stored exactly as
one enrolled by `EnrolmentService.enrol_in`.

Every other household (and any whose case this module does not decide: a refusal, a
duplicate, a renewal) goes through `enrol_in` and the renewal path one by one, as
before: `split` only sorts, it never refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from adapters.register import EventKind
from db import models
from db.bulk import copy_rows, reserve_ids, row_of
from db.values import AuditAction
from gateway import audit
from gateway.caller_changes import callers_changed
from gateway.enrolment import pricing
from gateway.enrolment.service import enrolment_sms, member_from, name_recorded
from gateway.imports.households_csv import ValidHousehold
from gateway.register.outgoing import register_event
from gateway.scheme.cache import offers, product_rule
from gateway.scheme.calendar import calendar_of, campaign_open, first_year
from gateway.sms.outbox import Outbox
from menus.identifiers import member_number
from menus.values import Relationship


@dataclass(frozen=True)
class Plain:
    household: ValidHousehold
    request_key: str
    product: models.Product


def hold_phone_locks(session: Session, phones: Sequence[str]) -> None:
    """The decision lock `EnrolmentService.enrol_in` takes per phone
    (`household-phone:<phone>`), for every phone of the batch in one statement and in
    sorted order (two imports cannot deadlock), held until the commit: a USSD enrolment
    of one of these families waits for the batch, then finds it enrolled. On SQLite the
    writer's lock already holds every decision."""
    if session.get_bind().dialect.name == "sqlite" or not phones:
        return
    session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) "
            "FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS t(k, n)"
        ),
        {"keys": [f"household-phone:{phone}" for phone in sorted(set(phones))]},
    )


def split(
    session: Session,
    batch: Sequence[tuple[ValidHousehold, str]],
    mutual: models.SchemeUnit,
    today: date,
) -> tuple[list[Plain], list[ValidHousehold]]:
    """The batch's plain households (in the batch's order), and the others."""
    products = _products(session, mutual, today)
    candidates: list[tuple[ValidHousehold, str, models.Product]] = []
    others: list[ValidHousehold] = []
    for household, key in batch:
        request = household.request
        product = products.get(request.product_code)
        persons = (request.head, *request.dependants)
        if (
            household.renewal
            or household.group is not None
            or any(household.exemptions)
            or product is None
            or _too_many(product, len(persons))
            or any(name_recorded(person) for person in persons)
        ):
            others.append(household)
        else:
            candidates.append((household, key, product))
    held = _national_ids_held(session, [h for h, _, _ in candidates])
    families = _families_enrolled(session, [h for h, _, _ in candidates])
    plain: list[Plain] = []
    for household, key, product in candidates:
        family = _family(household)
        ids = {p.national_id for p in _persons(household) if p.national_id}
        if family in families or ids & held:
            # Enrolled already (or earlier in this batch): `enrol_in` finds whom, and
            # the row may renew it.
            others.append(household)
            continue
        families.add(family)
        held |= ids
        plain.append(Plain(household, key, product))
    return plain, others


def write(
    session: Session,
    plain: Sequence[Plain],
    mutual: models.SchemeUnit,
    outbox: Outbox,
    now: datetime,
    actor: str,
    file_name: str,
) -> list[tuple[ValidHousehold, str]]:
    """Enrol the plain households; returns each with its head's member number."""
    if not plain:
        return []
    today = now.date()
    connection = session.connection()
    household_ids = reserve_ids(connection, models.Household, len(plain))
    member_ids = iter(
        reserve_ids(connection, models.Member, sum(len(p.household.lines) for p in plain))
    )
    households: list[models.Household] = []
    members: list[models.Member] = []
    households_people: list[list[models.Member]] = []  # each household's, head first
    openings: list[pricing.Opening] = []
    rules: dict[tuple[int, str | None], pricing.PriceRules] = {}
    for item, household_id in zip(plain, household_ids, strict=True):
        request = item.household.request
        household = models.Household(
            id=household_id,
            mutual_id=mutual.id,
            product_id=item.product.id,
            phone=request.phone,
            language=request.language,
            channel=request.channel,
            commune=mutual.commune,
            arrondissement=mutual.arrondissement,
            village=item.household.village,
            category=request.category,
            agent_id=None,
            group_id=None,
            request_key=item.request_key,
            created_at=now,
        )
        households.append(household)
        people = [
            member_from(person, household_id, None, now) for person in _persons(item.household)
        ]
        for person in people:
            person.id = next(member_ids)
            person.member_no = member_number(person.id)
        members += people
        households_people.append(people)
        year = first_year(calendar_of(item.product), today)
        found = rules.get((item.product.id, request.category))
        if found is None:
            found = pricing.rules_for(session, item.product, request.category, year, today)
            rules[(item.product.id, request.category)] = found
        persons = [pricing.Person(p.id, p.birth_date, p.sex) for p in people]
        openings.append(
            pricing.Opening(
                household_id,
                item.product,
                pricing.quote_by(found, persons, year, today),
                year,
                today,
                request.channel,
                item.request_key,
            )
        )
    copy_rows(connection, models.Household, [row_of(h) for h in households])
    callers_changed(session, *(h.phone for h in households))  # plain rows: named here
    copy_rows(connection, models.Member, [row_of(m) for m in members])
    periods = pricing.open_periods(session, openings)
    messages: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for item, household, people, period in zip(
        plain, households, households_people, periods, strict=True
    ):
        # Every member's own number, as the USSD enrolment's SMS lists them.
        messages.append(row_of(enrolment_sms(outbox, household, people, period, now)))
        events.append(row_of(register_event(EventKind.HOUSEHOLD_ENROLLED, household.id, now)))
        entries.append(
            row_of(
                audit.entry(
                    actor,
                    AuditAction.HOUSEHOLD_IMPORTED,
                    now,
                    household_id=household.id,
                    member_no=people[0].member_no,
                    details={
                        "file": file_name,
                        "line": item.household.lines[0],
                        "persons": len(item.household.lines),
                    },
                )
            )
        )
    copy_rows(connection, models.Message, messages)
    copy_rows(connection, models.RegisterEvent, events)
    copy_rows(connection, models.AuditEntry, entries)
    return [
        (item.household, people[0].member_no or "")
        for item, people in zip(plain, households_people, strict=True)
    ]


def _products(
    session: Session, mutual: models.SchemeUnit, today: date
) -> dict[str, models.Product]:
    """The products a plain household may join today: active, offered to the mutual,
    enrolling (else `enrol_in` says why not)."""
    units = {unit.id: unit for unit in session.scalars(select(models.SchemeUnit))}
    return {
        product.code: product
        for product in session.scalars(select(models.Product).where(models.Product.active))
        if offers(units[product.unit_id], mutual) and campaign_open(calendar_of(product), today)
    }


def _too_many(product: models.Product, persons: int) -> bool:
    most = product_rule(product).max_members
    return most is not None and persons > most


def _persons(household: ValidHousehold) -> tuple[Any, ...]:
    return (household.request.head, *household.request.dependants)


def _family(household: ValidHousehold) -> tuple[str, str, str, int]:
    """What makes an enrolment a duplicate (`EnrolmentService._already_done`): the phone,
    and the head's names and birth year."""
    head = household.request.head
    return (
        household.request.phone,
        head.last_name,
        head.first_names,
        date.fromisoformat(head.birth_date).year,
    )


def _national_ids_held(session: Session, households: Sequence[ValidHousehold]) -> set[str]:
    wanted = [p.national_id for h in households for p in _persons(h) if p.national_id]
    if not wanted:
        return set()
    return {
        str(national_id)
        for national_id in session.scalars(
            select(models.Member.national_id).where(models.Member.national_id.in_(wanted))
        )
    }


def _families_enrolled(
    session: Session, households: Sequence[ValidHousehold]
) -> set[tuple[str, str, str, int]]:
    phones = list({h.request.phone for h in households})
    if not phones:
        return set()
    rows = session.execute(
        select(
            models.Household.phone,
            models.Member.last_name,
            models.Member.first_names,
            models.Member.birth_year,
        )
        .join(models.Member, models.Member.household_id == models.Household.id)
        .where(
            models.Household.phone.in_(phones),
            models.Member.relationship_to_head == Relationship.HEAD,
        )
    )
    return {(phone, last, first, year) for phone, last, first, year in rows}
