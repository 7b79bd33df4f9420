"""The closed sets of words the tables store in their string columns, each named once.

Every set is a `StrEnum`: a member *is* the string stored (`PaymentStatus.PENDING ==
"pending"`), so it is written, compared and bound in SQL as it is, and a value read back
from a column compares equal to it. The columns stay plain strings, not database enums:
a new word needs no migration.

No SQLAlchemy here: the CLI builds its parser (role choices, for one) without loading it.

The words the menus speak too (coverage statuses, relationships to the head, channels,
eligibility outcomes and sources) are in `menus.values`, the innermost place; the
register's event kinds are `adapters.register.EventKind`.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

# The provider of premiums paid in cash, to an agent or at the mutual's desk
# (`payments.provider`; the other providers are the mobile-money adapters' names).
CASH = "cash"


class PaymentStatus(StrEnum):
    """Where a premium payment stands in our ledger (`payments.status`). It only moves
    forward: pending -> succeeded | failed | expired | cancelled | needs_review, except that
    a success confirmed after a local expiry or a cancellation is still credited (any part
    the period no longer needed is held for refund: `payments.refund_due`)."""

    PENDING = "pending"  # stored before any provider is called; waiting for its answer
    SUCCEEDED = "succeeded"  # confirmed as asked: credited to the period, receipt queued
    FAILED = "failed"
    EXPIRED = "expired"  # given up waiting locally
    # The payer cancelled it after the provider had it: no longer in flight, still asked about
    CANCELLED = "cancelled"
    NEEDS_REVIEW = "needs_review"  # confirmed, but not as asked (or after a failure)


class NoticeSource(StrEnum):
    """How a provider told us about a payment (`payment_notices.source`)."""

    CALLBACK = "callback"  # MTN MoMo's callback to the URL we gave
    WEBHOOK = "webhook"  # FedaPay's signed webhook


class NoticeOutcome(StrEnum):
    """What became of a provider's callback or webhook (`payment_notices.outcome`); one
    refused outright (bad signature, malformed) keeps the reason it was refused instead."""

    TO_CONFIRM = "to_confirm"  # one of our references: the worker asks the provider now
    UNKNOWN_REFERENCE = "unknown_reference"  # never issued by us: kept for a person


class MessageStatus(StrEnum):
    """An SMS of the outbox (`messages.status`): queued -> sent -> delivered |
    undelivered; or refused, cancelled, expired."""

    QUEUED = "queued"
    SENT = "sent"  # the aggregator took it
    DELIVERED = "delivered"  # the handset got it
    UNDELIVERED = "undelivered"  # the network could not deliver it
    REFUSED = "refused"  # the aggregator will never send it (invalid number, blacklisted...)
    CANCELLED = "cancelled"  # a reminder or campaign for a number that opted out meanwhile
    EXPIRED = "expired"  # could not leave within SMS_GIVE_UP_AFTER


class MessagePurpose(StrEnum):
    """Why an SMS is sent (`messages.purpose`)."""

    CONFIRMATION = "confirmation"  # of an enrolment or of a member added
    RECEIPT = "receipt"  # of a payment
    PAYMENT_FAILED = "payment_failed"  # a payment refused: nothing taken, how to retry
    REMINDER = "reminder"  # premium due, cover ending, a change of cover, a campaign opening
    CAMPAIGN = "campaign"  # sent by staff to a part of the scheme
    REPLY = "reply"  # to an SMS the person sent


class OptOutSource(StrEnum):
    """How a number asked for no more reminders or campaigns (`sms_opt_outs.source`)."""

    KEYWORD = "keyword"  # it sent STOP
    AGGREGATOR = "aggregator"  # the aggregator's opt-out notice


class RegisterEventStatus(StrEnum):
    """An event for the central register (`register_events.status`)."""

    PENDING = "pending"
    PUSHED = "pushed"
    DEAD = "dead"  # failed for good, or too often: a person looks, then `alafia register retry`
    SKIPPED = "skipped"  # this register takes no such event (or the gateway is the register)


class EventPriority(IntEnum):
    """Which register events are pushed first (`register_events.priority`, lowest first):
    a family that just enrolled or paid is asked about at a health centre today; what a
    backfill sends again can wait its turn."""

    NOW = 0  # a household enrolled, a payment, cover activated
    CHANGE = 1  # any other change (a member added, corrected, cover lapsed)
    BACKFILL = 2  # sent in bulk: an import, `alafia register backfill`


class TranscriptionStatus(StrEnum):
    """A name spoken instead of typed (`transcriptions.status`). Every status but `done`
    keeps the member's name pending."""

    AWAITING_AUDIO = "awaiting_audio"  # the worker has still to fetch the recording
    READY = "ready"  # the audio is stored: staff can listen and type the name
    NO_AUDIO = "no_audio"  # the recording never came: staff call the household instead
    DONE = "done"  # typed by staff; the audio is dropped


class TranscribedFields(StrEnum):
    """Which of a member's name columns a recording fills (`transcriptions.fields`)."""

    LAST_NAME = "last_name"
    FIRST_NAMES = "first_names"
    NAME = "name"  # both: a dependant's "NOM Prénom(s)" said in one breath


class CoverKind(StrEnum):
    """How a product dates its cover years (`products.cover_kind`)."""

    ROLLING = "rolling"  # 12 months from the day rights open
    SCHEME_YEAR = "scheme_year"  # the same dates for everyone, from `products.year_starts`


class LateJoiners(StrEnum):
    """What joining a scheme year after it started costs (`products.late_joiners`)."""

    FULL = "full"
    PRORATA = "prorata"  # the share of the year still to run, in whole months


class CoverGround(StrEnum):
    """On what ground a person is covered in a cover year (`cover_lines.ground`)."""

    MEMBER = "member"  # their premium is paid (by the household, a sponsor or a group)
    UNDER_FIVE = "under_five"  # free care for young children, paid by the free-care sponsor
    PREGNANCY = "pregnancy"  # free care for pregnant women, until `ends_on`
    INDIGENT = "indigent"  # the State pays 100 %


class ExemptionGround(StrEnum):
    """A recorded exemption (`member_exemptions.ground`): the grounds a birth date cannot
    tell."""

    PREGNANCY = "pregnancy"
    INDIGENT = "indigent"


class ExemptionSource(StrEnum):
    """Who recorded an exemption (`member_exemptions.source`)."""

    STAFF = "staff"
    IMPORT = "import"
    SOCIAL_REGISTRY = "social_registry"  # the DCI social registry's answer


class GroupKind(StrEnum):
    """What a group payer is (`payer_groups.kind`)."""

    SCHOOL = "school"
    ASSOCIATION = "association"
    COOPERATIVE = "cooperative"
    OCCUPATION = "occupation"  # a socio-professional category


class LeftReason(StrEnum):
    """Why a member was dropped at a renewal (`members.left_reason`)."""

    LEFT = "left"
    DIED = "died"


class CheckChannel(StrEnum):
    """How a health facility asked whether a member is covered
    (`eligibility_checks.channel`)."""

    API = "api"
    FHIR = "fhir"
    USSD = "ussd"  # from a desk phone, on the short code
    SMS = "sms"  # VERIF from a desk phone


class StaffRole(StrEnum):
    """What a dashboard account may see and do (`staff_accounts.role`)."""

    CENTRAL_ADMIN = "central_admin"  # everything, everywhere
    MUTUAL_MANAGER = "mutual_manager"  # their mutual; may send its campaigns
    VIEWER = "viewer"  # read-only figures of their unit and below; personal data masked


class UnitLevel(StrEnum):
    """A level of the scheme's hierarchy, from the top (`scheme_units.level`)."""

    NETWORK = "network"
    ZONE = "zone"
    MUTUAL = "mutual"
    VILLAGE_GROUP = "village_group"


class AuditAction(StrEnum):
    """What an entry of the audit log records (`audit_log.action`)."""

    # Households and members
    HOUSEHOLD_REGISTERED = "household_registered"
    HOUSEHOLD_IMPORTED = "household_imported"
    HOUSEHOLD_VIEWED = "household_viewed"
    HOUSEHOLD_SEARCH = "household_search"
    MEMBER_ADDED = "member_added"
    HOUSEHOLD_RENEWED = "household_renewed"  # by an agent: members changed, next year opened
    # Cash
    CASH_RECORDED = "cash_recorded"
    CASH_HANDED_OVER = "cash_handed_over"
    PAYMENT_CANCELLED = "payment_cancelled"  # by the payer, on the short code
    REFUND_RECORDED = "refund_recorded"  # staff gave an overpayment back
    # Agents' accounts and PINs
    AGENT_ADDED = "agent_added"
    AGENT_DISABLED = "agent_disabled"
    AGENT_ENABLED = "agent_enabled"
    AGENT_UNLOCKED = "agent_unlocked"
    SIGNED_IN = "signed_in"
    PIN_SET = "pin_set"
    PIN_CHANGED = "pin_changed"
    PIN_RESET = "pin_reset"
    PIN_WRONG = "pin_wrong"
    PIN_LOCKED = "pin_locked"  # details: level (1-4) and until when (or staff unlock)
    ALERT = "alert"  # something staff should look at now; details["alert"] says what
    # Staff accounts and their sessions
    STAFF_ADDED = "staff_added"
    STAFF_DISABLED = "staff_disabled"
    STAFF_PASSWORD_RESET = "staff_password_reset"
    STAFF_UNLOCKED = "staff_unlocked"
    STAFF_ROLE_CHANGED = "staff_role_changed"  # role or scope; ends the account's sessions
    STAFF_PASSWORD_CODE_ISSUED = "staff_password_code_issued"
    STAFF_PASSWORD_SET = "staff_password_set"  # by the person, with a one-time code
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOCKED = "locked"  # too many wrong passwords
    LOGOUT = "logout"
    # What staff did on the dashboard
    EXPORT = "export"
    CAMPAIGN_SENT = "campaign_sent"
    CHANGE_REFUSED = "change_refused"  # asked outside the staff member's role or scope
    # Households corrected by staff
    MEMBER_CORRECTED = "member_corrected"
    HOUSEHOLD_CORRECTED = "household_corrected"
    MEMBER_MOVED = "member_moved"
    NAME_TRANSCRIBED = "name_transcribed"  # a recorded name typed by staff
    HOUSEHOLD_CHANGE_REFUSED = "household_change_refused"  # outside the role or scope
    # Health facilities
    FACILITY_ADDED = "facility_added"
    FACILITY_KEY_REPLACED = "facility_key_replaced"
    FACILITY_REVOKED = "facility_revoked"
    FACILITY_PHONES_SET = "facility_phones_set"
    # Exemptions and group payers (issue 13)
    EXEMPTION_RECORDED = "exemption_recorded"
    GROUP_ADDED = "group_added"
    GROUP_CONTRACT_SIGNED = "group_contract_signed"
    GROUP_MEMBER_ADDED = "group_member_added"
    GROUP_TRANSFER_RECORDED = "group_transfer_recorded"
    BULK_RENEWAL = "bulk_renewal"
