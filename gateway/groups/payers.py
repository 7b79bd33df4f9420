"""Group payers: a school, an association, a cooperative or a socio-professional category
that pays its member households' premiums under a yearly contract.

A group is a payer like a sponsor, and is one: it owns a `sponsors` row (`GRP-<code>`,
cover waiting for its payment) and, for each contract year, a subsidy of 100 % on the
contract's product for the households of its category (the same code). Whatever prices a
household's year (first enrolment, renewal, bulk renewal) therefore writes the group's
share as a `period_shares` row; the group's transfers settle those shares through
`gateway.payments.sponsors.Sponsors.settle` (once per reference, oldest first) and the
members' rights open with them.

The invoice of a year is the sum of the group's shares on the cover years starting within
the contract's dates; its number is `<code>-<year>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import writing
from db.values import AuditAction, GroupKind, UnitLevel
from gateway import audit
from gateway.enrolment.entitlements import current_period, members_of
from gateway.enrolment.repricing import apply_price, person_of, price_for
from gateway.enrolment.rules_cache import rules_changed_async
from gateway.payments.sponsors import Sponsors
from gateway.staff.scope import Scope
from menus.values import CoverageStatus

CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,23}")
SPONSOR_PREFIX = "GRP-"
KINDS = tuple(kind.value for kind in GroupKind)


class GroupError(ValueError):
    """A refusal the staff member can act on; `reason` is a key of the dashboard's texts."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def sponsor_code(group_code: str) -> str:
    """The group as a payer, and the household category its subsidy applies to."""
    return SPONSOR_PREFIX + group_code


@dataclass(frozen=True)
class Invoice:
    group: str
    name: str
    year: int
    invoice_no: str
    product: str
    starts_on: date
    ends_on: date
    households: int
    amount: int  # the sum of the group's shares on those cover years
    paid: int

    @property
    def outstanding(self) -> int:
        return self.amount - self.paid


@dataclass(frozen=True)
class GroupRow:
    code: str
    name: str
    kind: str
    mutual: str
    mutual_path: str
    treasurer_phone: str | None
    households: int


class GroupPayers:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def add(
        self,
        code: str,
        name: str,
        kind: str,
        mutual_code: str,
        treasurer_phone: str | None,
        *,
        by: str,
        scope: Scope | None,
        now: datetime,
    ) -> models.PayerGroup:
        if not CODE.fullmatch(code):
            raise GroupError("code", "2 to 24 capital letters, digits or dashes")
        if kind not in KINDS:
            raise GroupError("kind", " | ".join(KINDS))
        if not name.strip():
            raise GroupError("name")
        async with writing(self.sessions, f"group:{code}") as session:
            mutual = await _mutual(session, mutual_code, scope)
            taken = await session.scalar(
                select(models.Sponsor.id).where(models.Sponsor.code == sponsor_code(code))
            )
            if taken is not None:
                raise GroupError("code_taken", code)
            sponsor = models.Sponsor(
                code=sponsor_code(code), name=name.strip()[:120], waits_for_payment=True
            )
            session.add(sponsor)
            await session.flush()
            group = models.PayerGroup(
                code=code,
                name=name.strip()[:120],
                kind=kind,
                mutual_id=mutual.id,
                sponsor_id=sponsor.id,
                treasurer_phone=treasurer_phone,
                created_at=now,
            )
            session.add(group)
            await rules_changed_async(session)  # its sponsor is priced from now on
            session.add(
                audit.entry(
                    by,
                    AuditAction.GROUP_ADDED,
                    now,
                    details={"group": code, "kind": kind, "mutual": mutual.code},
                )
            )
            return group

    async def sign(
        self,
        code: str,
        year: int,
        product_code: str,
        starts_on: date,
        ends_on: date,
        *,
        by: str,
        scope: Scope | None,
        now: datetime,
    ) -> models.GroupContract:
        """The contract of one year: the group pays 100 % of the product's premium for its
        households' cover years starting between the two dates. Signing the same year
        again with the same terms is answered with the contract already there."""
        if ends_on < starts_on:
            raise GroupError("dates", "the contract ends before it starts")
        async with writing(self.sessions, f"group:{code}") as session:
            group = await _group(session, code, scope)
            product = await session.scalar(
                select(models.Product).where(models.Product.code == product_code)
            )
            if product is None:
                raise GroupError("product", product_code)
            earlier = await session.scalar(
                select(models.GroupContract).where(
                    models.GroupContract.group_id == group.id, models.GroupContract.year == year
                )
            )
            if earlier is not None:
                if (earlier.product_id, earlier.starts_on, earlier.ends_on) != (
                    product.id,
                    starts_on,
                    ends_on,
                ):
                    raise GroupError("contract_exists", f"{code} {year}")
                return earlier
            contract = models.GroupContract(
                group_id=group.id,
                year=year,
                product_id=product.id,
                starts_on=starts_on,
                ends_on=ends_on,
                invoice_no=f"{code}-{year}",
                created_at=now,
                created_by=by,
            )
            session.add(contract)
            category = sponsor_code(code)
            subsidy = await session.scalar(
                select(models.Subsidy).where(
                    models.Subsidy.sponsor_id == group.sponsor_id,
                    models.Subsidy.product_id == product.id,
                    models.Subsidy.category == category,
                )
            )
            if subsidy is None:
                session.add(
                    models.Subsidy(
                        sponsor_id=group.sponsor_id,
                        product_id=product.id,
                        category=category,
                        percent=100,
                    )
                )
            await rules_changed_async(session)  # the contract's subsidy applies from now on
            session.add(
                audit.entry(
                    by,
                    AuditAction.GROUP_CONTRACT_SIGNED,
                    now,
                    details={
                        "group": code,
                        "year": year,
                        "product": product.code,
                        "starts_on": starts_on.isoformat(),
                        "ends_on": ends_on.isoformat(),
                    },
                )
            )
            return contract

    async def join(
        self, code: str, member_no: str, *, by: str, scope: Scope | None, now: datetime
    ) -> int:
        """A household (by its head's or any member's number) joins the group: its cover
        years are priced for the group from the next one, and from the current one when
        nothing of it is paid yet (an agent enrolled it for the group). Returns the
        household's id."""
        async with writing(self.sessions, f"group:{code}") as session:
            group = await _group(session, code, scope)
            household = await session.scalar(
                select(models.Household)
                .join(models.Member, models.Member.household_id == models.Household.id)
                .where(models.Member.member_no == member_no)
            )
            if household is None:
                raise GroupError("member_no", member_no)
            if household.mutual_id != group.mutual_id:
                raise GroupError("other_mutual", member_no)
            join_group(household, group)
            repriced = await _reprice_unpaid(session, household, now.date())
            session.add(
                audit.entry(
                    by,
                    AuditAction.GROUP_MEMBER_ADDED,
                    now,
                    household_id=household.id,
                    member_no=member_no,
                    details={"group": code, "current_year_repriced": repriced},
                )
            )
            return household.id

    async def listing(self, scope: Scope | None) -> list[GroupRow]:
        async with self.sessions() as session:
            members = (
                select(models.Household.group_id, func.count().label("households"))
                .where(models.Household.group_id.is_not(None))
                .group_by(models.Household.group_id)
                .subquery()
            )
            query = (
                select(models.PayerGroup, models.SchemeUnit, members.c.households)
                .join(models.SchemeUnit, models.SchemeUnit.id == models.PayerGroup.mutual_id)
                .outerjoin(members, members.c.group_id == models.PayerGroup.id)
                .order_by(models.PayerGroup.code)
            )
            rows = (await session.execute(query)).all()
        return [
            GroupRow(
                group.code,
                group.name,
                group.kind,
                unit.code,
                unit.path,
                group.treasurer_phone,
                count or 0,
            )
            for group, unit, count in rows
            if scope is None or scope.covers(unit.path)
        ]

    async def invoices(self, code: str, scope: Scope | None) -> list[Invoice]:
        """One invoice per contract year, amounts as they stand now."""
        async with self.sessions() as session:
            group = await _group(session, code, scope)
            contracts = (
                await session.execute(
                    select(models.GroupContract, models.Product.code)
                    .join(models.Product, models.Product.id == models.GroupContract.product_id)
                    .where(models.GroupContract.group_id == group.id)
                    .order_by(models.GroupContract.year)
                )
            ).all()
            found = []
            for contract, product in contracts:
                households, amount, paid = await _shares(session, group, contract)
                found.append(
                    Invoice(
                        group.code,
                        group.name,
                        contract.year,
                        contract.invoice_no,
                        product,
                        contract.starts_on,
                        contract.ends_on,
                        households,
                        amount,
                        paid,
                    )
                )
            return found

    async def record_transfer(
        self,
        code: str,
        amount: int,
        reference: str,
        received_on: date,
        *,
        by: str,
        scope: Scope | None,
        now: datetime,
    ) -> int:
        """A transfer from the group, recorded once per reference (the same reference
        again records nothing more), spread over the shares it owes, oldest first;
        returns the amount allocated. Rights open as the shares are paid."""
        reference = reference.strip()
        if not reference:
            raise GroupError("reference")
        async with self.sessions() as session:
            group = await _group(session, code, scope)
            already = await session.scalar(
                select(models.SponsorSettlement).where(
                    models.SponsorSettlement.reference == reference
                )
            )
        if already is not None and already.sponsor_id != group.sponsor_id:
            raise GroupError("reference_taken", reference)
        allocated = await Sponsors(self.sessions).settle(
            sponsor_code(code), amount, reference, received_on, now
        )
        if already is None:
            async with writing(self.sessions) as session:
                session.add(
                    audit.entry(
                        by,
                        AuditAction.GROUP_TRANSFER_RECORDED,
                        now,
                        details={
                            "group": code,
                            "amount": amount,
                            "allocated": allocated,
                            "reference": reference,
                        },
                    )
                )
        return allocated


def join_group(household: models.Household, group: models.PayerGroup) -> None:
    """The household's premium is the group's from its next priced year on: its category
    is the one the group's subsidy applies to."""
    household.group_id = group.id
    household.category = sponsor_code(group.code)


async def _reprice_unpaid(session: AsyncSession, household: models.Household, today: date) -> bool:
    """The current year priced again for the group, when nothing of it is paid yet and
    it is not over: what the household was asked, the group now owes."""
    period = await current_period(session, household.id, today)
    if (
        period is None
        or period.amount_paid
        or period.sponsor_paid
        or period.status != CoverageStatus.PENDING_PAYMENT
    ):
        return False
    await session.refresh(period, with_for_update=True)
    everyone = [person_of(m) for m in await members_of(session, household.id)]
    price = await price_for(session, household, period, everyone)
    # The group's share must arrive before cover starts: the year now waits for it.
    waiting = await session.scalars(
        select(models.Sponsor.waits_for_payment).where(
            models.Sponsor.id.in_(list(price.quote.sponsors))
        )
    )
    period.waits_for_sponsor = any(waiting)
    await apply_price(session, period, price, today)
    return True


async def _mutual(session: AsyncSession, code: str, scope: Scope | None) -> models.SchemeUnit:
    mutual = await session.scalar(
        select(models.SchemeUnit).where(
            models.SchemeUnit.code == code, models.SchemeUnit.level == UnitLevel.MUTUAL
        )
    )
    if mutual is None:
        raise GroupError("mutual", code)
    if scope is not None and not scope.covers(mutual.path):
        raise PermissionError(code)
    return mutual


async def _group(session: AsyncSession, code: str, scope: Scope | None) -> models.PayerGroup:
    found = (
        await session.execute(
            select(models.PayerGroup, models.SchemeUnit.path)
            .join(models.SchemeUnit, models.SchemeUnit.id == models.PayerGroup.mutual_id)
            .where(models.PayerGroup.code == code)
        )
    ).first()
    if found is None:
        raise LookupError(code)
    group, path = found
    if scope is not None and not scope.covers(path):
        raise LookupError(code)  # outside the unit: as if it did not exist
    return group


async def _shares(
    session: AsyncSession, group: models.PayerGroup, contract: models.GroupContract
) -> tuple[int, int, int]:
    cover_start = func.coalesce(
        models.CoveragePeriod.cover_starts_on, models.CoveragePeriod.starts_on
    )
    row = (
        await session.execute(
            select(
                func.count(func.distinct(models.CoveragePeriod.household_id)),
                func.coalesce(func.sum(models.PeriodShare.amount), 0),
                func.coalesce(func.sum(models.PeriodShare.paid), 0),
            )
            .join(models.CoveragePeriod, models.CoveragePeriod.id == models.PeriodShare.period_id)
            .where(
                models.PeriodShare.sponsor_id == group.sponsor_id,
                models.CoveragePeriod.cancelled_on.is_(None),
                cover_start >= contract.starts_on,
                cover_start <= contract.ends_on,
            )
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])
