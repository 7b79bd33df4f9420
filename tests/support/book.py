"""A database with money in it, written through the product's own services: households
enrolled, mobile-money payments settled (succeeded, failed, still pending), cash taken by an
agent and partly handed over, a sponsored household whose sponsor settled its share."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.payments import FailureReason, PaymentState, ProviderStatus
from gateway.agents.accounts import Agents
from gateway.agents.ledger import CashLedger
from gateway.enrolment.service import EnrolmentService
from gateway.payments.ledger import Billing
from gateway.payments.sponsors import Sponsors
from menus.values import Channel
from tests.conftest import TODAY
from tests.support.households import enrol_household

TIMEZONE = "Africa/Porto-Novo"
NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 10, 0, tzinfo=ZoneInfo(TIMEZONE))
AGENT_PHONE = "+2290196000001"
# A product half paid by a sponsor, beside the demo scheme (loaded by the test).
SPONSORED = {
    "units": [
        {
            "code": "RMS-BJ",
            "level": "network",
            "name": "Réseau des mutuelles de santé du Bénin (démo)",
        }
    ],
    "products": [
        {
            "code": "T-HALF",
            "offered_by": "RMS-BJ",
            "names": {"fr": "Demi", "en": "Half"},
            "premium_per_person": 1000,
        }
    ],
    "sponsors": [{"code": "T-COMMUNE", "name": "Commune de Parakou"}],
    "subsidies": [{"sponsor": "T-COMMUNE", "product": "T-HALF", "percent": 50}],
}


@dataclass(frozen=True)
class Book:
    credited: int  # FCFA, succeeded payments
    credited_payments: int
    payments: int  # every payment row


def confirmed(reference: str, state: PaymentState, amount: int | None) -> ProviderStatus:
    reason = FailureReason.INSUFFICIENT_FUNDS if state is PaymentState.FAILED else None
    return ProviderStatus(
        uuid.UUID(reference), state, amount, "XOF", "tx-" + reference[:8], reason, None
    )


async def mobile_payment(
    billing: Billing, member_no: str, amount: int, state: PaymentState | None
) -> str:
    """A payment opened as the USSD journey opens it, then settled as the provider said
    (None: no answer yet, still pending)."""
    opened = await billing.open_payment(
        member_no, amount, "+2290197000999", "momo", "XOF", Channel.USSD, "mtn", f"t:{uuid.uuid4()}"
    )
    if state is not None:
        await billing.settle(opened.reference, confirmed(opened.reference, state, amount))
    return opened.reference


async def write_book(
    sessions: async_sessionmaker[AsyncSession], enrolment: EnrolmentService
) -> Book:
    billing = Billing(sessions, TIMEZONE, lambda: NOW)
    paid_up = await enrol_household(enrolment, "+2290197000701", persons=3)
    await mobile_payment(billing, paid_up, 4725, PaymentState.SUCCEEDED)
    failed = await enrol_household(enrolment, "+2290197000702", persons=2)
    await mobile_payment(billing, failed, 3150, PaymentState.FAILED)
    await mobile_payment(billing, failed, 1000, None)  # still waiting for the payer

    agent = await Agents(sessions, lambda: NOW).add(
        AGENT_PHONE, "Koffi Agent", "MS-PARAKOU", "cli:test"
    )
    agent_id = agent.agent_id
    in_cash = await enrol_household(enrolment, "+2290197000703", persons=4)
    for amount in (2000, 1150):
        await billing.record_cash(
            in_cash, amount, "Rose Assogba", Channel.AGENT, f"t:{uuid.uuid4()}", agent_id
        )
    await CashLedger(sessions, lambda: NOW).hand_over(
        AGENT_PHONE, 2500, "Caisse MS-PARAKOU", "SLIP-1", "cli:test"
    )

    sponsored = await enrol_household(
        enrolment, "+2290197000704", persons=3, mutual="MS-KANDI", product="T-HALF"
    )
    await billing.record_cash(sponsored, 1500, "Awa Gado", Channel.AGENT, f"t:{uuid.uuid4()}")
    await Sponsors(sessions).settle("T-COMMUNE", 2000, "TR-1", TODAY, NOW)
    return Book(credited=4725 + 3150 + 1500, credited_payments=4, payments=6)
