"""Premiums by mobile money, from the USSD menu to the provider and back.

The USSD hop only stores a pending payment (our reference first); the worker talks to
the provider, and callbacks only tell the worker to look now. What is credited is
always what the provider confirmed when asked with our own credentials.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import select

from adapters.payments import (
    DuplicateReference,
    FailureReason,
    PaymentNotFound,
    PaymentRequest,
    PaymentState,
    ProviderMisconfigured,
    ProviderRejected,
    ProviderStatus,
    ProviderUnavailable,
)
from adapters.payments.base import PaymentProviderError
from db import models
from db.engine import as_aware
from db.models.scheme import DEFAULT_MIN_PART_PAYMENT
from db.values import PaymentStatus
from gateway.enrolment.entitlements import period_to_pay, terms_of
from gateway.limits.rates import Limit
from gateway.pace import Pace
from gateway.payments.claims import ASKED, later
from gateway.payments.ledger import Billing, PaymentPending, PaymentRefused, in_flight
from gateway.payments.providers import Providers
from gateway.settings import PaymentSettings
from menus.effects import DueResult, PaymentCancelled, PaymentStarted, PendingPayment
from menus.identifiers import mask_phone, mask_phone_for_screen, phone_operator
from menus.values import Channel

log = logging.getLogger(__name__)

# A claimed payment is left to its worker this long: longer than a batch of the slowest
# submissions (FedaPay: three calls of up to 25 s each).
LEASE = timedelta(seconds=600)
BATCH = 5


@dataclass
class PaymentsService:
    billing: Billing
    providers: Providers
    settings: PaymentSettings
    paces: dict[str, Pace] = field(default_factory=dict)
    # Prompts per payer number: nobody can make a stranger's phone ring with prompts.
    prompts: Limit | None = None

    def _pace(self, provider: str) -> Pace:
        if provider not in self.paces:
            self.paces[provider] = Pace(self.settings.status_calls_per_second)
        return self.paces[provider]

    async def due(self, member_no: str) -> DueResult:
        """What the household of `member_no` still owes on its current period, less what
        a payment awaiting its payer already asks for (shown with it)."""
        async with self.billing.sessions() as session:
            member = await session.scalar(
                select(models.Member).where(models.Member.member_no == member_no)
            )
            if member is None:
                return DueResult(found=False, member_no=member_no, initial="", amount_due=0)
            period = await period_to_pay(session, member.household_id, self.billing.now().date())
            due = terms_of(period).amount_due if period is not None else 0
            pending = await in_flight(session, period.id) if period is not None else None
            product = (
                await session.get(models.Product, period.product_id) if period is not None else None
            )
            return DueResult(
                found=True,
                member_no=member_no,
                initial=member.first_names[:1].upper(),
                amount_due=max(0, due - (pending.amount if pending else 0)),
                pending=_shown(pending.reference, pending.amount, pending.payer_phone)
                if pending
                else None,
                min_part=product.min_part_payment if product else DEFAULT_MIN_PART_PAYMENT,
            )

    async def cancel(self, reference: str, caller_phone: str) -> PaymentCancelled:
        return PaymentCancelled(outcome=await self.billing.cancel(reference, caller_phone))

    async def start(
        self,
        member_no: str,
        amount: int,
        payer_phone: str,
        channel: str = Channel.USSD,
        request_key: str | None = None,
    ) -> PaymentStarted:
        """Store the payment; the worker asks the provider to prompt the payer."""
        if amount > self.settings.max_amount:
            return PaymentStarted(outcome="above_limit", amount=amount)
        operator = phone_operator(payer_phone)
        provider = self.providers.choose(operator, await self._mutual_provider(member_no))
        if provider is None:
            return PaymentStarted(outcome="no_provider", amount=amount)
        if self.prompts is not None and (await self.prompts.hit(payer_phone)).refused:
            return PaymentStarted(outcome="too_many_prompts", amount=amount)  # "try later"
        try:
            opened = await self.billing.open_payment(
                member_no,
                amount,
                payer_phone,
                provider,
                self.providers.currency(provider),
                channel,
                operator,
                request_key=request_key,
            )
        except PaymentPending as pending:
            return PaymentStarted(
                outcome="pending",
                amount=amount,
                pending=_shown(pending.reference, pending.amount, pending.payer_phone),
            )
        except PaymentRefused as refused:
            return PaymentStarted(outcome=refused.reason, amount=amount)
        log.info(
            "payment %s for %d XOF from %s via %s",
            opened.reference,
            amount,
            mask_phone(payer_phone),
            provider,
        )
        return PaymentStarted(outcome="started", amount=amount)

    async def _mutual_provider(self, member_no: str) -> str | None:
        async with self.billing.sessions() as session:
            return await session.scalar(
                select(models.SchemeUnit.payment_provider)
                .join(models.Household, models.Household.mutual_id == models.SchemeUnit.id)
                .join(models.Member, models.Member.household_id == models.Household.id)
                .where(models.Member.member_no == member_no)
            )

    # -- the worker's side ------------------------------------------------------

    async def work(self, batch: int = BATCH) -> int:
        """Act on every payment that is due; returns how many were handled."""
        due = await self.billing.claim_due(batch, LEASE)
        for payment in due:
            try:
                await self._advance(payment)
            except Exception:
                # One payment's trouble must not stop the others; it comes back after its lease.
                log.exception("payment %s could not be advanced", payment.reference)
        return len(due)

    async def _advance(self, payment: models.Payment) -> None:
        provider = self.providers.by_name.get(payment.provider)
        now = self.billing.now()
        age = (now - as_aware(payment.created_at, now)).total_seconds()
        if age >= self.settings.expire_after + self.settings.keep_polling_for:
            await self.billing.schedule(payment.reference, None)  # a person looks at it now
            log.warning(
                "payment %s never reached a final status; left for review", payment.reference
            )
            return
        if payment.submitted_at is None and age >= self.settings.expire_after:
            # Never sent: prompting the payer now, long after the call, would only confuse.
            await self.billing.give_up(payment.reference, "not_submitted")
            return
        if provider is None:
            log.error(
                "payment %s names provider %r, which is not configured",
                payment.reference,
                payment.provider,
            )
            await self.billing.schedule(payment.reference, now + timedelta(minutes=10))
            return
        if payment.submitted_at is None:
            if not await self.billing.mark_submitting(payment.reference):
                # Cancelled by the payer since it was claimed: never sent.
                await self.billing.schedule(payment.reference, None)
                return
            await self._submit(payment, provider_name=payment.provider)
            return
        try:
            await self._pace(payment.provider).wait()
            status = await provider.fetch_status(
                UUID(payment.reference), payment.provider_transaction_id
            )
        except PaymentNotFound:
            # Our request never reached the provider: send it again, same reference.
            await self.billing.schedule(payment.reference, now, submitted=False)
            return
        except (ProviderUnavailable, ProviderMisconfigured, PaymentProviderError) as error:
            log.warning(
                "status of payment %s unknown for now: %s", payment.reference, type(error).__name__
            )
            await self.billing.schedule(payment.reference, later(now, payment.checks), checked=True)
            return
        settled = await self.billing.settle(payment.reference, status)
        if (
            settled.status == PaymentStatus.PENDING
            and payment.unclear
            and status.state is PaymentState.PENDING
        ):
            # Still pending a while after a half-failed submission: the prompt may never have
            # left. Sent again once, on what the provider holds, never as a new request.
            await self._submit(payment, payment.provider, status.provider_transaction_id)
            return
        if settled.status in ASKED:  # a cancelled one too: its payer may still confirm
            await self._wait_more(payment, now)

    async def _submit(
        self, payment: models.Payment, provider_name: str, transaction_id: str | None = None
    ) -> None:
        """Send the request; with `transaction_id`, prompt again on what the provider holds."""
        provider = self.providers.by_name[provider_name]
        now = self.billing.now()
        try:
            request = PaymentRequest(
                reference=UUID(payment.reference),
                amount=payment.amount,
                currency=payment.currency,
                payer_phone=payment.payer_phone or "",
                operator=payment.operator or "mtn",  # type: ignore[arg-type]
                description="Cotisation mutuelle de sante",
                external_id=str(payment.household_id),
                callback_url=self.providers.callback_url(provider_name, payment.reference),
            )
            resume = transaction_id or (
                payment.provider_transaction_id if payment.unclear else None
            )
            ack = await provider.request_payment(request, existing_transaction_id=resume)
        except DuplicateReference:
            # The provider has our request (MoMo names it by our reference): only ask now.
            await self.billing.schedule(
                payment.reference, now + timedelta(seconds=10), submitted=True, unclear=False
            )
            return
        except ProviderUnavailable as error:
            # The provider may have it: ask about this reference rather than send it twice.
            log.warning(
                "payment %s submission unclear (%s); asking its status",
                payment.reference,
                type(error).__name__,
            )
            # Cut off before the provider held anything: ask soon. Cut off after (a push on
            # a known transaction): the payer may be typing the PIN, so give the prompt time.
            wait = 10 if error.provider_transaction_id is None else self.settings.poll_after
            await self.billing.schedule(
                payment.reference,
                now + timedelta(seconds=wait),
                submitted=True,
                transaction_id=error.provider_transaction_id,
                unclear=error.provider_transaction_id is None or transaction_id is None,
            )
            return
        except ProviderMisconfigured:
            log.error(
                "provider %s refuses our credentials; payment %s waits",
                provider_name,
                payment.reference,
            )
            await self.billing.schedule(payment.reference, now + timedelta(minutes=5))
            return
        except (ProviderRejected, ValueError) as error:
            reason = (
                error.reason
                if isinstance(error, ProviderRejected)
                else FailureReason.INVALID_REQUEST
            )
            await self.billing.settle(
                payment.reference,
                ProviderStatus(
                    UUID(payment.reference), PaymentState.FAILED, None, None, None, reason, None, {}
                ),
            )
            return
        await self.billing.schedule(
            payment.reference,
            now + timedelta(seconds=self.settings.poll_after),
            submitted=True,
            transaction_id=ack.provider_transaction_id,
            unclear=False,
        )

    async def _wait_more(self, payment: models.Payment, now: datetime) -> None:
        age = (now - as_aware(payment.created_at, now)).total_seconds()
        if payment.status == PaymentStatus.PENDING and age >= self.settings.expire_after:
            await self.billing.expire(payment.reference)
        await self.billing.schedule(payment.reference, later(now, payment.checks), checked=True)


def _shown(reference: str, amount: int, payer_phone: str | None) -> PendingPayment:
    return PendingPayment(
        reference=reference,
        amount=amount,
        payer=mask_phone_for_screen(payer_phone) if payer_phone else "",
    )
