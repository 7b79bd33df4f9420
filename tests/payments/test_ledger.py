"""The premium ledger: open, settle once, credit the coverage period, never double."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from adapters.payments import FailureReason, PaymentState, ProviderStatus
from db.engine import create_engine_async, session_factory
from gateway.enrolment.service import EnrolmentService
from gateway.payments.ledger import Billing, PaymentRefused
from gateway.settings import Settings
from menus.effects import EnrolHousehold, PersonDraft
from menus.text import load_catalogues
from tests.conftest import TODAY

ZONE = ZoneInfo("Africa/Porto-Novo")


class Now:
    def __init__(self) -> None:
        self.at = datetime(TODAY.year, TODAY.month, TODAY.day, 10, 0, tzinfo=ZONE)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def sessions(
    settings: Settings, clean: None
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine_async(settings.database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
def billing(sessions: async_sessionmaker[AsyncSession], now: Now) -> Billing:
    return Billing(sessions, "Africa/Porto-Novo", now)


async def enrol(enrolment: EnrolmentService, persons: int = 3) -> str:
    def person(relationship: str, name: str) -> PersonDraft:
        return PersonDraft("ASSOGBA", name, "F", "1990-01-01", True, relationship)

    result = await enrolment.enrol(
        EnrolHousehold(
            "MS-PARAKOU",
            "FAMILLE",
            "+2290197000701",
            "fr",
            person("head", "Rose"),
            tuple(person("child", f"Enfant{i}") for i in range(persons - 1)),
        ),
        f"test:{uuid.uuid4()}",
        TODAY,
    )
    return result["member_no"]


def confirmed(
    reference: str, state: PaymentState, amount: int | None, currency: str = "XOF"
) -> ProviderStatus:
    reason = FailureReason.INSUFFICIENT_FUNDS if state is PaymentState.FAILED else None
    return ProviderStatus(uuid.UUID(reference), state, amount, currency, "tx-1", reason, None, {})


def period(db: Session) -> tuple[int, str, object]:
    db.expire_all()
    row = db.execute(
        text("SELECT amount_paid, status, paid_in_full_on FROM coverage_periods")
    ).one()
    return row[0], row[1], row[2]


async def test_full_payment_starts_the_waiting_period_then_cover(
    enrolment: EnrolmentService,
    billing: Billing,
    sessions: async_sessionmaker[AsyncSession],
    db: Session,
) -> None:
    member_no = await enrol(enrolment)
    opened = await billing.open_payment(
        member_no, 4725, "+2290197000701", "momo", "XOF", "ussd", "mtn"
    )
    assert opened.due_before == 4725
    settled = await billing.settle(
        opened.reference, confirmed(opened.reference, PaymentState.SUCCEEDED, 4725)
    )
    assert settled.status == "succeeded" and settled.changed and settled.receipt_no
    paid, status, paid_on = period(db)
    assert (paid, status) == (4725, "waiting")
    assert str(paid_on) == TODAY.isoformat()


async def test_instalments_keep_pending_until_paid_in_full(
    enrolment: EnrolmentService,
    billing: Billing,
    sessions: async_sessionmaker[AsyncSession],
    db: Session,
) -> None:
    member_no = await enrol(enrolment)
    first = await billing.open_payment(member_no, 2000, None, "momo", "XOF", "ussd")
    await billing.settle(first.reference, confirmed(first.reference, PaymentState.SUCCEEDED, 2000))
    assert period(db)[:2] == (2000, "pending_payment")
    with pytest.raises(PaymentRefused) as refused:
        await billing.open_payment(member_no, 3000, None, "momo", "XOF", "ussd")
    assert refused.value.reason == "above_due"
    second = await billing.open_payment(member_no, 2725, None, "momo", "XOF", "ussd")
    await billing.settle(
        second.reference, confirmed(second.reference, PaymentState.SUCCEEDED, 2725)
    )
    assert period(db)[:2] == (4725, "waiting")
    with pytest.raises(PaymentRefused) as nothing:
        await billing.open_payment(member_no, 100, None, "momo", "XOF", "ussd")
    assert nothing.value.reason == "nothing_due"


@pytest.mark.parametrize("amount", [0, -5, True])
async def test_amounts_that_are_not_positive_whole_francs_are_refused(
    enrolment: EnrolmentService,
    billing: Billing,
    sessions: async_sessionmaker[AsyncSession],
    amount: int,
) -> None:
    member_no = await enrol(enrolment)
    with pytest.raises(PaymentRefused) as refused:
        await billing.open_payment(member_no, amount, None, "momo", "XOF", "ussd")
    assert refused.value.reason == "bad_amount"


async def test_ten_concurrent_confirmations_credit_once(
    enrolment: EnrolmentService,
    billing: Billing,
    sessions: async_sessionmaker[AsyncSession],
    db: Session,
) -> None:
    member_no = await enrol(enrolment)
    opened = await billing.open_payment(member_no, 4725, None, "momo", "XOF", "ussd")
    status = confirmed(opened.reference, PaymentState.SUCCEEDED, 4725)
    results = await asyncio.gather(*(billing.settle(opened.reference, status) for _ in range(10)))
    assert sum(1 for r in results if r.changed) == 1
    assert {r.receipt_no for r in results} == {results[0].receipt_no}
    assert period(db)[0] == 4725


@pytest.mark.parametrize(
    ("amount", "currency"), [(4724, "XOF"), (4726, "XOF"), (4725, "EUR"), (None, "XOF")], ids=str
)
async def test_a_confirmed_amount_or_currency_that_differs_goes_to_review(
    enrolment: EnrolmentService,
    billing: Billing,
    sessions: async_sessionmaker[AsyncSession],
    db: Session,
    amount: int | None,
    currency: str,
) -> None:
    member_no = await enrol(enrolment)
    opened = await billing.open_payment(member_no, 4725, None, "momo", "XOF", "ussd")
    settled = await billing.settle(
        opened.reference, confirmed(opened.reference, PaymentState.SUCCEEDED, amount, currency)
    )
    assert settled.status == "needs_review"
    assert period(db)[0] == 0  # nobody credited
    again = await billing.settle(
        opened.reference, confirmed(opened.reference, PaymentState.SUCCEEDED, 4725)
    )
    assert again.status == "needs_review" and not again.changed  # a person decides, not a retry


async def test_a_payment_never_moves_backwards(
    enrolment: EnrolmentService,
    billing: Billing,
    sessions: async_sessionmaker[AsyncSession],
    db: Session,
) -> None:
    member_no = await enrol(enrolment)
    opened = await billing.open_payment(member_no, 4725, None, "momo", "XOF", "ussd")
    await billing.settle(
        opened.reference, confirmed(opened.reference, PaymentState.SUCCEEDED, 4725)
    )
    for late in (PaymentState.FAILED, PaymentState.PENDING):
        settled = await billing.settle(opened.reference, confirmed(opened.reference, late, 4725))
        assert settled.status == "succeeded" and not settled.changed
    assert period(db)[0] == 4725


async def test_a_success_after_failure_goes_to_review_one_after_expiry_is_credited(
    enrolment: EnrolmentService,
    billing: Billing,
    sessions: async_sessionmaker[AsyncSession],
    db: Session,
) -> None:
    member_no = await enrol(enrolment)
    lost = await billing.open_payment(member_no, 1000, None, "momo", "XOF", "ussd")
    await billing.settle(lost.reference, confirmed(lost.reference, PaymentState.FAILED, 1000))
    late = await billing.settle(
        lost.reference, confirmed(lost.reference, PaymentState.SUCCEEDED, 1000)
    )
    # money taken after the provider had said "failed": a person must look, nobody is credited
    assert late.status == "needs_review" and late.changed
    assert period(db)[0] == 0
    slow = await billing.open_payment(member_no, 1000, None, "momo", "XOF", "ussd")
    assert (await billing.expire(slow.reference)).status == "expired"
    failed_late = await billing.settle(
        slow.reference, confirmed(slow.reference, PaymentState.FAILED, 1000)
    )
    assert failed_late.status == "expired"
    credited = await billing.settle(
        slow.reference, confirmed(slow.reference, PaymentState.SUCCEEDED, 1000)
    )
    assert credited.status == "succeeded" and credited.changed
    assert period(db)[0] == 1000


async def test_cash_entered_twice_by_a_retrying_agent_is_recorded_once(
    enrolment: EnrolmentService, billing: Billing, db: Session
) -> None:
    member_no = await enrol(enrolment, persons=1)
    first = await billing.record_cash(member_no, 1000, "Rose Assogba", request_key="agent:r1")
    again = await billing.record_cash(member_no, 1000, "Rose Assogba", request_key="agent:r1")
    assert again.reference == first.reference and not again.changed
    assert period(db)[0] == 1000


async def test_cash_is_settled_at_once_with_a_receipt(
    enrolment: EnrolmentService,
    billing: Billing,
    sessions: async_sessionmaker[AsyncSession],
    db: Session,
    now: Now,
) -> None:
    member_no = await enrol(enrolment, persons=1)
    settled = await billing.record_cash(member_no, 1575, "Rose Assogba")
    assert settled.status == "succeeded" and settled.receipt_no
    assert period(db)[:2] == (1575, "waiting")
    row = db.execute(text("SELECT provider, payer_name FROM payments")).one()
    assert tuple(row) == ("cash", "Rose Assogba")
    now.at += timedelta(days=31)


async def test_unknown_member_is_refused(
    billing: Billing, sessions: async_sessionmaker[AsyncSession]
) -> None:
    with pytest.raises(PaymentRefused) as refused:
        await billing.open_payment("100000011", 100, None, "momo", "XOF", "ussd")
    assert refused.value.reason == "unknown_member"


async def test_each_success_queues_one_receipt(
    enrolment: EnrolmentService,
    billing: Billing,
    sessions: async_sessionmaker[AsyncSession],
    db: Session,
) -> None:
    member_no = await enrol(enrolment)
    opened = await billing.open_payment(member_no, 4725, None, "momo", "XOF", "ussd")
    status = confirmed(opened.reference, PaymentState.SUCCEEDED, 4725)
    for _ in range(3):
        await billing.settle(opened.reference, status)
    rows = db.execute(
        text("SELECT phone, purpose, status, params, text FROM messages WHERE purpose = 'receipt'")
    ).all()
    assert len(rows) == 1
    phone, purpose, state, params, words = rows[0]
    assert (phone, purpose, state) == ("+2290197000701", "receipt", "queued")
    data = params if isinstance(params, dict) else json.loads(params)  # JSON column, raw SQL
    assert data["amount_due"] == 0 and data["paid_in_full"] is True
    paid = load_catalogues("gateway.sms", "templates")["fr"].money(4725)
    assert paid in words and "23/12/2026" in words  # paid up: the cover's dates
