"""Incoming SMS: keywords in French and English, each message handled once.

The aggregator retries an incoming message until it gets a 200, for hours: the
message is stored under its id with its reply in one transaction, so a retry finds
it and nothing is answered twice. Replies go to the sender at once (no quiet hours,
no STOP: they answer what the person just asked).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.engine import writing
from db.values import CheckChannel, MessagePurpose, OptOutSource
from gateway.enrolment.entitlements import coverage_view, current_period, terms_of
from gateway.limits.rates import Limit, Verdict
from gateway.register.eligibility import Answer, EligibilityService
from gateway.register.facilities import Facilities, FacilityRef
from gateway.sms.outbox import Outbox
from menus import keywords
from menus.identifiers import MemberNumberError, PhoneNumberError, mask_phone, normalise_phone
from menus.identifiers import parse_member_number as read_member_no
from menus.values import NO_PERIOD, CheckOutcome, CoverageStatus

log = logging.getLogger(__name__)

FLOOD_WINDOW = timedelta(minutes=10)
UNKNOWN_REPLY_EVERY = timedelta(hours=1)  # "message not understood", at most this often


# Why a patient is not covered, where the reply says so in its own words.
VERIF_STATUSES = frozenset(
    {
        CoverageStatus.WAITING,
        CoverageStatus.PENDING_PAYMENT,
        CoverageStatus.LAPSED,
        CoverageStatus.CANCELLED,
        NO_PERIOD,
    }
)


@dataclass(frozen=True)
class Verification:
    facility: FacilityRef | None  # None: the phone is no facility's
    answer: Answer | None


class InboundService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        now: Callable[[], datetime],
        *,
        per_10_minutes: int,
        country: str,
        facilities: Facilities,
        eligibility: EligibilityService,
        member_checks: Limit,
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.now = now
        self.per_10_minutes = per_10_minutes
        self.country = country
        self.facilities = facilities
        self.eligibility = eligibility
        self.member_checks = member_checks  # shared with the USSD checks of the same phone

    async def receive(self, provider_id: str, sender: str, to: str, text: str) -> str:
        """Store and answer one incoming SMS; returns what it was read as."""
        phone = self._phone(sender)
        now = self.now()
        request = keywords.read(text)
        throttled = await self._throttled(request, phone)
        # A facility's check may ask the central register: never inside the transaction.
        desk = None if throttled else await self._verification(request, phone, now)
        try:
            async with writing(self.sessions, f"sms-from:{phone}") as session:
                return await self._receive(
                    session, provider_id, phone, to, text, request, desk, now, throttled
                )
        except IntegrityError:
            return "duplicate"  # a concurrent copy of the same message won

    async def _throttled(self, request: keywords.Request, phone: str) -> Verdict | None:
        """The refusal when this phone has checked too many members (a scan by SMS)."""
        if request.kind not in (keywords.RIGHTS, keywords.VERIFY) or not phone.startswith("+"):
            return None
        verdict = await self.member_checks.hit(phone)
        return verdict if verdict.refused else None

    async def _verification(
        self, request: keywords.Request, phone: str, now: datetime
    ) -> Verification | None:
        if request.kind != keywords.VERIFY or not phone.startswith("+"):
            return None
        facility = await self.facilities.by_phone(phone)
        if facility is None:
            return Verification(None, None)
        return Verification(facility, await self.eligibility.answer(request.argument, now.date()))

    async def _receive(
        self,
        session: AsyncSession,
        provider_id: str,
        phone: str,
        to: str,
        text: str,
        request: keywords.Request,
        desk: Verification | None,
        now: datetime,
        throttled: Verdict | None,
    ) -> str:
        seen = await session.scalar(
            select(models.InboundSms.id).where(models.InboundSms.provider_id == provider_id)
        )
        if seen is not None:
            return "duplicate"
        recent = await session.scalar(
            select(func.count())
            .select_from(models.InboundSms)
            .where(
                models.InboundSms.phone == phone,
                models.InboundSms.received_at > now - FLOOD_WINDOW,
            )
        )
        kind = request.kind
        if (recent or 0) >= self.per_10_minutes:
            kind = "flood"  # kept, not answered: a loop between two machines costs nothing
            log.warning("sms flood from %s: not answered", mask_phone(phone))
        session.add(
            models.InboundSms(
                provider_id=provider_id,
                phone=phone,
                to=to[:20],
                text=text,
                keyword=kind,
                received_at=now,
            )
        )
        await session.flush()  # a second copy stops here, before any reply
        await self._opt(session, request.kind, phone, now)  # STOP counts, even in a flood
        if kind == "flood":
            return kind
        if not phone.startswith("+"):
            return "not_a_phone"  # a short code or a name: the aggregator would refuse a reply
        if throttled is not None:
            minutes = throttled.retry_minutes
            reply: tuple[str, dict[str, Any], str | None] | None = (
                "reply_too_many_checks",
                {"minutes": minutes},
                None,
            )
            kind = "throttled"
        elif desk is not None:
            reply = self._verify(session, desk)
        else:
            reply = await self._answer(session, request, phone, now)
        if reply is None:
            return "unknown_unanswered" if kind == keywords.UNKNOWN else kind
        template, params, household_language = reply
        session.add(
            self.outbox.message(
                phone=phone,
                language=request.language or household_language,
                purpose=MessagePurpose.REPLY,
                template=template,
                params=params,
                now=now,
                dedupe_key=f"reply:{provider_id}",
            )
        )
        return kind

    async def _answer(
        self, session: AsyncSession, request: keywords.Request, phone: str, now: datetime
    ) -> tuple[str, dict[str, Any], str | None] | None:
        own = await session.scalar(
            select(models.Household)
            .where(models.Household.phone == phone)
            .order_by(models.Household.id.desc())
            .limit(1)
        )
        language = own.language if own is not None else None
        if request.kind == keywords.RIGHTS:
            template, params = await self._rights(session, request.argument, phone, now)
            return template, params, language
        if request.kind == keywords.HELP:
            return "reply_help", {}, language
        if request.kind == keywords.STOP:
            return "reply_stop", {}, language
        if request.kind == keywords.START:
            return "reply_start", {}, language
        answered = await session.scalar(
            select(models.Message.id)
            .where(
                models.Message.phone == phone,
                models.Message.template == "reply_unknown",
                models.Message.created_at > now - UNKNOWN_REPLY_EVERY,
            )
            .limit(1)
        )
        return None if answered is not None else ("reply_unknown", {}, language)

    def _verify(
        self, session: AsyncSession, desk: Verification
    ) -> tuple[str, dict[str, Any], str | None]:
        if desk.facility is None or desk.answer is None:
            return "verif_not_a_facility", {}, None
        answer = desk.answer
        self.eligibility.record(session, desk.facility, answer, CheckChannel.SMS)
        if answer.outcome == CheckOutcome.BAD_NUMBER:
            # As DROITS does: "VERIF" alone quotes "?", not an empty number.
            return "reply_bad_member_no", {"member_no": answer.member_no or "?"}, None
        if answer.outcome == CheckOutcome.UNKNOWN_MEMBER:
            return "reply_unknown_member", {"member_no": answer.member_no}, None
        if answer.outcome == CheckOutcome.REGISTER_UNAVAILABLE:
            return "verif_register_down", {"member_no": answer.member_no}, None
        # The central register gives no name: the number alone, not ". (123456789)".
        who = answer.member_no
        if answer.first_name:
            who = f"{answer.first_name} {answer.initial or ''}. ({answer.member_no})"
        # In grace the patient is covered until its end, not until the period's (past) end.
        until = answer.grace_until if answer.status == CoverageStatus.GRACE else answer.period_end
        params: dict[str, Any] = {
            "who": who,
            "covered_until": until.isoformat() if until else None,
            "waiting_until": answer.waiting_until.isoformat() if answer.waiting_until else None,
            # Unknown (the register's answer) is not "0%": no co-payment would be charged.
            "copay_percent": "?" if answer.copay_percent is None else answer.copay_percent,
        }
        if answer.covered:
            return "verif_covered", params, None
        template = (
            f"verif_{answer.status}" if answer.status in VERIF_STATUSES else "verif_not_covered"
        )
        return template, params, None

    @staticmethod
    async def _opt(session: AsyncSession, kind: str, phone: str, now: datetime) -> None:
        if kind == keywords.STOP:
            if await session.get(models.SmsOptOut, phone) is None:
                session.add(
                    models.SmsOptOut(phone=phone, source=OptOutSource.KEYWORD, opted_out_at=now)
                )
        elif kind == keywords.START:
            await session.execute(delete(models.SmsOptOut).where(models.SmsOptOut.phone == phone))

    async def _rights(
        self, session: AsyncSession, typed: str, phone: str, now: datetime
    ) -> tuple[str, dict[str, Any]]:
        try:
            member_no = read_member_no(typed)
        except MemberNumberError:
            return "reply_bad_member_no", {"member_no": typed[:20] or "?"}
        member = await session.scalar(
            select(models.Member).where(models.Member.member_no == member_no)
        )
        if member is None:
            return "reply_unknown_member", {"member_no": member_no}
        household = await session.get(models.Household, member.household_id)
        own = household is not None and household.phone == phone
        period = await current_period(session, member.household_id, now.date())
        view = coverage_view(period, now.date())
        status = view["status"] if view else NO_PERIOD
        # Someone else's number gets its status and dates only: no amounts, no names.
        # A name said on the voice line and not typed yet has no initial: the number alone.
        who = (
            member_no
            if own or not member.first_names
            else f"{member_no} ({member.first_names[:1].upper()}.)"
        )
        params: dict[str, Any] = {"who": who}
        if period is not None and view is not None:
            # Derived like the other dates: the period's stored copy may not be written yet.
            grace_until = terms_of(period).grace_until
            params.update(
                covered_from=view["start"],
                covered_until=view["end"],
                grace_until=grace_until.isoformat() if grace_until else None,
            )
            if own:
                params["amount_due"] = view["amount_due"]
        template = f"rights_{status}"
        if own and status == CoverageStatus.PENDING_PAYMENT:
            template += "_own"
        return template, params

    def _phone(self, sender: str) -> str:
        try:
            return normalise_phone(sender, self.country)
        except PhoneNumberError:
            return sender.strip()[:20]  # a short code or a name: kept as the aggregator gave it
