"""Household search for support: by member number or phone, within the staff member's
scope, with personal data masked for roles that must not see it; those roles search by
member number only.

Masking is done here, before anything reaches a template, so that no page can show
what the role may not see by mistake. A household outside the scope is simply not
found by a search; asked for by id it is `OutsideScope` (the page answers 403).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from gateway.enrolment import coverage
from gateway.enrolment.entitlements import current_period, members_of, terms_of
from gateway.staff.household_history import HistoryLine, household_history
from gateway.staff.scope import Scope
from gateway.staff.scope_sql import within_scope
from menus.identifiers import (
    MemberNumberError,
    PhoneNumberError,
    mask_phone,
    normalise_phone,
    parse_member_number,
)
from menus.values import Relationship

SEARCH_LIMIT = 20
HISTORY_LIMIT = 50


class QueryKind(StrEnum):
    """What a search was read as."""

    MEMBER_NO = "member_no"
    PHONE = "phone"
    UNREADABLE = "unreadable"
    MEMBER_NO_ONLY = "member_no_only"  # anything else, from a role that must search by number


class OutsideScope(Exception):
    pass


@dataclass(frozen=True)
class Query:
    kind: QueryKind
    value: str  # the member number, or the phone in E.164


def read_query(text: str, country: str, scope: Scope) -> Query:
    """A member number when it has nine digits and a right check digit, else a phone.
    A role that may not see personal data (a viewer) gets MEMBER_NO_ONLY instead of a
    phone (or a name): the answer to a search by phone says whether that phone is
    enrolled, and that is personal data."""
    try:
        return Query(QueryKind.MEMBER_NO, parse_member_number(text))
    except MemberNumberError:
        pass
    if not scope.sees_personal_data:
        return Query(QueryKind.MEMBER_NO_ONLY, "")
    try:
        return Query(QueryKind.PHONE, normalise_phone(text.strip(), country))
    except PhoneNumberError:
        return Query(QueryKind.UNREADABLE, "")


@dataclass(frozen=True)
class HouseholdHit:
    id: int
    mutual: str
    commune: str | None
    head: str
    phone: str
    members: int


@dataclass(frozen=True)
class MemberLine:
    member_no: str
    name: str
    sex: str
    birth_year: int
    relationship: str
    phone: str | None


@dataclass(frozen=True)
class CoverageLine:
    status: str
    starts_on: date
    covered_from: date | None
    covered_until: date | None
    premium_due: int
    amount_paid: int
    amount_due: int


@dataclass(frozen=True)
class PaymentLine:
    created_at: datetime
    amount: int
    currency: str
    provider: str
    status: str
    receipt_no: str | None
    payer: str | None


@dataclass(frozen=True)
class MessageLine:
    created_at: datetime
    purpose: str
    status: str
    phone: str
    text: str | None  # None when the role may not read it


@dataclass(frozen=True)
class HouseholdDetail:
    id: int
    mutual: str
    mutual_code: str
    commune: str | None
    village: str | None
    phone: str
    language: str
    channel: str
    members: list[MemberLine]
    coverage: CoverageLine | None
    payments: list[PaymentLine]
    messages: list[MessageLine]
    masked: bool
    history: list[HistoryLine]  # its audit log: who changed what, before and after


class HouseholdLookup:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        today: Callable[[], date],
        zone: tzinfo = UTC,
    ) -> None:
        self.sessions = sessions
        self.today = today
        self.zone = zone  # the scheme's, for the times of the history

    async def search(self, scope: Scope, query: Query) -> list[HouseholdHit]:
        match: ColumnElement[bool]
        if query.kind == QueryKind.MEMBER_NO:
            match = models.Household.id.in_(
                select(models.Member.household_id).where(models.Member.member_no == query.value)
            )
        elif query.kind == QueryKind.PHONE:
            match = or_(
                models.Household.phone == query.value,
                models.Household.id.in_(
                    select(models.Member.household_id).where(models.Member.phone == query.value)
                ),
            )
        else:
            return []
        async with self.sessions() as session:
            households = (
                await session.scalars(
                    select(models.Household)
                    .join(models.SchemeUnit, models.SchemeUnit.id == models.Household.mutual_id)
                    .where(match, within_scope(scope, models.SchemeUnit.path))
                    .order_by(models.Household.id.desc())
                    .limit(SEARCH_LIMIT)
                )
            ).all()
            hits = []
            for household in households:
                members = await members_of(session, household.id)
                head = next(
                    (m for m in members if m.relationship_to_head == Relationship.HEAD), None
                )
                hits.append(
                    HouseholdHit(
                        id=household.id,
                        mutual=(await _unit(session, household.mutual_id)).name,
                        commune=household.commune,
                        head=_name(head, scope) if head else "",
                        phone=_phone(household.phone, scope),
                        members=len(members),
                    )
                )
        return hits

    async def detail(self, scope: Scope, household_id: int) -> HouseholdDetail | None:
        """None when there is no such household; `OutsideScope` when it is not theirs."""
        async with self.sessions() as session:
            household = await session.get(models.Household, household_id)
            if household is None:
                return None
            mutual = await _unit(session, household.mutual_id)
            if not scope.covers(mutual.path):
                raise OutsideScope()
            members = await members_of(session, household.id)
            period = await current_period(session, household.id, self.today())
            payments = (
                await session.scalars(
                    select(models.Payment)
                    .where(models.Payment.household_id == household.id)
                    .order_by(models.Payment.created_at.desc())
                    .limit(HISTORY_LIMIT)
                )
            ).all()
            messages = (
                await session.scalars(
                    select(models.Message)
                    .where(models.Message.household_id == household.id)
                    .order_by(models.Message.id.desc())
                    .limit(HISTORY_LIMIT)
                )
            ).all()
            history = await household_history(session, household.id, scope, self.zone)
        return HouseholdDetail(
            id=household.id,
            mutual=mutual.name,
            mutual_code=mutual.code,
            commune=household.commune,
            village=household.village if scope.sees_personal_data else None,
            phone=_phone(household.phone, scope),
            language=household.language,
            channel=household.channel,
            members=[
                MemberLine(
                    member_no=m.member_no or "",
                    name=_name(m, scope),
                    sex=m.sex,
                    birth_year=m.birth_year,
                    relationship=m.relationship_to_head,
                    phone=_phone(m.phone, scope) if m.phone else None,
                )
                for m in members
            ],
            coverage=_coverage(period, self.today()) if period else None,
            payments=[
                PaymentLine(
                    created_at=p.created_at,
                    amount=p.amount,
                    currency=p.currency,
                    provider=p.provider,
                    status=p.status,
                    receipt_no=p.receipt_no,
                    payer=_phone(p.payer_phone, scope) if p.payer_phone else None,
                )
                for p in payments
            ],
            messages=[
                MessageLine(
                    created_at=m.created_at,
                    purpose=m.purpose,
                    status=m.status,
                    phone=_phone(m.phone, scope),
                    text=m.text if scope.sees_personal_data else None,
                )
                for m in messages
            ],
            masked=not scope.sees_personal_data,
            history=history,
        )


async def _unit(session: AsyncSession, unit_id: int) -> models.SchemeUnit:
    unit = await session.get(models.SchemeUnit, unit_id)
    assert unit is not None  # a foreign key
    return unit


def _coverage(period: models.CoveragePeriod, today: date) -> CoverageLine:
    terms = terms_of(period)
    return CoverageLine(
        status=coverage.status_on(terms, today),
        starts_on=period.starts_on,
        covered_from=terms.covered_from,
        covered_until=terms.covered_until,
        premium_due=period.premium_due,
        amount_paid=period.amount_paid,
        amount_due=terms.amount_due,
    )


def _name(member: models.Member, scope: Scope) -> str:
    """Empty while a name said on the voice line waits for its transcription: the page
    says so in words (never an initial of nothing)."""
    if not member.last_name or not member.first_names:
        return ""
    if scope.sees_personal_data:
        return f"{member.last_name} {member.first_names}"
    return f"{member.last_name[:1]}. {member.first_names[:1]}."


def _phone(phone: str, scope: Scope) -> str:
    return phone if scope.sees_personal_data else mask_phone(phone)
