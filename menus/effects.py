"""What a journey asks the host to do, and what the host answers.

Effects are values: the engine emits one, the gateway applies it (in a database
transaction, idempotently) and hands back a JSON-friendly result for the next screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NotRequired, TypedDict, Union

from menus.values import Channel


@dataclass(frozen=True)
class PersonDraft:
    last_name: str
    first_names: str
    sex: str  # "M" or "F"
    birth_date: str  # ISO date; 1 January when only the year is known
    birth_year_only: bool
    relationship: str  # head, spouse, child, parent, other
    occupation: str | None = None
    national_id: str | None = None


@dataclass(frozen=True)
class EnrolHousehold:
    mutual_code: str
    product_code: str
    phone: str
    language: str
    head: PersonDraft
    dependants: tuple[PersonDraft, ...]
    channel: Channel = Channel.USSD
    category: str | None = None  # e.g. "indigent", set by agents and imports, never by the caller
    agent_id: int | None = None  # the field agent registering it, from the dialling phone


@dataclass(frozen=True)
class FindHeadedHousehold:
    """Once the head's name is typed: does `phone` already head a household of that name
    (a duplicate, told at once), or another one (a second household, allowed)?"""

    phone: str
    last_name: str
    first_names: str


@dataclass(frozen=True)
class ShowHouseholdRights:
    phone: str
    # Which of the households the phone heads (its head's member number); None: the latest.
    member_no: str | None = None


@dataclass(frozen=True)
class ShowMemberStatus:
    member_no: str


@dataclass(frozen=True)
class CheckEligibility:
    """A health facility's desk asks whether a patient is covered today."""

    member_no: str
    facility_id: int  # set by the gateway from the dialling phone, never typed


@dataclass(frozen=True)
class RememberLanguage:
    phone: str
    language: str


@dataclass(frozen=True)
class QuoteDue:
    member_no: str


@dataclass(frozen=True)
class StartPayment:
    member_no: str
    amount: int
    payer_phone: str


@dataclass(frozen=True)
class CancelPayment:
    """The payer gives up waiting for a prompt; only the paying phone or the household's
    own may (`caller_phone` is set from the dialling phone, never typed)."""

    reference: str
    caller_phone: str


# -- field agents: `agent_id` is set by the gateway from the dialling phone, never typed.
# PINs are in no repr, so that no log or error message can ever show one.


@dataclass(frozen=True)
class AgentStatus:
    """Where the agent's account stands as they dial: PIN set, locked, disabled."""

    agent_id: int


@dataclass(frozen=True)
class VerifyAgentPin:
    agent_id: int
    pin: str = field(repr=False)


@dataclass(frozen=True)
class VerifyActivationCode:
    """The one-time code staff gave a new agent (or one whose PIN they reset): it alone
    lets a first PIN be chosen. A wrong one counts toward the lock-out like a PIN."""

    agent_id: int
    code: str = field(repr=False)


@dataclass(frozen=True)
class HoldNewPin:
    """The first entry of a new PIN, held (hashed) on the agent's account until it is
    typed again; the session keeps neither the PIN nor its hash."""

    agent_id: int
    pin: str = field(repr=False)


@dataclass(frozen=True)
class SetAgentPin:
    agent_id: int
    pin: str = field(repr=False)  # the second entry, checked against the held first one
    replacing: bool  # a change after the old PIN was given in this session
    # A first PIN: the grant the right activation code gave in this session.
    grant: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class FindHousehold:
    """A household of the agent's mutual, by any of its member numbers."""

    agent_id: int
    member_no: str


@dataclass(frozen=True)
class AddMember:
    agent_id: int
    member_no: str  # any member of the household
    person: PersonDraft


@dataclass(frozen=True)
class RecordCash:
    agent_id: int
    member_no: str
    amount: int
    payer_name: str


@dataclass(frozen=True)
class ShowAgentFigures:
    agent_id: int


# -- renewal: the next cover year of a known household, by its phone or an agent.


@dataclass(frozen=True)
class MemberRemoval:
    member_no: str
    reason: str  # db.values.LeftReason: left, died


@dataclass(frozen=True)
class RenewalChanges:
    """The household as it will be next year: who leaves, who joins (a newborn), and
    who heads it when the head leaves."""

    removed: tuple[MemberRemoval, ...] = ()
    added: tuple[PersonDraft, ...] = ()
    new_head: str | None = None  # a member number, when the head is removed


@dataclass(frozen=True)
class RenewalOffer:
    """Where the household of `member_no` stands for renewal, and next year's premium
    with `changes` made (read only). `agent_id`: an agent asks, for their mutual only."""

    member_no: str  # or "" with `phone`: an agent finds a household by its phone too
    changes: RenewalChanges = RenewalChanges()
    agent_id: int | None = None
    phone: str | None = None


@dataclass(frozen=True)
class RenewHousehold:
    """Open the household's next cover year with `changes` made; once per request."""

    member_no: str
    changes: RenewalChanges
    channel: Channel = Channel.USSD
    agent_id: int | None = None


@dataclass(frozen=True)
class HouseholdsDue:
    """The households of the agent's mutual whose renewal is open or overdue."""

    agent_id: int


Effect = Union[  # noqa: UP007
    AgentStatus,
    VerifyAgentPin,
    VerifyActivationCode,
    HoldNewPin,
    SetAgentPin,
    FindHousehold,
    AddMember,
    RecordCash,
    ShowAgentFigures,
    RenewalOffer,
    RenewHousehold,
    HouseholdsDue,
    EnrolHousehold,
    FindHeadedHousehold,
    ShowHouseholdRights,
    ShowMemberStatus,
    CheckEligibility,
    RememberLanguage,
    QuoteDue,
    StartPayment,
    CancelPayment,
]


class EnrolResult(TypedDict):
    outcome: str  # enrolled, duplicate, closed, full, unknown_product
    member_no: str
    premium_due: int
    persons: int
    opens_on: str | None


class HeadedResult(TypedDict):
    same: str | None  # the head's member number of a household of that name on the phone
    other: str | None  # one of another household the phone heads, when none is the same


class CoverageView(TypedDict):
    status: str  # pending_payment, waiting, active, grace, lapsed, cancelled
    start: str | None
    end: str | None
    amount_due: int
    amount_paid: int


class MemberLine(TypedDict):
    member_no: str
    first_names: str
    initial: str
    # On what ground the person is covered in the cover year shown (db.values.CoverGround:
    # member, under_five, pregnancy, indigent); absent or None when no line says it.
    ground: NotRequired[str | None]


class RightsResult(TypedDict):
    found: bool
    members: list[MemberLine]
    coverage: CoverageView | None
    next: NotRequired[CoverageView | None]  # the next year, renewed before it begins


class StatusResult(TypedDict):
    found: bool
    member_no: str
    initial: str
    coverage: CoverageView | None
    ground: NotRequired[str | None]  # as MemberLine's


class EligibilityResult(TypedDict):
    outcome: str  # covered, not_covered, unknown_member, bad_number, register_unavailable
    member_no: str
    status: str | None  # pending_payment, waiting, active, grace, lapsed, cancelled, none
    end: str | None  # ISO day cover ends
    grace_until: str | None  # ISO day a cover in its grace period is still honoured until
    waiting_until: str | None  # ISO day the waiting period ends
    copay_percent: int | None
    first_name: str
    initial: str
    source: str  # local, register


class PendingPayment(TypedDict):
    """A mobile payment of the period awaiting its payer's confirmation."""

    reference: str
    amount: int
    payer: str  # masked for the screen: +229 01 97 ** ** 12


class DueResult(TypedDict):
    found: bool
    member_no: str
    initial: str
    amount_due: int  # what is owed less what a pending payment already asks for
    pending: NotRequired[PendingPayment | None]
    # The smallest part payment the household's product takes (the whole rest is
    # always taken, however small).
    min_part: NotRequired[int]


class PaymentStarted(TypedDict):
    # started, pending, no_provider, nothing_due, above_due, bad_amount, below_minimum,
    # unknown_member, no_period
    outcome: str
    amount: int
    pending: NotRequired[PendingPayment | None]  # with outcome "pending"


class PaymentCancelled(TypedDict):
    outcome: str  # cancelled, not_pending (settled meanwhile), not_yours


class PinCheck(TypedDict):
    # ok, wrong, locked (for a while), blocked (until staff unlock), disabled; with no PIN
    # yet: no_pin (an activation code is waiting), no_code, code_expired. For AgentStatus,
    # "ok" means a PIN is set; for VerifyActivationCode, that the code is right, and
    # already_set that a PIN was chosen meanwhile.
    outcome: str
    attempts_left: int
    locked_until: str | None  # HH:MM in the scheme's time (and the day if not today)
    grant: str | None  # after the right activation code: lets this session set the PIN


class PinSet(TypedDict):
    outcome: str  # set, mismatch, trivial, already_set, no_code (no valid grant), disabled


class AgentHousehold(TypedDict):
    outcome: str  # found, unknown_member, other_mutual, disabled
    member_no: str
    head_last_name: str
    head_first_names: str
    persons: int
    max_persons: int | None
    premium_per_added: int  # what one more adult adds to the premium
    coverage: CoverageView | None
    members: list[MemberLine]
    # The household's product: the menus price a newcomer by age (`Product.premium_of`).
    product_code: NotRequired[str]
    # A mobile-money payment of the period awaiting its payer: not to be taken in cash too.
    pending_mobile: NotRequired[int]


class MemberAdded(TypedDict):
    outcome: str  # added, duplicate, full, unknown_member, other_mutual, disabled, no_period
    member_no: str
    amount_due: int


class CashRecorded(TypedDict):
    # recorded, above_due, nothing_due, bad_amount, unknown_member, other_mutual, no_period,
    # disabled
    outcome: str
    receipt_no: str
    amount: int
    amount_due: int  # left to pay after this payment


class AgentFiguresResult(TypedDict):
    households_today: int
    members_today: int
    cash_today: int
    households_campaign: int
    members_campaign: int
    cash_campaign: int
    campaign_since: str  # ISO day
    cash_held: int


class RenewalMember(TypedDict):
    member_no: str
    first_names: str
    initial: str
    head: bool


class RenewalOfferResult(TypedDict):
    # open, lapsed (a new waiting period applies), not_yet (opens_on), renewed (the year
    # is open already), no_cover (the first year was never paid), unknown_member,
    # other_mutual, disabled
    outcome: str
    member_no: str  # the head's
    head_last_name: str  # a newborn's family name when only a first name is typed
    opens_on: str | None  # ISO day the renewal window opens, with not_yet
    members: list[RenewalMember]  # next year's, with the changes made
    persons: int
    premium: int  # the whole year's, every person's price
    household_share: int  # what the household pays itself
    sponsors: int  # what sponsors pay
    carried: int  # an overpayment of the year before, counted as paid
    amount_due: int  # household_share less what is carried


class RenewalResult(TypedDict):
    # renewed (also for a repeat), not_yet, no_cover, head_needed, nobody_left,
    # unknown_member, other_mutual, disabled
    outcome: str
    member_no: str  # the head's: the payment is made on it
    amount_due: int
    lapsed: bool  # renewed after rights lapsed: a new waiting period applies
    opens_on: str | None


class DueHousehold(TypedDict):
    member_no: str
    name: str  # the head's family name and initial
    phone: str  # in full: the agent calls or visits
    ends_on: str  # ISO day cover ends (or ended)


class HouseholdsDueResult(TypedDict):
    outcome: str  # listed, disabled
    households: list[DueHousehold]
