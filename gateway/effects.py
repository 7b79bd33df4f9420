"""Apply what the menus ask for, each effect with the one service that owns it."""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.callers import CallerService
from gateway.enrolment import EnrolmentService
from gateway.payments import PaymentsService
from gateway.register.eligibility import EligibilityService
from gateway.register.facilities import FacilityRef
from gateway.rights import RightsService
from menus.effects import (
    CheckEligibility,
    Effect,
    EligibilityResult,
    EnrolHousehold,
    QuoteDue,
    RememberLanguage,
    ShowHouseholdRights,
    ShowMemberStatus,
    StartPayment,
)


class EffectRunner:
    def __init__(
        self,
        enrolment: EnrolmentService,
        rights: RightsService,
        callers: CallerService,
        payments: PaymentsService,
        eligibility: EligibilityService,
    ) -> None:
        self.enrolment = enrolment
        self.rights = rights
        self.callers = callers
        self.payments = payments
        self.eligibility = eligibility

    async def apply(self, effect: Effect, request_key: str, today: date) -> Any:
        """`request_key` names the request (a USSD session); writes are idempotent on it."""
        match effect:
            case EnrolHousehold():
                return await self.enrolment.enrol(effect, request_key, today)
            case ShowHouseholdRights(phone=phone):
                return await self.rights.household_rights(phone, today)
            case ShowMemberStatus(member_no=member_no):
                return await self.rights.member_status(member_no, today)
            case CheckEligibility(member_no=member_no, facility_id=facility_id):
                return await self._check(member_no, facility_id, today)
            case RememberLanguage(phone=phone, language=language):
                await self.callers.remember_language(phone, language)
                return True
            case QuoteDue(member_no=member_no):
                return await self.payments.due(member_no)
            case StartPayment(member_no=member_no, amount=amount, payer_phone=payer):
                return await self.payments.start(member_no, amount, payer, request_key=request_key)
        raise TypeError(f"no service applies {type(effect).__name__}")

    async def _check(self, member_no: str, facility_id: int, today: date) -> EligibilityResult:
        answer = await self.eligibility.check(
            FacilityRef(facility_id, "", ""), member_no, today, "ussd"
        )
        return EligibilityResult(
            outcome=answer.outcome,
            member_no=answer.member_no,
            status=answer.status,
            end=answer.period_end.isoformat() if answer.period_end else None,
            grace_until=answer.grace_until.isoformat() if answer.grace_until else None,
            waiting_until=answer.waiting_until.isoformat() if answer.waiting_until else None,
            copay_percent=answer.copay_percent,
            first_name=answer.first_name or "",
            initial=answer.initial or "",
            source=answer.source,
        )
