"""The list of field agents a staff member sees at `/admin/agents`: each agent's account
(`Agents.listing`), the households they registered today and this campaign (the
statistics' `agents` figure, so the list and `/admin/stats/agents` count alike), and the
cash they hold (`CashLedger.positions`).

"This campaign" is the agent's mutual's, as on the agent's own phone
(`gateway.agents.desk.campaign_starts`): since the latest opening of an enrolment
window of its products, 1 January when they are open all year. Mutuals that share a
campaign start are counted together: one figure per distinct start, not per mutual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.values import UnitLevel
from gateway.agents.desk import campaign_starts
from gateway.staff.form_fields import readable_phone
from gateway.staff.management import Management
from gateway.staff.scope import Scope
from gateway.staff.scope_sql import within_scope
from gateway.stats.board import Board
from gateway.stats.figures import agent_initials
from gateway.stats.filters import Filters
from menus.identifiers import mask_phone


@dataclass(frozen=True)
class Mutual:
    id: int
    code: str
    name: str
    path: str


@dataclass(frozen=True)
class AgentLine:
    id: int
    name: str  # initials and number for a viewer
    phone: str  # masked for a viewer
    mutual: str  # its code
    state: str  # AgentRow.state: active, no PIN yet, locked, disabled
    households_today: int
    persons_today: int
    households_campaign: int
    persons_campaign: int
    campaign_since: date
    cash_held: int


@dataclass(frozen=True)
class Roster:
    lines: list[AgentLine]
    computed_at: datetime  # when the figures were counted (they are kept a minute)


async def mutuals_in_scope(
    sessions: async_sessionmaker[AsyncSession], scope: Scope
) -> list[Mutual]:
    """The mutuals a staff member sees, by name."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    models.SchemeUnit.id,
                    models.SchemeUnit.code,
                    models.SchemeUnit.name,
                    models.SchemeUnit.path,
                )
                .where(
                    models.SchemeUnit.level == UnitLevel.MUTUAL,
                    within_scope(scope, models.SchemeUnit.path),
                )
                .order_by(models.SchemeUnit.name)
            )
        ).all()
    return [Mutual(*row) for row in rows]


async def roster(
    management: Management,
    board: Board,
    sessions: async_sessionmaker[AsyncSession],
    scope: Scope,
    mutuals: list[Mutual],
    today: date,
    mutual: str | None = None,
) -> Roster:
    """The agents of `mutuals` (those of the scope), or of the one `mutual` among them."""
    shown = [m for m in mutuals if mutual is None or m.code == mutual]
    by_code = {m.code: m for m in shown}
    accounts = [row for row in await management.agents.listing(mutual) if row.mutual in by_code]
    async with sessions() as session:
        starts = await campaign_starts(session, [m.id for m in shown], today)
    counted = [await board.figure("agents", scope, Filters(today, today, mutual))]
    since: dict[date, dict[int, dict[str, Any]]] = {}
    for start in sorted(set(starts.values())):
        computed = await board.figure("agents", scope, Filters(since=start, mutual=mutual))
        since[start] = _by_agent(computed.figures)
        counted.append(computed)
    today_rows = _by_agent(counted[0].figures)
    held = {p.agent_id: p.held for p in await management.cash.positions(mutual_code=mutual)}
    lines = []
    for row in accounts:
        start = starts[by_code[row.mutual].id]
        now, campaign = today_rows.get(row.id, {}), since[start].get(row.id, {})
        lines.append(
            AgentLine(
                id=row.id,
                name=row.name if scope.sees_personal_data else agent_initials(row.name, row.id),
                phone=readable_phone(row.phone)
                if scope.sees_personal_data
                else mask_phone(row.phone),
                mutual=row.mutual,
                state=row.state,
                households_today=int(now.get("households", 0)),
                persons_today=int(now.get("members", 0)),
                households_campaign=int(campaign.get("households", 0)),
                persons_campaign=int(campaign.get("members", 0)),
                campaign_since=start,
                cash_held=held.get(row.id, 0),
            )
        )
    return Roster(lines, min(c.computed_at for c in counted))


def _by_agent(figures: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(row["agent_id"]): row for row in figures["agents"]}
