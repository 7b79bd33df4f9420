"""The tables: scheme hierarchy, products, households, members, coverage periods, and what
each capability keeps (payments, SMS, the register's outbox, facilities, agents, staff).

One name per concept across code, database and API (DESIGN.md §2). Amounts are whole
XOF in integers; dates are calendar days in the scheme's time zone. One module per
capability; every table is imported from here (`from db import models; models.Household`),
and importing this package registers them all on `Base.metadata`.
"""

from db.models.agents import Agent, CacheVersion, CashHandover
from db.models.base import Base
from db.models.facilities import EligibilityCheck, Facility, FacilityPhone
from db.models.groups import GroupContract, PayerGroup
from db.models.households import (
    CoveragePeriod,
    CoverLine,
    Household,
    Member,
    MemberExemption,
    PeriodShare,
)
from db.models.payments import Payment, PaymentNotice
from db.models.register import RegisterEvent, RegisterLink
from db.models.scheme import Occupation, Product, SchemeUnit
from db.models.sms import InboundSms, Message, SmsCampaign, SmsEarlyReport, SmsOptOut
from db.models.sponsors import Sponsor, SponsorSettlement, Subsidy
from db.models.staff import AuditEntry, StaffAccount
from db.models.stats import HouseholdDay, PaymentDay, PersonDay, RollupMark
from db.models.transcriptions import Transcription
from db.models.ussd import UssdSessionEnd

__all__ = [
    "Agent",
    "AuditEntry",
    "Base",
    "CacheVersion",
    "CashHandover",
    "CoverLine",
    "CoveragePeriod",
    "EligibilityCheck",
    "Facility",
    "FacilityPhone",
    "GroupContract",
    "Household",
    "HouseholdDay",
    "InboundSms",
    "Member",
    "MemberExemption",
    "Message",
    "Occupation",
    "PayerGroup",
    "Payment",
    "PaymentDay",
    "PaymentNotice",
    "PeriodShare",
    "PersonDay",
    "Product",
    "RegisterEvent",
    "RegisterLink",
    "RollupMark",
    "SchemeUnit",
    "SmsCampaign",
    "SmsEarlyReport",
    "SmsOptOut",
    "Sponsor",
    "SponsorSettlement",
    "StaffAccount",
    "Subsidy",
    "Transcription",
    "UssdSessionEnd",
]
