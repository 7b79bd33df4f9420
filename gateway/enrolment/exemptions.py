"""Per-person exemptions (a pregnancy, indigence) as staff, an import or the social
registry record them; `gateway.enrolment.pricing` reads them when it prices a cover year.

Children under the product's free-care age need no row: their birth date says it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from db import models
from db.values import ExemptionGround, ExemptionSource
from gateway.enrolment.pricing import Exemption


def record_exemption(
    session: Session,
    member_id: int,
    ground: ExemptionGround,
    source: ExemptionSource,
    starts_on: date,
    ends_on: date | None,
    recorded_by: str | None,
    now: datetime,
) -> models.MemberExemption:
    """Record that `member_id` is exempt on `ground` from `starts_on` (to `ends_on`).
    The same member, ground and start again is the same exemption: its end, source and
    author are updated (a pregnancy's expected end corrected), no second row is added.
    Within the caller's transaction."""
    if ends_on is not None and ends_on < starts_on:
        raise ValueError("an exemption cannot end before it starts")
    row = session.scalar(
        select(models.MemberExemption).where(
            models.MemberExemption.member_id == member_id,
            models.MemberExemption.ground == ground,
            models.MemberExemption.starts_on == starts_on,
        )
    )
    if row is None:
        row = models.MemberExemption(
            member_id=member_id, ground=ground, starts_on=starts_on, created_at=now
        )
        session.add(row)
    row.source, row.ends_on, row.recorded_by = source, ends_on, recorded_by
    session.flush()
    return row


def exemptions_on(
    session: Session, member_ids: Iterable[int], day: date
) -> dict[int, tuple[Exemption, ...]]:
    """The exemptions valid on `day`, by member (members with none are left out)."""
    ids = list(member_ids)
    if not ids:
        return {}
    rows = session.scalars(
        select(models.MemberExemption)
        .where(
            models.MemberExemption.member_id.in_(ids),
            models.MemberExemption.starts_on <= day,
            or_(models.MemberExemption.ends_on.is_(None), models.MemberExemption.ends_on >= day),
        )
        .order_by(models.MemberExemption.member_id, models.MemberExemption.starts_on)
    )
    found: dict[int, list[Exemption]] = {}
    for row in rows:
        found.setdefault(row.member_id, []).append(
            Exemption(ExemptionGround(row.ground), row.starts_on, row.ends_on)
        )
    return {member_id: tuple(grounds) for member_id, grounds in found.items()}
