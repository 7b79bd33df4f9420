"""How things stand, read from the database when Prometheus scrapes: payments by
status and the age of the oldest pending, what waits for a person, the SMS and register
outboxes, locked accounts.

These are state, not events: the worker (`alafia worker`, a process that serves no
HTTP) moves most of them, and every serving process must answer the same, so they are
counted in the database at scrape time rather than kept in any process. Each figure is
one grouped or bounded query on an indexed column, on the dashboard's small pool so a
scrape never takes a connection a hop is waiting for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import as_aware
from db.values import MessageStatus, NoticeOutcome, PaymentStatus, RegisterEventStatus
from gateway.metrics.events import AGENT, STAFF
from gateway.register.sync import names_pending
from gateway.transcriptions.fetching import waiting_by_state

SMS_FAILURES = (MessageStatus.UNDELIVERED, MessageStatus.REFUSED, MessageStatus.EXPIRED)
REASONS_SHOWN = 20  # per status; the rarer ones add up under "other"
REASON_LENGTH = 40
_NOT_IN_A_LABEL = re.compile(r"[^A-Za-z0-9_:. -]")


@dataclass
class State:
    payments: dict[str, int] = field(default_factory=dict)  # by status
    oldest_pending_payment: float = 0.0  # seconds; 0 when none is pending
    review_payments: int = 0
    review_unknown_references: int = 0
    sms_queued: int = 0
    oldest_due_sms: float = 0.0
    sms_failed: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, reason)
    sms_retrying: dict[str, int] = field(default_factory=dict)  # by the last reason
    register_pending: int = 0
    oldest_pending_register_event: float = 0.0
    register_dead: int = 0
    names_to_transcribe: dict[str, int] = field(default_factory=dict)  # by transcription status
    locked: dict[str, int] = field(default_factory=dict)  # by kind of account


async def read(sessions: async_sessionmaker[AsyncSession], now: datetime) -> State:
    state = State()
    async with sessions() as session:
        await _payments(session, now, state)
        await _sms(session, now, state)
        await _register(session, now, state)
        state.names_to_transcribe = await waiting_by_state(session)
        await _locked(session, now, state)
    return state


async def _payments(session: AsyncSession, now: datetime, state: State) -> None:
    pay = models.Payment
    by_status = select(pay.status, func.count()).group_by(pay.status)
    counted = dict((await session.execute(by_status)).all())
    state.payments = {status.value: int(counted.get(status, 0)) for status in PaymentStatus}
    oldest = await session.scalar(
        select(func.min(pay.created_at)).where(pay.status == PaymentStatus.PENDING)
    )
    state.oldest_pending_payment = _age(oldest, now)
    # What `alafia payments review` lists (gateway/payments/notices.py).
    state.review_payments = await _count(
        session,
        pay,
        or_(
            pay.status == PaymentStatus.NEEDS_REVIEW,
            pay.status.in_((PaymentStatus.PENDING, PaymentStatus.EXPIRED))
            & pay.next_check_at.is_(None),
        ),
    )
    notice = models.PaymentNotice
    state.review_unknown_references = await _count(
        session, notice, notice.outcome == NoticeOutcome.UNKNOWN_REFERENCE
    )


async def _sms(session: AsyncSession, now: datetime, state: State) -> None:
    message = models.Message
    queued = message.status == MessageStatus.QUEUED
    state.sms_queued = await _count(session, message, queued)
    # Due and not sent: a message held for the quiet hours is not late.
    oldest = await session.scalar(
        select(func.min(message.not_before)).where(queued, message.not_before <= now)
    )
    state.oldest_due_sms = _age(oldest, now)
    rows = (
        await session.execute(
            select(message.status, message.reason, func.count())
            .where(message.status.in_(SMS_FAILURES))
            .group_by(message.status, message.reason)
        )
    ).all()
    state.sms_failed = _by_reason(rows)
    # Tried and still queued: a refusal of our account (no credit, a sender id not
    # approved) keeps every message here, retried, rather than failing any of them.
    retried = (
        await session.execute(
            select(message.status, message.reason, func.count())
            .where(queued, message.attempts > 0)
            .group_by(message.status, message.reason)
        )
    ).all()
    state.sms_retrying = {reason: n for (_, reason), n in _by_reason(retried).items()}


async def _register(session: AsyncSession, now: datetime, state: State) -> None:
    event = models.RegisterEvent
    pending = event.status == RegisterEventStatus.PENDING
    state.register_pending = await _count(session, event, pending)
    # A household whose names wait for staff holds its events on purpose: not a register
    # that is behind (those wait in alafia_names_to_transcribe).
    oldest = await session.scalar(
        select(func.min(event.occurred_at)).where(pending, ~names_pending(event.household_id))
    )
    state.oldest_pending_register_event = _age(oldest, now)
    state.register_dead = await _count(session, event, event.status == RegisterEventStatus.DEAD)


async def _locked(session: AsyncSession, now: datetime, state: State) -> None:
    state.locked = {}
    for kind, table in ((AGENT, models.Agent), (STAFF, models.StaffAccount)):
        state.locked[kind] = await _count(
            session, table, table.locked_until > now, table.disabled_at.is_(None)
        )


async def _count(session: AsyncSession, table: Any, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def _age(moment: datetime | None, now: datetime) -> float:
    return 0.0 if moment is None else max(0.0, (now - as_aware(moment, now)).total_seconds())


def _by_reason(rows: Iterable[Any]) -> dict[tuple[str, str], int]:
    """Counts by (status, reason), the reason made fit for a label: the aggregator's own
    words are a short list, but nothing stops them from growing, so the rarest of each
    status beyond REASONS_SHOWN add up under "other"."""
    by_status: dict[str, dict[str, int]] = {}
    for status, reason, count in rows:
        label = _NOT_IN_A_LABEL.sub("", (reason or "unknown")[:REASON_LENGTH]) or "unknown"
        reasons = by_status.setdefault(str(status), {})
        reasons[label] = reasons.get(label, 0) + int(count)
    found: dict[tuple[str, str], int] = {}
    for status, reasons in by_status.items():
        ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        for reason, count in ranked[:REASONS_SHOWN]:
            found[(status, reason)] = count
        rest = sum(count for _, count in ranked[REASONS_SHOWN:])
        if rest:
            found[(status, "other")] = found.get((status, "other"), 0) + rest
    return found


def families(state: State | None) -> list[Metric]:
    """The state as Prometheus metrics; with `state` None (the database did not answer)
    only `alafia_state_read_ok` 0, so an alert can tell "no figures" from "all zero"."""
    ok = GaugeMetricFamily(
        "alafia_state_read_ok",
        "1 when this scrape could read the figures below from the database, 0 otherwise.",
        value=0 if state is None else 1,
    )
    if state is None:
        return [ok]
    return [
        ok,
        _labelled(
            "alafia_payments",
            "Mobile-money payments by status (a count of rows: watch its increase).",
            "status",
            state.payments,
        ),
        _single(
            "alafia_payment_oldest_pending_age_seconds",
            "Age of the oldest payment still pending, 0 when none is.",
            state.oldest_pending_payment,
        ),
        _labelled(
            "alafia_payments_needing_review",
            "What `alafia payments review` lists: payments held or left by the worker "
            "(kind=payment), callbacks for references never issued (kind=unknown_reference).",
            "kind",
            {
                "payment": state.review_payments,
                "unknown_reference": state.review_unknown_references,
            },
        ),
        _single("alafia_sms_outbox_depth", "SMS queued to send.", state.sms_queued),
        _single(
            "alafia_sms_oldest_due_age_seconds",
            "How long the oldest queued SMS has been due, 0 when none is.",
            state.oldest_due_sms,
        ),
        _sms_failed(state.sms_failed),
        _labelled(
            "alafia_sms_retrying",
            "Queued SMS already tried and to be tried again, by the last reason given.",
            "reason",
            state.sms_retrying,
        ),
        _single(
            "alafia_register_outbox_depth",
            "Events waiting to be pushed to the central register.",
            state.register_pending,
        ),
        _single(
            "alafia_register_oldest_pending_age_seconds",
            "Age of the oldest event still waiting for the central register, 0 when none is.",
            state.oldest_pending_register_event,
        ),
        _single(
            "alafia_register_dead_letters",
            "Register events that failed for good (`alafia register retry` after a look).",
            state.register_dead,
        ),
        _labelled(
            "alafia_names_to_transcribe",
            "Names said on the voice line not typed yet, by the state of their recording "
            "(awaiting_audio, ready, no_audio: never came, staff call the household).",
            "state",
            state.names_to_transcribe,
        ),
        _labelled(
            "alafia_accounts_locked",
            "Accounts locked out right now (wrong PINs or passwords), by kind.",
            "account",
            state.locked,
        ),
    ]


def _single(name: str, documentation: str, value: float) -> Metric:
    return GaugeMetricFamily(name, documentation, value=value)


def _labelled(name: str, documentation: str, label: str, values: dict[str, int]) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def _sms_failed(counts: dict[tuple[str, str], int]) -> Metric:
    family = GaugeMetricFamily(
        "alafia_sms_failed",
        "SMS that failed for good, by status (undelivered, refused, expired) and the "
        "aggregator's reason (a count of rows: watch its increase).",
        labels=["status", "reason"],
    )
    for (status, reason), count in sorted(counts.items()):
        family.add_metric([status, reason], count)
    return family
