"""Does the ledger add up? Read after a restore (and when a backup is taken).

What must hold, from the way the gateway writes money (gateway/payments/ledger.py,
sponsors.py, gateway/agents/ledger.py):
- each cover period's `amount_paid` is the sum of what its succeeded payments credited
  (mobile money and cash alike: `credit` adds a payment's amount, less any part held for
  refund as `refund_due`, in the transaction that marks it succeeded, and nothing else
  writes `amount_paid`); so the totals agree too;
- a succeeded payment has its receipt number, and belongs to its period's household;
- what each sponsor's settlements allocated is what its shares of cover years record as
  paid (`period_shares.paid`), and each year's `sponsor_share`/`sponsor_paid` are the sums
  of its shares;
- no agent has handed over more cash than they collected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, inspect, select

from db import models
from db.values import PaymentStatus
from gateway.agents.ledger import CASH_TAKEN

SUCCEEDED = models.Payment.status == PaymentStatus.SUCCEEDED


def _credited(connection: Connection) -> ColumnElement[int]:
    """What a payment credited its period: a debt paid twice keeps the excess for refund
    (`refund_due`, from revision 0010; a backup of an older schema has no such column)."""
    columns = {column["name"] for column in inspect(connection).get_columns("payments")}
    if "refund_due" in columns:
        return models.Payment.amount - models.Payment.refund_due
    return models.Payment.amount.expression


@dataclass(frozen=True)
class Figures:
    """What a database holds, to print and to compare a restore with its backup."""

    households: int
    persons: int
    payments: int
    messages: int
    credited_payments: int  # succeeded payments
    credited: int  # what they credited, FCFA

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class LedgerCheck:
    payments: int = 0  # succeeded payments
    credited: int = 0  # their sum
    paid: int = 0  # the periods' amount_paid, summed
    settled: int = 0  # sponsors' settlements, allocated
    sponsor_paid: int = 0  # the sponsors' shares of cover years, paid, summed
    cash_held: int = 0  # by agents, not yet handed over
    problems: list[str] = field(default_factory=list)

    @property
    def adds_up(self) -> bool:
        return not self.problems


def figures(connection: Connection) -> Figures:
    def count(table: type[models.Base]) -> int:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)

    credited_payments, credited = connection.execute(
        select(func.count(), func.coalesce(func.sum(_credited(connection)), 0)).where(SUCCEEDED)
    ).one()
    return Figures(
        households=count(models.Household),
        persons=count(models.Member),
        payments=count(models.Payment),
        messages=count(models.Message),
        credited_payments=int(credited_payments),
        credited=int(credited),
    )


def check_ledger(connection: Connection) -> LedgerCheck:
    result = LedgerCheck()
    _premiums(connection, result)
    _receipts_and_households(connection, result)
    _sponsors(connection, result)
    _cash(connection, result)
    return result


def _premiums(connection: Connection, result: LedgerCheck) -> None:
    credited = (
        select(
            models.Payment.period_id.label("period_id"),
            func.count().label("payments"),
            func.sum(_credited(connection)).label("amount"),
        )
        .where(SUCCEEDED)
        .group_by(models.Payment.period_id)
        .subquery()
    )
    period = models.CoveragePeriod
    rows = connection.execute(
        select(
            period.id,
            period.household_id,
            period.amount_paid,
            func.coalesce(credited.c.payments, 0),
            func.coalesce(credited.c.amount, 0),
        )
        .outerjoin(credited, credited.c.period_id == period.id)
        .order_by(period.id)
    ).all()
    for period_id, household_id, paid, payments, amount in rows:
        result.payments += int(payments)
        result.credited += int(amount)
        result.paid += int(paid)
        if int(paid) != int(amount):
            result.problems.append(
                f"cover period {period_id} (household {household_id}) records {paid:,} FCFA "
                f"paid; its {payments} succeeded payments credit {amount:,} FCFA"
            )
    # A succeeded payment whose period is gone would be missed by the join above.
    orphans = connection.scalar(
        select(func.count())
        .select_from(models.Payment)
        .outerjoin(period, period.id == models.Payment.period_id)
        .where(SUCCEEDED, period.id.is_(None))
    )
    if orphans:
        result.problems.append(f"{orphans} succeeded payments belong to no cover period")


def _receipts_and_households(connection: Connection, result: LedgerCheck) -> None:
    unreceipted = connection.scalar(
        select(func.count())
        .select_from(models.Payment)
        .where(SUCCEEDED, models.Payment.receipt_no.is_(None))
    )
    if unreceipted:
        result.problems.append(f"{unreceipted} succeeded payments have no receipt number")
    period = models.CoveragePeriod
    strays = connection.scalar(
        select(func.count())
        .select_from(models.Payment)
        .join(period, period.id == models.Payment.period_id)
        .where(period.household_id != models.Payment.household_id)
    )
    if strays:
        result.problems.append(f"{strays} payments belong to another household than their period")


def _sponsors(connection: Connection, result: LedgerCheck) -> None:
    allocated: dict[int, int] = _by_id(
        connection.execute(
            select(
                models.SponsorSettlement.sponsor_id, func.sum(models.SponsorSettlement.allocated)
            ).group_by(models.SponsorSettlement.sponsor_id)
        ).all()
    )
    recorded: dict[int, int] = _by_id(
        connection.execute(
            select(models.PeriodShare.sponsor_id, func.sum(models.PeriodShare.paid)).group_by(
                models.PeriodShare.sponsor_id
            )
        ).all()
    )
    codes = {row.id: row.code for row in connection.execute(select(models.Sponsor))}
    for sponsor_id in sorted(set(allocated) | set(recorded)):
        settled, paid = int(allocated.get(sponsor_id) or 0), int(recorded.get(sponsor_id) or 0)
        result.settled += settled
        result.sponsor_paid += paid
        if settled != paid:
            result.problems.append(
                f"sponsor {codes.get(sponsor_id, sponsor_id)}: its settlements allocated "
                f"{settled:,} FCFA; its shares of cover years record {paid:,} FCFA paid"
            )
    share = models.PeriodShare
    sums = (
        select(
            share.period_id,
            func.sum(share.amount).label("amount"),
            func.sum(share.paid).label("paid"),
        )
        .group_by(share.period_id)
        .subquery()
    )
    period = models.CoveragePeriod
    apart = connection.scalar(
        select(func.count())
        .select_from(period)
        .outerjoin(sums, sums.c.period_id == period.id)
        .where(
            (period.sponsor_share != func.coalesce(sums.c.amount, 0))
            | (period.sponsor_paid != func.coalesce(sums.c.paid, 0))
        )
    )
    if apart:
        result.problems.append(
            f"{apart} cover years whose sponsor share or paid is not the sum of their shares"
        )
    over = connection.scalar(
        select(func.count())
        .select_from(models.SponsorSettlement)
        .where(models.SponsorSettlement.allocated > models.SponsorSettlement.amount)
    )
    if over:
        result.problems.append(f"{over} sponsor settlements allocate more than they received")


def _cash(connection: Connection, result: LedgerCheck) -> None:
    collected: dict[int, int] = _by_id(
        connection.execute(
            select(models.Payment.agent_id, func.sum(models.Payment.amount))
            .where(models.Payment.agent_id.is_not(None), *CASH_TAKEN)
            .group_by(models.Payment.agent_id)
        ).all()
    )
    handed: dict[int, int] = _by_id(
        connection.execute(
            select(models.CashHandover.agent_id, func.sum(models.CashHandover.amount)).group_by(
                models.CashHandover.agent_id
            )
        ).all()
    )
    for agent_id in sorted(set(collected) | set(handed)):
        held = int(collected.get(agent_id) or 0) - int(handed.get(agent_id) or 0)
        if held < 0:
            result.problems.append(
                f"agent {agent_id} handed over {-held:,} FCFA more cash than they collected"
            )
        else:
            result.cash_held += held


def _by_id(rows: Sequence[Any]) -> dict[int, int]:
    """Sums grouped by an id, as a mapping (a NULL id, excluded by the queries, skipped)."""
    return {int(row[0]): int(row[1] or 0) for row in rows if row[0] is not None}
