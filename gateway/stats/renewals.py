"""The figures a mutual steers its yearly campaign by: how many households due for renewal
came back (the renewal rate), which ones are still to visit, and how many households of
each year's intake are still covered the years after (retention).

Meanings, once for all (docs/statistics-api.md says the same):
- a cover year *ends* on its fixed `cover_ends_on` (a scheme year), otherwise on its
  `covered_until` (rolling cover: a year never paid has no end, so is never due);
- a cover year is *due* for renewal once its renewal window has opened: its end less
  its product's `renewal_opens_days` (60 by default), the day the household may renew.
  Due in a period = the window opened in it; without `to`, the period runs to today, so
  a year is due from the first day of its campaign, for the rate and the list alike.
  Counted per cover year, so a household whose two years both open in a long period
  counts twice;
- it *renewed* when a cover year with `renewal_of_id` = that year exists (opened, not
  cancelled); *paid* when that renewal's share that opens rights is paid
  (`paid_in_full_on`);
- the renewal rate is renewed ÷ due; its channel is the renewal's own `channel`.

Every query is grouped in SQL and reads the cover years by index: the end dates
(`covered_until`, and `cover_ends_on` since migration 0014) for the period, and
`renewal_of_id` (migration 0012) for the renewal of each.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Subquery, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from db import models
from gateway.staff.scope import Scope
from gateway.stats.filters import Filters
from gateway.stats.selection import Selection, Source, reading, select_for
from menus.identifiers import mask_phone
from menus.values import CoverageStatus, Relationship

H = models.Household
M = models.Member
P = models.CoveragePeriod

# The households still to visit, when the request names no period: renewal windows
# opened in the last 90 days, up to today (with the default 60-day window: cover ending
# from a month ago, in grace, to two months ahead).
DUE_SINCE_DAYS = 90
DUE_ROWS = 500  # the nearest ends first; `due` says how many there are in all


def ends_on() -> ColumnElement[Any]:
    """The day a cover year ends: its fixed end, or the end of its rolling cover."""
    return func.coalesce(P.cover_ends_on, P.covered_until)


def ending_between(since: date | None, until: date | None) -> ColumnElement[bool]:
    """Cover years ending in the period, written so that each arm reads an index of its
    own (`cover_ends_on`, `covered_until`) rather than the COALESCE of the two."""
    fixed: list[ColumnElement[bool]] = [P.cover_ends_on.is_not(None)]
    rolling: list[ColumnElement[bool]] = [P.cover_ends_on.is_(None), P.covered_until.is_not(None)]
    if since is not None:
        fixed.append(P.cover_ends_on >= since)
        rolling.append(P.covered_until >= since)
    if until is not None:
        fixed.append(P.cover_ends_on <= until)
        rolling.append(P.covered_until <= until)
    return or_(and_(*fixed), and_(*rolling))


async def _windows(session: AsyncSession) -> dict[int, list[int]]:
    """The products by how many days before the end their renewal window opens."""
    windows: dict[int, list[int]] = defaultdict(list)
    for product_id, days in await session.execute(
        select(models.Product.id, models.Product.renewal_opens_days)
    ):
        windows[int(days)].append(product_id)
    return windows


def window_opened_between(
    windows: dict[int, list[int]], since: date | None, until: date | None
) -> ColumnElement[bool]:
    """Cover years whose renewal window opened in the period (the one meaning of *due*):
    per window length, the years of those products ending that many days after the
    period's days, so that each arm still reads the end dates' indexes."""

    def later(day: date | None, days: int) -> date | None:
        return None if day is None else day + timedelta(days=days)

    arms = [
        and_(P.product_id.in_(ids), ending_between(later(since, days), later(until, days)))
        for days, ids in sorted(windows.items())
    ]
    return or_(*arms) if arms else false()


def _due_years(sel: Selection) -> list[ColumnElement[bool]]:
    """Cover years of the scope's households (the household's mutual and commune; the
    year's own product), not cancelled: the condition of the join to `households` too."""
    conditions = [H.id == P.household_id, *sel.in_mutuals(H.mutual_id)]
    conditions.append(P.status != CoverageStatus.CANCELLED)
    if sel.product_id is not None:
        conditions.append(P.product_id == sel.product_id)
    if sel.filters.commune is not None:
        conditions.append(H.commune == sel.filters.commune)
    return conditions


def _renewal_of(due: Any, channel: str | None) -> tuple[Any, ColumnElement[bool]]:
    """The renewal of a due year, for an outer join: found by `renewal_of_id`'s index."""
    renewal = aliased(P)
    on = [renewal.renewal_of_id == due.id, renewal.status != CoverageStatus.CANCELLED]
    if channel is not None:
        on.append(renewal.channel == channel)
    return renewal, and_(*on)


async def renewals(source: Source, scope: Scope, filters: Filters, today: date) -> dict[str, Any]:
    """The renewal rate: of the households due for renewal in the period (a cover year,
    not cancelled, whose renewal window opened in it: its end, the fixed `cover_ends_on`
    of a scheme year or else its `covered_until`, less its product's
    `renewal_opens_days`), how many renewed (a cover year whose `renewal_of_id` is that
    year exists, not cancelled) and how many of those renewals are paid (the share that
    opens rights); `renewal_rate` = renewed ÷ due, `paid_rate` = paid ÷ due. Counted per
    cover year. By mutual, commune (the household's), product (the due year's) and
    channel (the renewal's own `channel`; there `share` = renewed by that channel ÷ all
    due, and the shares add up to the renewal rate).

    Without `to`, the period runs to today: a year is due from the day its household may
    renew, so the rate follows the campaign as it goes. The `channel` filter keeps the
    renewals made through that channel (the due stay all)."""
    until = filters.until or today
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        due_in = window_opened_between(await _windows(session), filters.since, until)
        renewal, on = _renewal_of(P, filters.channel)
        rows = (
            await session.execute(
                select(
                    H.mutual_id,
                    H.commune,
                    P.product_id,
                    renewal.channel,
                    func.count(P.id),
                    func.count(renewal.id),
                    func.count(renewal.paid_in_full_on),
                )
                .select_from(P)
                .join(H, and_(*_due_years(sel)))
                .outerjoin(renewal, on)
                .where(due_in)
                .group_by(H.mutual_id, H.commune, P.product_id, renewal.channel)
            )
        ).all()
    due, renewed, paid = (sum(int(row[i]) for row in rows) for i in (4, 5, 6))
    result: dict[str, Any] = {
        "period": {"from": _iso(filters.since), "to": until.isoformat()},
        **_rates(due, renewed, paid),
    }
    for dimension, name in (
        ("mutual", lambda row: sel.mutual_code(row[0])),
        ("commune", lambda row: row[1] or "unknown"),
        ("product", lambda row: sel.product_code(row[2])),
    ):
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for row in rows:
            total = sums[name(row)]
            for i in range(3):
                total[i] += int(row[4 + i])
        result[f"by_{dimension}"] = [
            {"key": key, **_rates(*counts)} for key, counts in sorted(sums.items())
        ]
    by_channel: Counter[str] = Counter()
    paid_by_channel: Counter[str] = Counter()
    for row in rows:
        if row[3] is not None or row[5]:
            by_channel[row[3] or "unknown"] += int(row[5])
            paid_by_channel[row[3] or "unknown"] += int(row[6])
    result["by_channel"] = [
        {
            "key": key,
            "renewed": count,
            "paid": paid_by_channel[key],
            "share": rate(count, due),
        }
        for key, count in sorted(by_channel.items())
    ]
    return result


async def renewals_due(
    source: Source, scope: Scope, filters: Filters, today: date
) -> dict[str, Any]:
    """The households still to visit: due for renewal in the period (a cover year whose
    renewal window opened in it, as in `renewals`) and not renewed yet, the nearest end
    first, with what an agent needs to find them: the head's member number and name, the
    household's phone, commune and village. Staff who may not see personal data
    (viewers) get the name's initials and the phone masked, and no village.

    Without `from`/`to`: windows opened in the last 90 days up to today (with the default
    60-day window, cover ending from 30 days ago, in grace, to 60 days ahead). At most
    500 rows (`households`); `due` counts them all, `by_commune` by the household's
    commune."""
    since = filters.since or today - timedelta(days=DUE_SINCE_DAYS)
    until = filters.until or today
    personal = scope.sees_personal_data
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        due_in = window_opened_between(await _windows(session), since, until)
        renewal, on = _renewal_of(P, None)
        head = aliased(M)
        by_commune = (
            await session.execute(
                select(H.commune, func.count())
                .select_from(P)
                .join(H, and_(*_due_years(sel)))
                .outerjoin(renewal, on)
                .where(due_in, renewal.id.is_(None))
                .group_by(H.commune)
            )
        ).all()
        rows = (
            await session.execute(
                select(
                    H.id,
                    H.mutual_id,
                    H.phone,
                    H.commune,
                    H.village,
                    P.product_id,
                    ends_on(),
                    P.grace_until,
                    P.status,
                    head.member_no,
                    head.last_name,
                    head.first_names,
                )
                .select_from(P)
                .join(H, and_(*_due_years(sel)))
                .outerjoin(renewal, on)
                .outerjoin(
                    head,
                    and_(
                        head.household_id == H.id,
                        head.relationship_to_head == Relationship.HEAD,
                        head.left_on.is_(None),
                    ),
                )
                .where(due_in, renewal.id.is_(None))
                .order_by(ends_on(), H.id)
                .limit(DUE_ROWS)
            )
        ).all()
    households = [
        {
            "household_id": row[0],
            "member_no": row[9],
            "name": _name(row[10], row[11], personal),
            "phone": row[2] if personal else mask_phone(row[2]),
            "mutual": sel.mutual_code(row[1]),
            "commune": row[3],
            "village": row[4] if personal else None,
            "product": sel.product_code(row[5]),
            "ends_on": _iso(row[6]),
            "grace_until": _iso(row[7]),
            "status": row[8],
        }
        for row in rows
    ]
    return {
        "period": {"from": since.isoformat(), "to": until.isoformat()},
        "due": sum(int(count) for _, count in by_commune),
        "by_commune": [
            {"key": commune or "unknown", "due": int(count)}
            for commune, count in sorted(by_commune, key=lambda row: row[0] or "")
        ],
        "households": households,
    }


async def retention(source: Source, scope: Scope, filters: Filters, today: date) -> dict[str, Any]:
    """Retention over the years: households by the year they were first covered (their
    cohort: the first cover year, not cancelled, whose rights opened), and how many of
    them are covered again each year after, up to this year. A cover year belongs to the
    year its cover starts: the scheme year's fixed start, else the day rights opened
    (`covered_from`), so a rolling renewal paid before the end counts in the next year.
    `rate` = covered that year ÷ the cohort.

    `from`/`to` keep the cohorts of those years; `mutual`, `commune`, `product` and
    `channel` are the household's (its current product, how it first came)."""
    async with reading(source) as session:
        sel = await select_for(session, source, scope, filters)
        years = covered_years(sel)
        # Each household's first year beside each of its years, in one pass (a window):
        # joining the years to their per-household minimum made PostgreSQL loop over
        # one for every row of the other, past its time limit from ~10k households.
        with_cohort = select(
            years.c.year,
            func.min(years.c.year).over(partition_by=years.c.household_id).label("cohort"),
        ).subquery()
        rows = (
            await session.execute(
                select(with_cohort.c.cohort, with_cohort.c.year, func.count())
                .where(*cohorts_kept(with_cohort.c.cohort, filters))
                .group_by(with_cohort.c.cohort, with_cohort.c.year)
            )
        ).all()
    return cohorts_of(rows, today)


def covered_years(sel: Selection) -> Subquery:
    """(household_id, year) once per year a household of the selection was covered: its
    cover years not cancelled whose rights opened, each in the year its cover starts (the
    scheme year's fixed start, else the day rights opened)."""
    year = func.extract("year", func.coalesce(P.cover_starts_on, P.covered_from))
    return (
        select(P.household_id.label("household_id"), year.label("year"))
        .select_from(P)
        .join(H, H.id == P.household_id)
        .where(
            P.covered_from.is_not(None),
            P.status != CoverageStatus.CANCELLED,
            *sel.households(),
        )
        .distinct()
        .subquery()
    )


def cohorts_kept(cohort: Any, filters: Filters) -> list[ColumnElement[bool]]:
    """`from`/`to` keep the cohorts of those years."""
    kept: list[ColumnElement[bool]] = []
    if filters.since is not None:
        kept.append(cohort >= filters.since.year)
    if filters.until is not None:
        kept.append(cohort <= filters.until.year)
    return kept


def cohorts_of(rows: Iterable[Any], today: date) -> dict[str, Any]:
    """The retention answer from (cohort, year covered, households) rows: each intake
    year's size and, for every year after it up to this one, how many are still covered."""
    covered: dict[int, dict[int, int]] = defaultdict(dict)
    for cohort, covered_year, count in rows:
        covered[int(cohort)][int(covered_year)] = int(count)
    cohorts = []
    for cohort in sorted(covered):
        size = covered[cohort].get(cohort, 0)
        later = range(cohort + 1, max(today.year, max(covered[cohort])) + 1)
        cohorts.append(
            {
                "year": cohort,
                "households": size,
                "still_covered": [
                    {
                        "year": y,
                        "after_years": y - cohort,
                        "households": covered[cohort].get(y, 0),
                        "rate": rate(covered[cohort].get(y, 0), size),
                    }
                    for y in later
                ],
            }
        )
    return {"cohorts": cohorts}


def _rates(due: int, renewed: int, paid: int) -> dict[str, Any]:
    return {
        "due": due,
        "renewed": renewed,
        "paid": paid,
        "renewal_rate": rate(renewed, due),
        "paid_rate": rate(paid, due),
    }


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _name(last: str | None, first: str | None, personal: bool) -> str | None:
    if last is None:
        return None
    if personal:
        return f"{last} {first or ''}".strip()
    return " ".join(f"{part[:1]}." for part in (last, first or "") if part)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
