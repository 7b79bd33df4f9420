"""The dashboard's figures, as plain dicts: no HTTP here, so the API and the /admin pages
show the same numbers. Every function aggregates in SQL (GROUP BY) and brings back a few
dozen rows at most, whatever the size of the scheme; the small roll-ups done in Python
are over those rows, never over households or members.

All take a `Source` (the dashboard's own pool), the staff member's `Scope` and the
request's `Filters`:

    source = Source(shared.dashboard_sessions, shared.settings.timezone)
    await enrolment(source, scope, filters)
    # {"households": 412, "persons": 1630, "by_mutual": [{"key": "MS-PARAKOU", ...}], ...}

Meanings, once for all:
- enrolled in the period: households by `created_at`, persons by their own `created_at`
  (a member added later counts when added);
- the product of a household is its current one (`households.product_id`);
- coverage is each household's latest cover year (its status now), for cover years
  opened (`starts_on`) in the period; a renewal is a cover year that renews another
  (`renewal_of_id`, set for earlier data by migration 0012); the renewal rate, the
  households due and retention are in `gateway.stats.renewals`;
- premiums are those of cover years opened in the period (cancelled ones left out);
  money collected is succeeded payments settled in the period.

The rows of premiums and money are read and summed in `gateway.stats.money`; the time
series is built in `gateway.stats.series` and exported from here with the others.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Subquery, case, exists, func, null, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import aliased, join

from db import models
from gateway.agents.ledger import CASH_TAKEN
from gateway.staff.scope import Scope
from gateway.stats.filters import Filters
from gateway.stats.money import collected_by, collected_rows, premium_rows, premiums_by
from gateway.stats.rollup import enrolment_rows
from gateway.stats.selection import Selection, Source, reading, select_for
from gateway.stats.series import timeseries
from menus.values import CoverageStatus

__all__ = [
    "Source",
    "agents",
    "collection",
    "coverage",
    "enrolment",
    "overview",
    "sms",
    "timeseries",
]


H = models.Household
M = models.Member
P = models.CoveragePeriod
PAY = models.Payment


async def overview(source: Source, scope: Scope, filters: Filters) -> dict[str, Any]:
    """The headline numbers: enrolled households and persons, households covered now,
    premiums due and paid, money collected."""
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        household_rows, person_rows = await enrolment_rows(session, sel)
        year = _latest_years(sel).c
        statuses: dict[str, int] = dict(
            (
                await session.execute(
                    select(year.status, func.count())
                    .where(*sel.days(year.starts_on))
                    .group_by(year.status)
                )
            ).all()
        )
        premiums = await _premium_total(session, sel)
        collected = await collected_rows(session, sel)
    return {
        "households": sum(int(row[-1]) for row in household_rows),
        "persons": sum(int(row[-1]) for row in person_rows),
        "households_by_status": _statuses(statuses),
        "premiums": premiums_by(premiums, lambda row: None, total_only=True)[0],
        "collected": collected_by(collected, lambda row: None, total_only=True)[0],
    }


async def enrolment(source: Source, scope: Scope, filters: Filters) -> dict[str, Any]:
    """Households and persons enrolled in the period, by mutual, commune, product, channel,
    and persons by socio-professional group (`members.occupation`)."""
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        # The folded days from the roll-ups, the days after counted live.
        household_rows, person_rows = await enrolment_rows(session, sel)
    names = {
        "mutual": lambda row: sel.mutual_code(row[0]),
        "commune": lambda row: row[1] or "unknown",
        "product": lambda row: sel.product_code(row[2]),
        "channel": lambda row: row[3],
    }
    result: dict[str, Any] = {
        "households": sum(row[-1] for row in household_rows),
        "persons": sum(row[-1] for row in person_rows),
    }
    for dimension, name in names.items():
        households = sum_by(household_rows, name)
        persons = sum_by(person_rows, name)
        result[f"by_{dimension}"] = [
            {"key": key, "households": households.get(key, 0), "persons": persons.get(key, 0)}
            for key in sorted(set(households) | set(persons))
        ]
    occupations = sum_by(person_rows, lambda row: row[4] or "unknown")
    result["by_occupation"] = [
        {"key": key, "persons": count} for key, count in sorted(occupations.items())
    ]
    return result


async def coverage(source: Source, scope: Scope, filters: Filters) -> dict[str, Any]:
    """Households (and the persons of their cover year) by the status of their latest
    cover year: covered (`active`), waiting, pending payment, in grace, lapsed ("droits
    fermés"), cancelled; by mutual too; and among the cover years opened in the period,
    the first years and the renewals (a year whose `renewal_of_id` names the year it
    renews; the renewal rate is `/renewals`)."""
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        year = _latest_years(sel, with_mutual=True).c
        rows = (
            await session.execute(
                select(year.mutual_id, year.status, func.count(), func.sum(year.persons))
                .where(*sel.days(year.starts_on))
                .group_by(year.mutual_id, year.status)
            )
        ).all()
        # A renewal renews a year (`renewal_of_id`), as in `gateway.stats.renewals`.
        renewal = P.renewal_of_id.is_not(None)
        opened = (
            await session.execute(
                select(func.count(), func.sum(case((renewal, 1), else_=0)))
                .select_from(_years(sel))
                .where(
                    *sel.households(), *sel.days(P.starts_on), P.status != CoverageStatus.CANCELLED
                )
            )
        ).one()
    return coverage_answer(sel, rows, opened)


def coverage_answer(
    sel: Selection, rows: Iterable[Sequence[Any]], opened: Sequence[Any]
) -> dict[str, Any]:
    """`coverage`'s answer from its two reads: (mutual, status, households, persons) of
    the latest years, and (years opened, of them renewals); the former query's baseline
    (bench/dashboard_cold.py) shapes its answer here too."""
    households: Counter[str] = Counter()
    persons: Counter[str] = Counter()
    by_mutual: dict[str, Counter[str]] = defaultdict(Counter)
    for mutual_id, status, count, people in rows:
        households[status] += count
        persons[status] += int(people or 0)
        by_mutual[sel.mutual_code(mutual_id)][status] += count
    periods, renewals = int(opened[0] or 0), int(opened[1] or 0)
    return {
        "households": sum(households.values()),
        "households_by_status": _statuses(households),
        "persons_by_status": _statuses(persons),
        "by_mutual": [
            {"key": key, **_statuses(counts)} for key, counts in sorted(by_mutual.items())
        ],
        "periods_opened": {"first": periods - renewals, "renewals": renewals},
    }


async def collection(source: Source, scope: Scope, filters: Filters) -> dict[str, Any]:
    """Premiums of the cover years opened in the period (due, paid, collection rate, the
    sponsors' shares), by mutual and product; money collected in the period by provider
    and channel."""
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        premiums = await premium_rows(session, sel)
        collected = await collected_rows(session, sel)
    return {
        "premiums": premiums_by(premiums, lambda row: None, total_only=True)[0],
        "premiums_by_mutual": premiums_by(premiums, lambda row: sel.mutual_code(row[0])),
        "premiums_by_product": premiums_by(premiums, lambda row: sel.product_code(row[1])),
        "collected": collected_by(collected, lambda row: None, total_only=True)[0],
        "collected_by_provider": collected_by(collected, lambda row: row[0]),
        "collected_by_channel": collected_by(collected, lambda row: row[1]),
    }


async def agents(source: Source, scope: Scope, filters: Filters) -> dict[str, Any]:
    """Each field agent of the scope: households and members they registered in the
    period, and the cash premiums they took (succeeded payments with provider `cash`)."""
    agent = models.Agent
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        people = (
            await session.execute(
                select(agent.id, agent.name, agent.mutual_id).where(
                    *([] if sel.whole_scheme else [agent.mutual_id.in_(sorted(sel.mutuals))])
                )
            )
        ).all()
        households = dict(
            (
                await session.execute(
                    select(H.agent_id, func.count())
                    .where(H.agent_id.is_not(None), *sel.households(), *sel.during(H.created_at))
                    .group_by(H.agent_id)
                )
            ).all()
        )
        members = dict(
            (
                await session.execute(
                    select(M.agent_id, func.count())
                    .select_from(M)
                    .join(H, H.id == M.household_id)
                    .where(M.agent_id.is_not(None), *sel.households(), *sel.during(M.created_at))
                    .group_by(M.agent_id)
                )
            ).all()
        )
        cash = {
            agent_id: (count, amount)
            for agent_id, count, amount in (
                await session.execute(
                    select(PAY.agent_id, func.count(), func.sum(PAY.amount))
                    .select_from(PAY)
                    .join(H, H.id == PAY.household_id)
                    .where(
                        PAY.agent_id.is_not(None),
                        *CASH_TAKEN,
                        *sel.households(),
                        *sel.during(PAY.settled_at),
                    )
                    .group_by(PAY.agent_id)
                )
            ).all()
        }
    rows: list[dict[str, Any]] = [
        {
            "agent_id": agent_id,
            # A viewer learns which agent, not who: in the API as on the pages and in CSV.
            "name": name if scope.sees_personal_data else agent_initials(name, agent_id),
            "mutual": sel.mutual_code(mutual_id),
            "households": int(households.get(agent_id, 0)),
            "members": int(members.get(agent_id, 0)),
            "cash_payments": int(cash.get(agent_id, (0, 0))[0]),
            "cash_collected": int(cash.get(agent_id, (0, 0))[1] or 0),
        }
        for agent_id, name, mutual_id in people
    ]
    rows.sort(key=lambda row: (-row["households"], -row["cash_collected"], row["agent_id"]))
    return {"agents": rows}


def agent_initials(name: str, agent_id: int) -> str:
    """An agent named for a viewer: initials and the account's number."""
    letters = " ".join(f"{part[:1]}." for part in name.split()) or "?"
    return f"{letters} #{agent_id}"


async def sms(source: Source, scope: Scope, filters: Filters) -> dict[str, Any]:
    """SMS queued in the period, by status (queued, sent, delivered, undelivered, refused,
    cancelled, expired), by the delivery report's own word, and by purpose. Messages to
    numbers of no household (replies to strangers) count only for the whole scheme."""
    message = models.Message
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        household_filtered = not sel.whole_scheme or bool(
            filters.product or filters.commune or filters.channel
        )
        query = select(message.status, message.delivery_status, message.purpose, func.count())
        if household_filtered:
            query = query.select_from(message).join(H, H.id == message.household_id)
        rows = (
            await session.execute(
                query.where(
                    *(sel.households() if household_filtered else ()),
                    *sel.during(message.created_at),
                ).group_by(message.status, message.delivery_status, message.purpose)
            )
        ).all()
    return {
        "messages": sum(row[-1] for row in rows),
        "by_status": dict(sorted(sum_by(rows, lambda row: row[0]).items())),
        "by_delivery_status": dict(sorted(sum_by(rows, lambda row: row[1] or "none").items())),
        "by_purpose": dict(sorted(sum_by(rows, lambda row: row[2]).items())),
    }


def _latest_years(sel: Selection, with_mutual: bool = False) -> Subquery:
    """Each household's latest cover year (no later one exists, whatever the period), for
    the households kept by the selection: a subquery of its `household_id`, `starts_on`,
    `status`, `persons` (and the household's `mutual_id` when asked). The period is the
    caller's condition on `starts_on`, applied to this subquery, so that a household whose
    latest year opened outside the period is not counted by an older year inside it.

    PostgreSQL takes the first year of each household (`DISTINCT ON`) from the index of
    the years latest first (`ix_coverage_periods_latest`, migration 0018), merged with
    the households in id order when they are needed (`ix_households_id_mutual`): index
    pages only, no sort, no hash. SQLite has no `DISTINCT ON`: there, no later year
    exists, from its unique (household_id, starts_on) index. The same rows either way: a
    household opens at most one year a day (`uq_coverage_periods_household_start`)."""
    columns: list[Any] = [P.household_id, P.starts_on, P.status, P.persons]
    if with_mutual:
        columns.append(H.mutual_id)
    query = select(*columns).select_from(_years(sel, with_mutual)).where(*sel.households())
    if sel.dialect == "postgresql":
        query = query.ext(distinct_on(P.household_id)).order_by(P.household_id, P.starts_on.desc())
    else:
        later = aliased(P)
        query = query.where(
            ~exists().where(later.household_id == P.household_id, later.starts_on > P.starts_on)
        )
    return query.subquery("latest")


def _years(sel: Selection, with_household: bool = False) -> Any:
    """`coverage_periods`, joined to `households` when the selection keeps only some of
    them (or the caller needs a household's column): every year has its household, so for
    the whole scheme the join would cost a read of every household and change nothing."""
    if with_household or sel.households():
        return join(P, H, H.id == P.household_id)
    return P


async def _premium_total(session: Any, sel: Selection) -> list[Any]:
    """The premiums of `gateway.stats.money.premium_rows` (cover years opened in the
    period, cancelled ones left out) summed over the whole selection in SQL: one row,
    shaped as theirs, for the overview's total; households read only when filtered."""
    return list(
        (
            await session.execute(
                select(
                    null(),
                    null(),
                    func.sum(P.premium_due),
                    func.sum(P.amount_paid),
                    func.sum(P.sponsor_share),
                    func.sum(P.sponsor_paid),
                )
                .select_from(_years(sel))
                .where(
                    P.status != CoverageStatus.CANCELLED, *sel.households(), *sel.days(P.starts_on)
                )
            )
        ).all()
    )


def _statuses(counts: dict[str, int] | Counter[str]) -> dict[str, int]:
    return {status: int(counts.get(status, 0)) for status in CoverageStatus}


def sum_by(rows: Iterable[Any], name: Any) -> dict[str, int]:
    """Sums the last column of grouped rows under a coarser key."""
    totals: Counter[str] = Counter()
    for row in rows:
        totals[name(row)] += int(row[-1])
    return dict(totals)
