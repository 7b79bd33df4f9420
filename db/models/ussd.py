"""How USSD sessions ended, as the aggregator reports it: the material of the funnel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class UssdSessionEnd(Base):
    """Africa's Talking's end-of-session notification, with the screen (menu node) the
    session ended on: the material of the USSD funnel. The raw `input` is not kept: it
    carries what people typed, agents' PINs included."""

    __tablename__ = "ussd_session_ends"
    # A manager's funnel: their mutual's sessions of a period (0008).
    __table_args__ = (Index("ix_ussd_session_ends_mutual_ended_at", "mutual_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(100), unique=True)
    service_code: Mapped[str] = mapped_column(String(40))
    network_code: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16))  # Success, Incomplete, Failed
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    hops: Mapped[int | None] = mapped_column(Integer)
    journey: Mapped[str | None] = mapped_column(String(40))  # enrol, pay, agent, ...
    last_node: Mapped[str | None] = mapped_column(String(80))  # e.g. enrol.dep_birth
    error_message: Mapped[str | None] = mapped_column(String(200))
    cost: Mapped[str | None] = mapped_column(String(24))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # The caller's mutual when the session knew it (a known household, a field agent, the
    # mutual chosen while enrolling); None for a stranger who stopped before choosing.
    mutual_id: Mapped[int | None] = mapped_column(ForeignKey("scheme_units.id"))
