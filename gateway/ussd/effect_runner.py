"""Apply what the menus ask for, each effect with the one service that owns it."""

from __future__ import annotations

from datetime import date
from typing import Any

from db.values import CheckChannel
from gateway.agents.desk import AgentDesk
from gateway.agents.pins import AgentPins
from gateway.enrolment.entitlements import RightsService
from gateway.enrolment.headed import HeadedHouseholds
from gateway.enrolment.renewal import RenewalService
from gateway.enrolment.service import EnrolmentService
from gateway.limits.rates import Limit, Throttled
from gateway.payments.service import PaymentsService
from gateway.register.eligibility import EligibilityService
from gateway.register.facilities import FacilityRef
from gateway.ussd.callers import CallerService
from menus.effects import (
    AddMember,
    AgentStatus,
    CancelPayment,
    CheckEligibility,
    Effect,
    EligibilityResult,
    EnrolHousehold,
    FindHeadedHousehold,
    FindHousehold,
    HoldNewPin,
    HouseholdsDue,
    QuoteDue,
    RecordCash,
    RememberLanguage,
    RenewalOffer,
    RenewHousehold,
    SetAgentPin,
    ShowAgentFigures,
    ShowHouseholdRights,
    ShowMemberStatus,
    StartPayment,
    VerifyActivationCode,
    VerifyAgentPin,
)


class EffectRunner:
    def __init__(
        self,
        enrolment: EnrolmentService,
        rights: RightsService,
        callers: CallerService,
        payments: PaymentsService,
        eligibility: EligibilityService,
        pins: AgentPins,
        agents: AgentDesk,
        member_checks: Limit,
        renewal: RenewalService,
    ) -> None:
        self.enrolment = enrolment
        self.renewal = renewal
        self.rights = rights
        self.callers = callers
        self.headed = HeadedHouseholds(enrolment.sessions, callers.heads)
        self.payments = payments
        self.eligibility = eligibility
        self.pins = pins
        self.agents = agents
        self.member_checks = member_checks

    async def apply(self, effect: Effect, request_key: str, today: date, phone: str) -> Any:
        """`request_key` names the request (a USSD session); writes are idempotent on it.
        `Throttled` when `phone` has checked too many members (a scan of member numbers)."""
        if isinstance(effect, ShowMemberStatus | CheckEligibility) or (
            isinstance(effect, RenewalOffer) and effect.agent_id is None
        ):
            verdict = await self.member_checks.hit(phone)
            if verdict.refused:
                raise Throttled(verdict)
        match effect:
            case EnrolHousehold():
                return await self.enrolment.enrol(effect, request_key, today)
            case FindHeadedHousehold():
                return await HeadedHouseholds(self.enrolment.sessions, self.callers.heads).find(
                    effect
                )
            case RenewalOffer():
                return await self.renewal.offer(effect, today)
            case RenewHousehold():
                # Its own key: the payment the same session opens next has the session's.
                return await self.renewal.renew(effect, f"{request_key}:renew", today)
            case ShowHouseholdRights(phone=phone, member_no=member_no):
                return await self.rights.household_rights(phone, today, member_no)
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
            case CancelPayment(reference=reference, caller_phone=phone):
                return await self.payments.cancel(reference, phone)
            case _:
                return await self._agent(effect, request_key, today)
        raise TypeError(f"no service applies {type(effect).__name__}")

    async def _agent(self, effect: Effect, request_key: str, today: date) -> Any:
        """A field agent's effects: the PIN, then what they do for households."""
        match effect:
            case AgentStatus(agent_id=agent_id):
                return await self.pins.status(agent_id)
            case VerifyAgentPin(agent_id=agent_id, pin=pin):
                return await self.pins.verify(agent_id, pin)
            case VerifyActivationCode(agent_id=agent_id, code=code):
                return await self.pins.verify_activation(agent_id, code)
            case HoldNewPin(agent_id=agent_id, pin=pin):
                return await self.pins.hold_first_entry(agent_id, pin)
            case SetAgentPin(agent_id=agent_id, pin=pin, replacing=replacing, grant=grant):
                return await self.pins.set_pin(agent_id, pin, replacing, grant)
            case FindHousehold(agent_id=agent_id, member_no=member_no):
                return await self.agents.find_household(agent_id, member_no, today)
            case AddMember(agent_id=agent_id, member_no=member_no, person=person):
                return await self.agents.add_member(agent_id, member_no, person, today)
            case RecordCash(agent_id=agent_id, member_no=no, amount=amount, payer_name=payer):
                return await self.agents.record_cash(
                    agent_id, no, amount, payer, request_key=f"{request_key}:cash"
                )
            case ShowAgentFigures(agent_id=agent_id):
                return await self.agents.figures(agent_id, today)
            case HouseholdsDue(agent_id=agent_id):
                return await self.renewal.households_due(agent_id, today)
        raise TypeError(f"no service applies {type(effect).__name__}")

    async def _check(self, member_no: str, facility_id: int, today: date) -> EligibilityResult:
        answer = await self.eligibility.check(
            FacilityRef(facility_id, "", ""), member_no, today, CheckChannel.USSD
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
