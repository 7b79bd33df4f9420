"""What happens in the serving processes, counted as it happens: USSD hops, voice turns,
session ends, lock-outs, rate-limit refusals. Any module may call these functions; each is
one counter increment (and, for a hop, one histogram observation), with no I/O of its own.

With several worker processes (`alafia serve --workers N`) the Prometheus client keeps
these values in files of a directory the processes share (`PROMETHEUS_MULTIPROC_DIR`,
set up by `alafia serve`), and a scrape of any process adds them up. Label values are
always from a short, fixed list: a label taken from outside input would let a caller
grow the scrape without limit.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

# No `_created` series: the multiprocess mode has none, and one process must read as several.
disable_created_metrics()

# Ours only: not the client's default registry, whose process collectors mean nothing
# summed over several processes.
EVENTS: Final = CollectorRegistry(auto_describe=True)

# The operator waits about 10 s for an answer and the gateway gives up at 8 (HOP_BUDGET).
HOP_BUCKETS: Final = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)

# How a hop was answered.
ANSWERED: Final = "answered"  # the journey's screen
REFUSED: Final = "refused"  # not a hop we can read, or not the aggregator (no token)
UNAVAILABLE: Final = "unavailable"  # Redis, the database or a bug: "service unavailable"
HOP_RESULTS: Final = (ANSWERED, REFUSED, UNAVAILABLE)
NO_JOURNEY: Final = "none"  # refused before any session was read

# Who was locked out.
AGENT: Final = "agent"  # a field agent's PIN on the short code
STAFF: Final = "staff"  # a dashboard account's password
ACCOUNTS: Final = (AGENT, STAFF)

# Africa's Talking's words for how a session ended; anything else counts as "other".
SESSION_STATUSES: Final = ("Success", "Incomplete", "Failed")
# What a session achieved, as the funnel counts it (menus.nodes.Outcome), or neither.
NO_OUTCOME: Final = "other"  # ended anywhere else: given up, refused, just looked
SESSION_OUTCOMES: Final = ("enrolled", "renewed", "payment_started", NO_OUTCOME)

hops = Counter(
    "alafia_ussd_hops",
    "USSD hops answered, by journey (where the phone is after the hop) and result.",
    ["journey", "result"],
    registry=EVENTS,
)
hop_seconds = Histogram(
    "alafia_ussd_hop_seconds",
    "Time the gateway took to answer a USSD hop, by journey.",
    ["journey"],
    buckets=HOP_BUCKETS,
    registry=EVENTS,
)
voice_turns = Counter(
    "alafia_voice_turns",
    "Voice callbacks answered (a call's turns), by journey (where the call is after it) "
    "and result.",
    ["journey", "result"],
    registry=EVENTS,
)
session_ends = Counter(
    "alafia_ussd_session_ends",
    "USSD sessions ended (Africa's Talking's notices, once each), by outcome "
    "(enrolled, payment_started, other) and the aggregator's status.",
    ["outcome", "status"],
    registry=EVENTS,
)
lockouts = Counter(
    "alafia_lockouts",
    "Accounts locked out after too many wrong PINs or passwords, by kind of account.",
    ["account"],
    registry=EVENTS,
)
rate_limit_refusals = Counter(
    "alafia_rate_limit_refusals",
    "Requests refused by a rate limit, by the limit's name.",
    ["limit"],
    registry=EVENTS,
)


# A hop's two series, found once: `labels()` takes a lock and builds a key every call,
# half the cost of counting a hop.
_hop_series: dict[tuple[str, str], tuple[Counter, Histogram]] = {}


def hop_answered(journey: str, result: str, seconds: float) -> None:
    """One USSD hop: `journey` is a journey's name (from the menus, a fixed list)."""
    series = _hop_series.get((journey, result))
    if series is None:
        series = _hop_series.setdefault(
            (journey, result), (hops.labels(journey, result), hop_seconds.labels(journey))
        )
    count, latency = series
    count.inc()
    latency.observe(seconds)


def voice_turn(journey: str, result: str) -> None:
    """One turn of a call, counted like a hop (`result` from HOP_RESULTS)."""
    voice_turns.labels(journey, result).inc()


def session_ended(outcome: str, status: str) -> None:
    session_ends.labels(outcome, status if status in SESSION_STATUSES else "other").inc()


def locked_out(account: str) -> None:
    """`account`: AGENT or STAFF."""
    lockouts.labels(account).inc()


def rate_limited(limit: str) -> None:
    """A request refused by the rate limit named `limit` (a name from the code, like
    "member_check" or "login_ip"; never a phone, key or address)."""
    rate_limit_refusals.labels(limit).inc()


# Every series that can be known in advance starts at 0, so that an alert on its increase
# sees the first event rather than a series appearing from nothing.
for _account in ACCOUNTS:
    lockouts.labels(_account)
for _outcome in SESSION_OUTCOMES:
    for _status in (*SESSION_STATUSES, "other"):
        session_ends.labels(_outcome, _status)
