"""The SMS a payer gets when a payment is refused: nothing was taken, and how to try
again. The USSD screen promised a receipt; silence after a refusal leaves people
thinking they paid.

Written in the transaction that marks the payment failed, so the failure and its SMS
are committed together; its dedupe key makes it one SMS per payment, however many
callbacks and polls confirm the same failure.
"""

from __future__ import annotations

from datetime import datetime

from adapters.payments import FailureReason
from db import models
from db.values import MessagePurpose
from gateway.sms.outbox import Outbox

# The reasons a payer can act on, each with its own words; any other reason gets the
# plain text ("not completed").
TEMPLATES = {
    FailureReason.INSUFFICIENT_FUNDS: "payment_failed_funds",
    FailureReason.PAYER_DECLINED: "payment_failed_declined",
    FailureReason.DECLINED: "payment_failed_declined",
    FailureReason.EXPIRED: "payment_failed_expired",
}
PLAIN = "payment_failed"


def failure_key(reference: str) -> str:
    return f"payment_failed:{reference}"


def template_for(reason: str | None) -> str:
    try:
        return TEMPLATES.get(FailureReason(reason), PLAIN) if reason else PLAIN
    except ValueError:
        return PLAIN  # a reason word we store but have no vocabulary for


def failure_sms(
    outbox: Outbox,
    payment: models.Payment,
    household: models.Household,
    reason: str | None,
    now: datetime,
) -> models.Message:
    """To the phone that was prompted (the household's when none was), in the
    household's language, with the provider's reason where the payer can act on it."""
    return outbox.message(
        phone=payment.payer_phone or household.phone,
        language=household.language,
        purpose=MessagePurpose.PAYMENT_FAILED,
        template=template_for(reason),
        params={"amount": payment.amount},
        now=now,
        household_id=household.id,
        # Not `payment_reference`: that column holds the payment's one receipt (unique),
        # and a payment we expired may still succeed and get it after this SMS.
        dedupe_key=failure_key(payment.reference),
    )
