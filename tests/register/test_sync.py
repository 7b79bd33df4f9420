"""The register outbox and its sync, end to end: households enrolled and paid through the
gateway, cover moved through time, and the worker's sync pushing the events to local
openIMIS and DCI registers over real HTTP, while those registers fail, hang, garble or
refuse. Each event reaches the register once, in order per household, and nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from adapters.register import EventKind
from adapters.register.dci import DciRegister, DciSettings
from adapters.register.openimis import OpenImisRegister, OpenImisSettings
from db.engine import (
    async_url,
    create_engine_async,
    create_engine_sync,
    session_factory,
    sync_session_factory,
)
from gateway import cli
from gateway.app import create_app
from gateway.enrolment.service import EnrolmentService
from gateway.payments.capability import Payments
from gateway.payments.ledger import Billing
from gateway.register import registers
from gateway.register.capability import Register
from gateway.register.local import LocalRegister
from gateway.register.outgoing import register_event
from gateway.register.sync import RegisterQueue, RegisterSync, retry_after
from gateway.settings import ConfigError, RegisterSettings, Settings
from gateway.sms.outbox import Outbox
from gateway.sms.reminders import Reminders
from gateway.worker import Worker
from tests.conftest import TODAY, Clock
from tests.peers.dci import DciPeer
from tests.peers.openimis import OFFICER, VILLAGE, OpenImisPeer
from tests.support.clock import Now
from tests.support.gateway import gateway_of, part
from tests.support.households import enrol_household
from tests.support.http_server import free_port, serve
from tests.support.paying import enrol as enrol_by_ussd
from tests.support.register_outbox import (
    Push,
    Recording,
    Switch,
    events,
    households,
    links,
    members,
    overlapping,
)

PROGRAMME = "AMU-BJ-MUTUELLES"
PREMIUM = 4725  # FAMILLE, three persons
COVERED_FROM = TODAY + dt.timedelta(days=30)  # FAMILLE: 30 days of waiting
COVERED_UNTIL = dt.date(2027, 12, 22)  # twelve months
LAPSES_ON = COVERED_UNTIL + dt.timedelta(days=31)  # after 30 days of grace


def phone(i: int) -> str:
    return f"+22901970{i:05d}"


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
async def sessions(
    settings: Settings, clean: None
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine_async(settings.database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def enrolment(database_url: str, clean: None, now: Now) -> Iterator[EnrolmentService]:
    """The enrolment service on the test's clock (its events are due when it says)."""
    engine = create_engine_sync(database_url)
    yield EnrolmentService(sync_session_factory(engine), now=now)
    engine.dispose()


@dataclass
class Served:
    peer: Any
    switch: Switch
    url: str


@pytest.fixture
def openimis() -> Iterator[Served]:
    peer = OpenImisPeer(products=("FAMILLE",))
    switch = Switch(peer.app)
    with serve(switch) as url:
        yield Served(peer, switch, url)


@pytest.fixture
def dci() -> Iterator[Served]:
    peer = DciPeer()
    switch = Switch(peer.app)
    with serve(switch) as url:
        yield Served(peer, switch, url)


def openimis_settings(url: str, **changes: Any) -> OpenImisSettings:
    values: dict[str, Any] = {
        "username": "gateway",
        "password": "s3cret",
        "officer_id": OFFICER,
        "locations": {"*": VILLAGE},
        "timeout_seconds": 1.0,
    }
    return OpenImisSettings(base_url=url, **{**values, **changes})


def dci_settings(url: str) -> DciSettings:
    return DciSettings(
        base_url=url,
        client_id="alafia",
        client_secret="s3cret",
        sender_id="alafia.gateway",
        receiver_id="social.registry",
        programme_id=PROGRAMME,
        timeout_seconds=1.0,
    )


@pytest.fixture
async def to_openimis(openimis: Served) -> AsyncIterator[Recording]:
    register = Recording(OpenImisRegister(openimis_settings(openimis.url)))
    yield register
    await register.aclose()


@pytest.fixture
async def to_dci(dci: Served) -> AsyncIterator[Recording]:
    register = Recording(DciRegister(dci_settings(dci.url)))
    yield register
    await register.aclose()


# -- helpers -----------------------------------------------------------------------------


def sync_of(
    sessions: async_sessionmaker[AsyncSession],
    register: Any,
    now: Now,
    *,
    max_attempts: int = 5,
    concurrency: int = 4,
) -> RegisterSync:
    return RegisterSync(sessions, register, now, max_attempts=max_attempts, concurrency=concurrency)


async def drain(sync: RegisterSync, *, rounds: int = 40) -> int:
    """Run the sync until it finds nothing due; how many events it handled."""
    total = 0
    for _ in range(rounds):
        handled = await sync.work()
        if handled == 0:
            return total
        total += handled
    raise AssertionError("the sync never ran dry")


async def enrol_many(enrolment: EnrolmentService, count: int, first: int = 1) -> list[str]:
    return [await enrol_household(enrolment, phone(i)) for i in range(first, first + count)]


async def pay(sessions: async_sessionmaker[AsyncSession], now: Now, member_no: str) -> str:
    settled = await Billing(sessions, "Africa/Porto-Novo", now).record_cash(
        member_no, PREMIUM, "Rose Assogba"
    )
    return settled.reference


async def sweep(sessions: async_sessionmaker[AsyncSession], now: Now, day: dt.date) -> None:
    """The worker's reminder sweep on `day`: it moves the stored status of cover."""
    now.day(day)
    reminders = Reminders(
        sessions,
        Outbox.standard(),
        now,
        premium_due_days=(3, 14),
        cover_ending_days=(30, 7),
        every_seconds=300,
    )
    await reminders.sweep(now())


def statuses(db: Session) -> list[tuple[int, str, str]]:
    return [(e.household_id, e.kind, e.status) for e in events(db)]


def expected_kinds(paid: bool) -> list[str]:
    if not paid:
        return ["household_enrolled"]
    return ["household_enrolled", "payment_recorded", "coverage_activated", "coverage_lapsed"]


def period_of(db: Session, household_id: int) -> int:
    db.expire_all()
    return int(
        db.execute(
            text("SELECT id FROM coverage_periods WHERE household_id = :h"), {"h": household_id}
        ).scalar_one()
    )


def event_ids(db: Session) -> dict[str, tuple[int, str]]:
    """event_id -> (household id, kind), in the order the events happened."""
    db.expire_all()
    rows = db.execute(
        text("SELECT event_id, household_id, kind FROM register_events ORDER BY id")
    ).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def code(resource: dict[str, Any]) -> str:
    """A resource's insuree-number identifier (a Contract's is its coverage reference)."""
    for identifier in resource["identifier"]:
        if any(c.get("code") == "Code" for c in identifier["type"]["coding"]):
            return str(identifier["value"])
    raise AssertionError(f"no Code identifier in {resource}")


def writes_by_household(peer: OpenImisPeer, db: Session) -> dict[int, list[str]]:
    """Every write the peer answered, as "POST Patient", per household, in arrival order."""
    owner = {m: h for h, numbers in members(db).items() for m in numbers}
    groups = {g["id"]: code(g) for g in peer.resources("Group")}
    found: dict[int, list[str]] = {}
    for seen in peer.requests:
        if seen.method not in ("POST", "PUT") or "/login/" in seen.path or seen.status >= 300:
            continue
        if "/graphql" in seen.path:
            continue
        body = seen.body
        if body["resourceType"] == "Contract":
            head = groups[body["subject"][0]["reference"].removeprefix("Group/")]
        else:
            head = code(body)
        found.setdefault(owner[head], []).append(f"{seen.method} {body['resourceType']}")
    return found


def assert_one_of_each(peer: OpenImisPeer, db: Session) -> None:
    """The register holds each household once, as a Group of its own Patients, and the
    gateway keeps exactly the register's ids."""
    family = members(db)
    patients = peer.resources("Patient")
    groups = peer.resources("Group")
    assert sorted(code(p) for p in patients) == sorted(m for ms in family.values() for m in ms)
    assert sorted(code(g) for g in groups) == sorted(ms[0] for ms in family.values())
    patient_id = {code(p): p["id"] for p in patients}
    group_of = {code(g): g for g in groups}
    kept = links(db)
    for household_id, numbers in family.items():
        group = group_of[numbers[0]]
        assert [m["entity"]["reference"] for m in group["member"]] == [
            f"Patient/{patient_id[n]}" for n in numbers
        ]
        assert group["quantity"] == len(numbers)
        ids = kept[household_id]
        assert ids["group"] == group["id"]
        assert {k: v for k, v in ids.items() if k.startswith("patient:")} == {
            f"patient:{n}": patient_id[n] for n in numbers
        }
    contracts = sorted(c["id"] for c in peer.resources("Contract"))
    kept_contracts = sorted(
        v for ids in kept.values() for k, v in ids.items() if k.startswith("contract:")
    )
    assert kept_contracts == contracts


# -- 1, 2: everything enrolled and paid reaches the register once, in order ----------------


PUSH_MOMENTS = ["pushed at the end", "pushed after each step"]


async def live_through_cover(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    sync: RegisterSync,
    *,
    push_each_step: bool,
) -> tuple[list[str], str]:
    """Three households enrolled, the second paid, its cover active, in grace, lapsed."""
    heads = await enrol_many(enrolment, 3)

    async def step() -> None:
        if push_each_step:
            await drain(sync)

    await step()
    payment = await pay(sessions, now, heads[1])
    await step()
    await sweep(sessions, now, COVERED_FROM)
    await step()
    await sweep(sessions, now, COVERED_UNTIL + dt.timedelta(days=1))  # grace: no event
    await step()
    await sweep(sessions, now, LAPSES_ON)
    await drain(sync)
    return heads, payment


def assert_in_order_and_once(pushes: list[Push], db: Session) -> None:
    """Every event pushed once, a household's in the order they happened, never two of a
    household at the same time."""
    by_id = event_ids(db)
    assert sorted(p.event_id for p in pushes) == sorted(by_id)
    in_order = sorted(pushes, key=lambda p: p.started)
    for household_id in {h for h, _ in by_id.values()}:
        sent = [p.event_id for p in in_order if by_id[p.event_id][0] == household_id]
        assert sent == [e for e, (h, _) in by_id.items() if h == household_id]
    assert overlapping(pushes) == []


@pytest.mark.parametrize("moment", PUSH_MOMENTS)
async def test_openimis_holds_every_household_once_with_its_payment(
    moment: str,
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    openimis: Served,
    to_openimis: Recording,
) -> None:
    peer: OpenImisPeer = openimis.peer
    sync = sync_of(sessions, to_openimis, now)
    each_step = moment == "pushed after each step"
    heads, payment = await live_through_cover(
        enrolment, sessions, now, sync, push_each_step=each_step
    )
    family = households(db)
    paid = family[heads[1]]

    assert all(e.status == "pushed" and e.attempts == 1 and e.pushed_at for e in events(db))
    assert [(h, k) for h, k, _ in statuses(db) if h == paid] == [
        (paid, k) for k in expected_kinds(True)
    ]
    assert_in_order_and_once(to_openimis.pushes, db)
    assert_one_of_each(peer, db)

    # The register saw the household's writes in the order of its events: the family
    # first (its head makes it), then its policy offered once; the premium and the lapse
    # went through openIMIS's GraphQL mutations.
    writes = writes_by_household(peer, db)
    family_writes = ["POST Patient"] * 3
    assert writes[paid] == [*family_writes, "POST Contract"]
    assert all(writes[family[h]] == family_writes for h in (heads[0], heads[2]))
    [contract] = peer.resources("Contract")
    assert links(db)[paid][f"contract:CP-{period_of(db, paid)}"] == contract["id"]
    assert contract["subject"] == [{"reference": f"Group/{links(db)[paid]['group']}"}]
    [policy] = peer.policies.values()
    assert [(p["receipt"], p["amount"]) for p in policy.premiums] == [(payment, PREMIUM)]
    assert contract["status"] == "Disputed"  # suspended once the cover lapsed
    mutations = [
        s.body["variables"]["input"]["clientMutationId"].split("-")[1]
        for s in peer.seen("POST", "/graphql")
        if s.body["query"].lstrip().startswith("mutation")
    ]
    assert mutations == ["premium", "suspend"]

    # Nothing new to push, now or later, nor after a restart.
    seen = len(peer.requests)
    assert await sync.work() == 0
    now.later(days=3)
    assert await sync_of(sessions, to_openimis, now).work() == 0
    assert len(peer.requests) == seen
    status = await RegisterQueue(sessions, now).status()
    assert status["failing"] == [] and status["oldest_pending"] is None
    assert {(c["status"], c["kind"]): c["events"] for c in status["counts"]} == {
        ("pushed", "coverage_activated"): 1,
        ("pushed", "coverage_lapsed"): 1,
        ("pushed", "household_enrolled"): 3,
        ("pushed", "payment_recorded"): 1,
    }


@pytest.mark.parametrize("moment", PUSH_MOMENTS)
async def test_dci_registers_every_member_once_and_skips_premiums(
    moment: str,
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    dci: Served,
    to_dci: Recording,
) -> None:
    peer: DciPeer = dci.peer
    sync = sync_of(sessions, to_dci, now)
    each_step = moment == "pushed after each step"
    heads, _ = await live_through_cover(enrolment, sessions, now, sync, push_each_step=each_step)
    family = households(db)
    paid = family[heads[1]]

    # DCI has no message for a premium paid by a member, and no enrolment status for a
    # household not covered yet: those events are skipped, not failed.
    def skippable(e: Any) -> bool:
        if e.kind == "payment_recorded":
            return True
        # Pushed at each step, the paid household's enrolment went out before its cover.
        return e.kind == "household_enrolled" and (e.household_id != paid or each_step)

    for e in events(db):
        expected = "skipped" if skippable(e) else "pushed"
        assert (e.kind, e.status, e.attempts) == (e.kind, expected, 1)
    skipped = [e for e in events(db) if e.status == "skipped"]
    [premium] = [e for e in skipped if e.kind == "payment_recorded"]
    assert premium.household_id == paid and "premium" in (premium.last_error or "")
    assert all("not a beneficiary yet" in (e.last_error or "") for e in skipped if e != premium)
    assert_in_order_and_once(to_dci.pushes, db)

    by_id = event_ids(db)
    updates = peer.seen("/registry/sync/enrollment/updates")
    assert all(u.problems == [] for u in updates)  # the standard's schema holds
    sent = [u.body["message"] for u in updates]
    assert len(sent) == len(peer.updates) == (2 if each_step else 3)  # each once: no replay
    assert {by_id[m["transaction_id"]][0] for m in sent} == {paid}
    assert [by_id[m["transaction_id"]][1] for m in sent] == (
        ["household_enrolled"] if not each_step else []
    ) + ["coverage_activated", "coverage_lapsed"]
    sent_status = [
        m["enrolled_updates"]["beneficiaries"][0]["member"]["programme_identifier"][
            "enrolment_status"
        ]
        for m in sent
    ]
    # Each update carries the cover as it stands when pushed.
    assert sent_status == (["Active", "Suspended"] if each_step else ["Suspended"] * 3)
    every_member = members(db)
    assert sorted(m for m, _ in peer.beneficiaries) == sorted(every_member[paid])
    for number in every_member[paid]:
        programme = peer.beneficiaries[(number, PROGRAMME)]["member"]["programme_identifier"]
        assert programme["enrolment_status"] == "Suspended"
    kept = links(db)
    correlations = {
        u.body["message"]["transaction_id"]: u.answer["message"]["correlation_id"] for u in updates
    }
    for event_id, correlation in correlations.items():
        household_id, kind = by_id[event_id]
        assert kept[household_id][f"update:{kind}"] == correlation

    seen = len(peer.requests)
    assert await sync.work() == 0
    assert len(peer.requests) == seen


# -- 3: the register down for a while, then back -----------------------------------------


def assert_kept_ids_exist(peer: OpenImisPeer, db: Session) -> None:
    """Every id the gateway kept names the resource it stands for at the register: an id
    is kept only once the register confirmed it."""
    by_type = {t: {r["id"]: r for r in peer.resources(t)} for t in ("Patient", "Group", "Contract")}
    heads = {h: ms[0] for h, ms in members(db).items()}
    for household_id, ids in links(db).items():
        for key, value in ids.items():
            kind, _, name = key.partition(":")
            if kind == "group":
                assert code(by_type["Group"][value]) == heads[household_id]
            elif kind == "patient":
                assert code(by_type["Patient"][value]) == name
            elif kind == "contract":
                assert value in by_type["Contract"]
            else:  # a premium or a suspension openIMIS confirmed, named by our reference
                assert kind in ("premium", "suspended") and value


@pytest.mark.parametrize("outage", ["nothing listening", "503 to every request"])
async def test_a_register_down_for_a_while_gets_everything_once_when_back(
    outage: str,
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
) -> None:
    peer = OpenImisPeer(products=("FAMILLE",))
    switch = Switch(peer.app)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    register = Recording(OpenImisRegister(openimis_settings(url)))
    sync = sync_of(sessions, register, now, max_attempts=10)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(register.aclose)
        if outage == "503 to every request":
            switch.mode = "503"
            stack.enter_context(serve(switch, port=port))
        heads = await enrol_many(enrolment, 3)
        await pay(sessions, now, heads[0])

        # Down: each household's first event is tried, fails, and waits its backoff; the
        # payment waits behind its household's enrolment even though it is due.
        assert await sync.work() == 3
        tried = now()
        for e in events(db):
            if e.kind == "household_enrolled":
                assert (e.status, e.attempts) == ("pending", 1)
                assert tried + dt.timedelta(seconds=30) <= e.next_attempt_at
                assert e.next_attempt_at <= tried + dt.timedelta(seconds=36)
                assert e.last_error and e.last_error.startswith("RegisterUnavailable")
            else:
                assert (e.kind, e.status, e.attempts, e.last_error) == (
                    "payment_recorded",
                    "pending",
                    0,
                    None,
                )
        assert await sync.work() == 0  # nothing due before the backoff ends
        now.later(seconds=40)
        assert await sync.work() == 3
        assert {e.attempts for e in events(db) if e.kind == "household_enrolled"} == {2}
        assert peer.requests == []

        # The gateway goes on: enrolment and payment never wait for the register.
        later = await enrol_household(enrolment, phone(9))
        await pay(sessions, now, later)
        status = await RegisterQueue(sessions, now).status()
        assert [(f["kind"], f["attempts"]) for f in status["failing"]] == [
            ("household_enrolled", 2)
        ] * 3
        assert status["oldest_pending"] is not None
        assert {(c["status"], c["kind"]): c["events"] for c in status["counts"]} == {
            ("pending", "household_enrolled"): 4,
            ("pending", "payment_recorded"): 2,
        }

        # Back: nothing moves before the backoff is over, then everything goes, once.
        if outage == "nothing listening":
            stack.enter_context(serve(switch, port=port))
        switch.mode = "up"
        assert await sync.work() == 1  # only the household enrolled during the outage
        now.later(minutes=3)
        await drain(sync)

    assert all(e.status == "pushed" for e in events(db))
    assert_in_order_and_once([p for p in register.pushes if p.outcome == "ok"], db)
    assert_one_of_each(peer, db)
    assert len(peer.resources("Group")) == 4
    assert len([s for s in peer.seen("POST", "/Contract/") if s.status == 201]) == 2
    if outage == "503 to every request":
        assert switch.refused == 6  # each failed push stopped at its first call: the login


# -- 4: a push that fails half-way -------------------------------------------------------


HALF_WAY = {
    "the family read back fails after the head's Patient was created": (
        lambda peer: peer.fail_next(503, method="GET", path="/Patient/"),
        "household_enrolled",
    ),
    "a Patient created but its answer lost": (
        lambda peer: peer.slow_next(1.5, method="POST", path="/Patient/"),
        "household_enrolled",
    ),
    "openIMIS's GraphQL down for now": (
        lambda peer: peer.fail_next(503, method="POST", path="/graphql"),
        "payment_recorded",
    ),
    "the Contract refused for now": (
        lambda peer: peer.fail_next(503, method="POST", path="/Contract/"),
        "payment_recorded",
    ),
    "the Contract created but its answer lost": (
        lambda peer: peer.slow_next(1.5, method="POST", path="/Contract/"),
        "payment_recorded",
    ),
}


@pytest.mark.parametrize("case", list(HALF_WAY))
async def test_a_push_that_fails_half_way_is_finished_without_duplicates(
    case: str,
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    openimis: Served,
    to_openimis: Recording,
) -> None:
    peer: OpenImisPeer = openimis.peer
    script, failing = HALF_WAY[case]
    [head] = await enrol_many(enrolment, 1)
    await pay(sessions, now, head)
    script(peer)
    sync = sync_of(sessions, to_openimis, now)

    await drain(sync)
    peer.wait_idle()
    [stuck] = [e for e in events(db) if e.kind == failing]
    assert (stuck.status, stuck.attempts) == ("pending", 1)
    assert stuck.last_error and stuck.last_error.startswith("RegisterUnavailable")
    # The payment waits behind its household's enrolment, untried.
    assert all(e.status == "pushed" or e.attempts == 0 for e in events(db) if e != stuck)
    assert_kept_ids_exist(peer, db)

    now.later(minutes=1)
    await drain(sync)
    assert [e.status for e in events(db)] == ["pushed", "pushed"]
    assert_one_of_each(peer, db)
    assert len(peer.resources("Contract")) == 1
    assert len([s for s in peer.seen("POST", "/Patient/") if s.status == 201]) == 3
    assert len(peer.resources("Group")) == 1
    assert len([s for s in peer.seen("POST", "/Contract/") if s.status == 201]) == 1
    [policy] = peer.policies.values()
    assert len(policy.premiums) == 1


async def test_a_worker_that_dies_mid_push_leaves_its_event_to_the_next_after_the_lease(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    openimis: Served,
) -> None:
    peer: OpenImisPeer = openimis.peer
    await enrol_many(enrolment, 1)
    peer.slow_next(3.0, method="GET", path="/Patient/")
    # Its own timeout outlasts the slow answer: the worker is still waiting when it is
    # killed, however long a loaded machine takes to notice the request arrived.
    patient = OpenImisRegister(openimis_settings(openimis.url, timeout_seconds=30.0))
    dying = asyncio.create_task(sync_of(sessions, patient, now).work())
    for _ in range(400):  # until its push reaches the register, however busy the machine
        if peer.seen("GET", "/Patient/"):
            break
        await asyncio.sleep(0.025)
    dying.cancel()  # the worker is killed while its push waits for the register
    with pytest.raises(asyncio.CancelledError):
        await dying
    await patient.aclose()
    peer.wait_idle()
    [claimed] = events(db)
    assert (claimed.status, claimed.attempts) == ("pending", 0)
    assert claimed.claimed_until is not None and claimed.claimed_until > now()

    async with OpenImisRegister(openimis_settings(openimis.url)) as register:
        other = sync_of(sessions, register, now)
        assert await other.work() == 0  # the lease still holds
        now.later(minutes=6)
        assert await other.work() == 1
    assert [e.status for e in events(db)] == ["pushed"]
    assert_one_of_each(peer, db)


async def test_a_push_that_outlives_its_lease_does_not_overwrite_the_next_workers_outcome(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    openimis: Served,
    to_openimis: Recording,
) -> None:
    peer: OpenImisPeer = openimis.peer
    await enrol_many(enrolment, 1)
    peer.slow_next(1.0, method="GET", path="/Patient/")
    stuck_clock = Now()  # the slow worker's clock stays at its claim: its outcome shows
    slow = asyncio.create_task(sync_of(sessions, to_openimis, stuck_clock).work())
    await asyncio.sleep(0.3)  # the slow worker waits for the register...
    taken_at = now.later(minutes=6)  # ...past its lease, so another worker takes it over
    async with OpenImisRegister(openimis_settings(openimis.url)) as register:
        assert await sync_of(sessions, register, now).work() == 1
    [taken] = events(db)
    assert (taken.status, taken.attempts) == ("pushed", 1)

    await slow  # the first push ends late: its outcome is not written over the second's
    peer.wait_idle()
    [final] = events(db)
    assert (final.status, final.attempts, final.claimed_until) == ("pushed", 1, None)
    assert final.pushed_at == taken_at  # the second worker's outcome stands
    # (Two pushes of one household at once can create it twice at the register: the
    # lease, five minutes, outlasts any push, whose calls time out within seconds.)


# -- 5: malformed answers ----------------------------------------------------------------


GARBLED = {
    "the login": ("POST", "/login/"),
    "the head's Patient, created": ("POST", "/Patient/"),
    "the head's family, read back": ("GET", "/Patient/"),
    "the village, read": ("GET", "/Location/"),
}


@pytest.mark.parametrize("where", list(GARBLED))
async def test_a_garbled_answer_is_retried_and_never_half_applied(
    where: str,
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    openimis: Served,
    to_openimis: Recording,
) -> None:
    peer: OpenImisPeer = openimis.peer
    method, path = GARBLED[where]
    await enrol_many(enrolment, 1)
    peer.garble_next(method=method, path=path)
    sync = sync_of(sessions, to_openimis, now)

    assert await drain(sync) == 1
    [garbled] = events(db)
    assert (garbled.status, garbled.attempts, garbled.pushed_at) == ("pending", 1, None)
    assert garbled.last_error and garbled.last_error.startswith("RegisterMalformedAnswer")
    # Only the ids the register confirmed are kept; the garbled answer's is not.
    assert_kept_ids_exist(peer, db)
    if (method, path) == ("GET", "/Patient/"):
        assert "group" not in links(db)[garbled.household_id]
        assert len(peer.resources("Group")) == 1

    now.later(minutes=1)
    assert await drain(sync) == 1
    assert [(e.status, e.attempts) for e in events(db)] == [("pushed", 2)]
    assert_one_of_each(peer, db)


async def test_a_garbled_answer_to_a_new_contract_is_retried_without_a_second(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    openimis: Served,
    to_openimis: Recording,
) -> None:
    """The policy was made but its answer lost: the retry finds it among the head's."""
    [head] = await enrol_many(enrolment, 1)
    await pay(sessions, now, head)
    openimis.peer.garble_next(method="POST", path="/Contract/")
    sync = sync_of(sessions, to_openimis, now)
    await drain(sync)
    now.later(minutes=1)
    await drain(sync)
    assert {e.status for e in events(db)} == {"pushed"}
    assert_one_of_each(openimis.peer, db)
    assert len(openimis.peer.resources("Contract")) == 1


async def test_an_answer_that_cannot_be_decoded_is_retried_then_dead(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    openimis: Served,
    to_openimis: Recording,
) -> None:
    """A body announced as gzip that is not: the HTTP client fails before the adapter reads
    anything. The event counts the attempt like any failure and reaches the dead letters,
    instead of staying claimed, unseen, and retried forever."""
    await enrol_many(enrolment, 1)
    openimis.switch.mode = "bad-gzip"
    sync = sync_of(sessions, to_openimis, now, max_attempts=2)

    assert await sync.work() == 1
    [event] = events(db)
    assert (event.status, event.attempts, event.claimed_until) == ("pending", 1, None)
    assert event.last_error and "DecodingError" in event.last_error
    now.later(minutes=5)
    assert await sync.work() == 1
    [event] = events(db)
    assert (event.status, event.attempts) == ("dead", 2)

    openimis.switch.mode = "up"
    assert await RegisterQueue(sessions, now).retry() == 1
    await drain(sync)
    assert [e.status for e in events(db)] == ["pushed"]
    assert_one_of_each(openimis.peer, db)


# -- 6: rejection, dead letters and retry ------------------------------------------------


REJECTIONS = {
    "a product the register does not know": ("payment_recorded", "no product 'FAMILLE'"),
    "a Patient refused as unprocessable": ("household_enrolled", "HTTP 422"),
}


@pytest.mark.parametrize("case", list(REJECTIONS))
async def test_a_rejected_event_is_dead_until_retried(
    case: str,
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    openimis: Served,
    to_openimis: Recording,
) -> None:
    peer: OpenImisPeer = openimis.peer
    dead_kind, answer = REJECTIONS[case]
    if case == "a product the register does not know":
        peer.products.clear()
    else:
        peer.fail_next(422, method="POST", path="/Patient/")
    [head] = await enrol_many(enrolment, 1)
    await pay(sessions, now, head)
    sync = sync_of(sessions, to_openimis, now, max_attempts=10)

    await drain(sync)
    by_kind = {e.kind: e for e in events(db)}
    dead = by_kind[dead_kind]
    assert (dead.status, dead.attempts) == ("dead", 1)
    assert dead.last_error and dead.last_error.startswith("rejected:") and answer in dead.last_error
    # A dead event no longer holds its household's later events back.
    assert {e.status for e in events(db) if e.kind != dead_kind} == {"pushed"}
    now.later(hours=5)
    assert await sync.work() == 0  # dead events wait for a person
    status = await RegisterQueue(sessions, now).status()
    assert [(f["id"], f["status"], f["last_error"]) for f in status["failing"]] == [
        (dead.id, "dead", dead.last_error)
    ]

    peer.add_product("FAMILLE")  # the register is fixed
    queue = RegisterQueue(sessions, now)
    assert await queue.retry(event_ids=[dead.id + 100]) == 0
    assert await queue.retry() == 1
    retried = {e.kind: e for e in events(db)}[dead_kind]
    assert (retried.status, retried.attempts, retried.next_attempt_at) == ("pending", 0, now())
    assert await queue.retry() == 0  # nothing dead any more

    assert await drain(sync) == 1
    assert {e.status for e in events(db)} == {"pushed"}
    assert_one_of_each(peer, db)
    assert len(peer.resources("Contract")) == 1


async def test_an_update_the_dci_registry_refuses_is_dead_until_retried(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    dci: Served,
    to_dci: Recording,
) -> None:
    peer: DciPeer = dci.peer
    [head] = await enrol_many(enrolment, 1)
    await pay(sessions, now, head)
    await sweep(sessions, now, COVERED_FROM)
    updates = "/registry/sync/enrollment/updates"
    peer.fail_next(400, path=updates, body={"errors": [{"code": "err.request.bad"}]})
    sync = sync_of(sessions, to_dci, now)

    await drain(sync)
    [dead] = [e for e in events(db) if e.status == "dead"]
    assert (dead.kind, dead.attempts) == ("household_enrolled", 1)
    assert dead.last_error and "HTTP 400" in dead.last_error
    assert len(peer.updates) == 1  # the activation went on: it carries the whole household

    assert await RegisterQueue(sessions, now).retry() == 1
    await drain(sync)
    assert {e.status for e in events(db) if e.kind != "payment_recorded"} == {"pushed"}
    assert len(peer.updates) == 2 and len(peer.beneficiaries) == 3


# -- 7: an event that keeps failing goes to the dead letters -----------------------------


@pytest.mark.parametrize(
    ("attempts", "least", "most"),
    [(1, 30, 36), (2, 60, 72), (3, 120, 144), (7, 1920, 2304), (8, 3600, 4320), (50, 3600, 4320)],
)
def test_backoff_doubles_then_stays_hourly(attempts: int, least: int, most: int) -> None:
    waits = [retry_after(attempts).total_seconds() for _ in range(50)]
    assert all(least <= w <= most for w in waits)
    assert len(set(waits)) > 1  # jittered, so a backlog does not come back at once


@pytest.mark.parametrize("max_attempts", [1, 3])
async def test_an_event_that_keeps_failing_goes_dead_after_max_attempts(
    max_attempts: int,
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    openimis: Served,
    to_openimis: Recording,
) -> None:
    openimis.switch.mode = "503"
    [head] = await enrol_many(enrolment, 1)
    await pay(sessions, now, head)
    sync = sync_of(sessions, to_openimis, now, max_attempts=max_attempts)

    for attempt in range(1, max_attempts + 1):
        assert await sync.work() == 1
        enrolled = events(db)[0]
        status = "dead" if attempt == max_attempts else "pending"
        assert (enrolled.status, enrolled.attempts) == (status, attempt)
        assert enrolled.last_error and "HTTP 503" in enrolled.last_error
        now.later(hours=2)
    # Dead, it no longer holds the payment back: that one has its own attempts.
    assert await sync.work() == 1
    payment = events(db)[1]
    assert (payment.kind, payment.attempts) == ("payment_recorded", 1)
    assert payment.status == ("dead" if max_attempts == 1 else "pending")

    openimis.switch.mode = "up"
    assert await RegisterQueue(sessions, now).retry() == (2 if max_attempts == 1 else 1)
    now.later(hours=2)
    await drain(sync)
    assert {e.status for e in events(db)} == {"pushed"}
    assert_one_of_each(openimis.peer, db)


# -- 8: two workers at once --------------------------------------------------------------


async def test_two_workers_push_each_event_once_and_in_order(
    settings: Settings,
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    openimis: Served,
) -> None:
    peer: OpenImisPeer = openimis.peer
    heads = await enrol_many(enrolment, 10)
    for head in heads:
        await pay(sessions, now, head)
    ticks = iter(range(10**6))
    engines = [create_engine_async(settings.database_url) for _ in range(2)]
    registers = [
        Recording(OpenImisRegister(openimis_settings(openimis.url)), ticks=ticks) for _ in range(2)
    ]
    workers = [
        sync_of(session_factory(engine), register, now, concurrency=2)
        for engine, register in zip(engines, registers, strict=True)
    ]

    async def run(sync: RegisterSync) -> None:
        idle = 0
        while idle < 10:
            if await sync.work():
                idle = 0
            else:
                idle += 1
                await asyncio.sleep(0.02)

    try:
        await asyncio.gather(*(run(w) for w in workers))
    finally:
        for register in registers:
            await register.aclose()
        for engine in engines:
            await engine.dispose()

    assert [(e.status, e.attempts) for e in events(db)] == [("pushed", 1)] * 20
    assert_in_order_and_once([*registers[0].pushes, *registers[1].pushes], db)
    assert all(r.pushes for r in registers)  # the two workers shared the work
    assert_one_of_each(peer, db)
    assert len(peer.seen("POST", "/Patient/")) == 30
    assert len(peer.resources("Group")) == 10
    assert len(peer.seen("POST", "/Contract/")) == 10


# -- 9: the gateway as its own register, then a real one ---------------------------------


async def test_events_skipped_by_the_local_register_reach_openimis_once_retried(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    openimis: Served,
) -> None:
    heads = await enrol_many(enrolment, 2)
    await pay(sessions, now, heads[0])
    local = registers.build(Settings.from_env({"REGISTER_ADAPTER": "local"}).register, sessions)
    assert isinstance(local, LocalRegister) and not registers.is_remote(local)

    assert await drain(sync_of(sessions, local, now)) == 3
    assert [(e.status, e.attempts) for e in events(db)] == [("skipped", 1)] * 3
    assert all("the gateway is the register" in (e.last_error or "") for e in events(db))
    queue = RegisterQueue(sessions, now)
    assert await queue.retry() == 0  # dead ones only, by default
    assert (await queue.status())["failing"] == []

    # The scheme joins openIMIS: what was skipped is sent, in order, once.
    env = {
        "REGISTER_ADAPTER": "openimis",
        "OPENIMIS_BASE_URL": openimis.url,
        "OPENIMIS_USERNAME": "gateway",
        "OPENIMIS_PASSWORD": "s3cret",
        "OPENIMIS_OFFICER_UUID": OFFICER,
        "OPENIMIS_LOCATIONS": json.dumps({"*": VILLAGE}),
    }
    remote = registers.build(Settings.from_env(env).register, sessions)
    assert isinstance(remote, OpenImisRegister) and registers.is_remote(remote)
    assert await queue.retry(statuses=("dead", "skipped")) == 3
    recording = Recording(remote)
    try:
        assert await drain(sync_of(sessions, recording, now)) == 3
    finally:
        await recording.aclose()
    assert [(e.status, e.attempts) for e in events(db)] == [("pushed", 1)] * 3
    assert_in_order_and_once(recording.pushes, db)
    assert_one_of_each(openimis.peer, db)
    assert len(openimis.peer.resources("Contract")) == 1


def test_a_register_named_without_its_settings_is_a_configuration_error(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    for name in ("openimis", "dci"):
        with pytest.raises(ConfigError, match=f"REGISTER_ADAPTER={name}: missing"):
            Settings.from_env({"REGISTER_ADAPTER": name})
        by_hand = RegisterSettings(adapter=name, max_attempts=48, concurrency=4)
        with pytest.raises(ConfigError, match=f"REGISTER_ADAPTER={name}: missing"):
            registers.build(by_hand, sessions)


# -- 10: the operator's commands ---------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings, openimis: Served) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ALAFIA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("REGISTER_ADAPTER", "openimis")
    monkeypatch.setenv("OPENIMIS_BASE_URL", openimis.url)
    monkeypatch.setenv("OPENIMIS_USERNAME", "gateway")
    monkeypatch.setenv("OPENIMIS_PASSWORD", "s3cret")
    monkeypatch.setenv("OPENIMIS_OFFICER_UUID", OFFICER)
    monkeypatch.setenv("OPENIMIS_LOCATIONS", json.dumps({"*": VILLAGE}))


async def alafia(now: Now, *argv: str) -> int:
    """`alafia ...` as an operator runs it (it runs its own event loop), on the tests' clock."""
    return await asyncio.to_thread(lambda: cli.main(list(argv), now=now))


async def test_register_status_and_retry_commands(
    cli_env: None,
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    openimis: Served,
    to_openimis: Recording,
    capsys: pytest.CaptureFixture[str],
) -> None:
    peer: OpenImisPeer = openimis.peer
    peer.products.clear()  # the register does not know the product yet
    heads = await enrol_many(enrolment, 2)
    await pay(sessions, now, heads[0])
    sync = sync_of(sessions, to_openimis, now)
    await drain(sync)
    openimis.switch.mode = "503"
    await enrol_household(enrolment, phone(7))
    await drain(sync)
    dead = next(e for e in events(db) if e.status == "dead")
    waiting = next(e for e in events(db) if e.status == "pending")

    assert await alafia(now, "register", "status") == 0
    out = capsys.readouterr().out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "register: openimis" in lines
    assert "dead payment_recorded 1" in lines
    assert "pending household_enrolled 1" in lines
    assert "pushed household_enrolled 2" in lines
    assert any(line.startswith("oldest pending event: ") for line in lines)
    assert (
        f"event {dead.id} (payment_recorded, household {dead.household_id}) dead after 1"
        " attempt: rejected: openIMIS has no product 'FAMILLE'" in out
    )
    assert (
        f"event {waiting.id} (household_enrolled, household {waiting.household_id}) pending"
        " after 1 attempt: RegisterUnavailable" in out
    )

    assert await alafia(now, "register", "status", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert [(f["id"], f["status"]) for f in shown["failing"]] == [
        (dead.id, "dead"),
        (waiting.id, "pending"),
    ]

    assert await alafia(now, "register", "retry", "--event", str(waiting.id)) == 0
    assert capsys.readouterr().out.strip() == "0 events queued again; the worker pushes them"
    assert await alafia(now, "register", "retry") == 0
    assert capsys.readouterr().out.strip() == "1 events queued again; the worker pushes them"
    assert {e.id: e.status for e in events(db)}[dead.id] == "pending"
    assert await alafia(now, "register", "retry", "--skipped") == 0
    assert capsys.readouterr().out.startswith("0 events queued again")

    # Fixed and back: the worker pushes what the operator sent again, and the rest.
    peer.add_product("FAMILLE")
    openimis.switch.mode = "up"
    now.later(days=1)  # past the command's own clock and the backoff
    await drain(sync)
    assert {e.status for e in events(db)} == {"pushed"}
    assert_one_of_each(peer, db)
    assert await alafia(now, "register", "status") == 0
    out = capsys.readouterr().out
    assert "dead" not in out and "pending" not in out and "oldest pending" not in out


class SlowRegister:
    """A register that takes `minutes` of the gateway's clock to answer each push."""

    def __init__(self, register: Recording, now: Now, minutes: float) -> None:
        self.register, self.now, self.minutes = register, now, minutes

    async def push(self, event: Any) -> Any:
        self.now.later(minutes=self.minutes)
        await asyncio.sleep(0.05)
        return await self.register.push(event)

    async def aclose(self) -> None:
        await self.register.aclose()


async def test_a_slow_register_never_gets_an_event_twice_from_two_workers(
    settings: Settings,
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    openimis: Served,
) -> None:
    """Each push takes two minutes: a worker must not hold claimed events waiting for a free
    slot until their lease (five minutes) runs out and a second worker takes them too."""
    await enrol_many(enrolment, 6)
    ticks = iter(range(10**6))
    recordings = [
        Recording(OpenImisRegister(openimis_settings(openimis.url)), ticks=ticks) for _ in range(2)
    ]
    engine = create_engine_async(settings.database_url)
    first, second = (
        sync_of(sessions, SlowRegister(recordings[0], now, 2), now, concurrency=1),
        sync_of(session_factory(engine), SlowRegister(recordings[1], now, 2), now, concurrency=1),
    )
    try:
        busy = asyncio.create_task(first.work())
        await asyncio.sleep(0.1)  # the first worker claims what is due, then pushes
        while not busy.done():
            await second.work()
            await asyncio.sleep(0.01)
        await busy
        while await first.work() + await second.work():
            pass
    finally:
        for recording in recordings:
            await recording.aclose()
        await engine.dispose()

    assert [e.status for e in events(db)] == ["pushed"] * 6
    assert_in_order_and_once([*recordings[0].pushes, *recordings[1].pushes], db)
    assert_one_of_each(openimis.peer, db)


async def test_a_slow_register_holds_no_database_connection_while_it_answers(
    settings: Settings,
    enrolment: EnrolmentService,
    now: Now,
    db: Session,
    openimis: Served,
) -> None:
    """Four pushes at once on a pool of two connections that waits one second, the register
    taking longer than that to answer: the pushes wait for the register, never for a
    connection another push holds meanwhile."""
    await enrol_many(enrolment, 4)
    for _ in range(4):
        openimis.peer.slow_next(1.5, method="POST", path="/Group/")
    engine = create_async_engine(
        async_url(settings.database_url), pool_size=2, max_overflow=0, pool_timeout=1
    )
    register = OpenImisRegister(openimis_settings(openimis.url, timeout_seconds=5.0))
    try:
        sync = sync_of(session_factory(engine), register, now, concurrency=4)
        assert await sync.work() == 4
    finally:
        await register.aclose()
        await engine.dispose()
    assert [e.status for e in events(db)] == ["pushed"] * 4
    assert_one_of_each(openimis.peer, db)


# -- dates the register receives ---------------------------------------------------------


@pytest.mark.parametrize("hour", [0, 12, 23])
async def test_openimis_gets_the_local_day_of_a_payment(
    hour: int,
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    openimis: Served,
    to_openimis: Recording,
) -> None:
    """Benin is an hour ahead of UTC: a premium paid at half past midnight was paid that
    day, whatever zone the database hands the time back in."""
    day = TODAY + dt.timedelta(days=1)
    now.day(day, hour)
    now.later(minutes=30)
    openimis.peer.today = lambda: day  # openIMIS refuses enrolments after its own today
    head = await enrol_household(enrolment, phone(1), day=day)
    await pay(sessions, now, head)
    await drain(sync_of(sessions, to_openimis, now))

    [policy] = openimis.peer.policies.values()
    assert [p["pay_date"] for p in policy.premiums] == [day]


@pytest.mark.parametrize("hour", [0, 12, 23])
async def test_dci_gets_the_local_day_of_an_enrolment(
    hour: int,
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    dci: Served,
    to_dci: Recording,
) -> None:
    day = TODAY + dt.timedelta(days=1)
    now.day(day, hour)
    now.later(minutes=30)
    head = await enrol_household(enrolment, phone(1), day=day)
    await pay(sessions, now, head)
    await sweep(sessions, now, day + dt.timedelta(days=30))  # covered: now a beneficiary
    await drain(sync_of(sessions, to_dci, now))

    [enrolled] = [i for i, (_, kind) in event_ids(db).items() if kind == "household_enrolled"]
    update = dci.peer.updates[enrolled]
    member = update["enrolled_updates"]["beneficiaries"][0]["member"]
    assert member["programme_identifier"]["status_change_date"] == day.isoformat()
    assert member["registration_date"] == day.isoformat()


async def test_a_skipped_enrolment_sent_again_late_leaves_dci_knowing_the_cover(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    dci: Served,
    to_dci: Recording,
) -> None:
    """Events carry the household's state when pushed: an enrolment retried after the cover
    opened tells the registry the members are Active, not what they were when enrolled."""
    peer: DciPeer = dci.peer
    head = await enrol_household(enrolment, phone(1))
    sync = sync_of(sessions, to_dci, now)
    await drain(sync)
    await pay(sessions, now, head)
    await sweep(sessions, now, COVERED_FROM)
    await drain(sync)
    assert [(e.kind, e.status) for e in events(db)] == [
        ("household_enrolled", "skipped"),
        ("payment_recorded", "skipped"),
        ("coverage_activated", "pushed"),
    ]
    assert (await to_dci.check_eligibility(head, now().date())).covered

    skipped = ("skipped",)
    assert await RegisterQueue(sessions, now).retry(statuses=skipped) == 2
    await drain(sync)
    assert {e.status for e in events(db) if e.kind != "payment_recorded"} == {"pushed"}
    for number in members(db)[households(db)[head]]:
        programme = peer.beneficiaries[(number, PROGRAMME)]["member"]["programme_identifier"]
        assert programme["enrolment_status"] == "Active"
    assert (await to_dci.check_eligibility(head, now().date())).covered


# -- done when: through the gateway, to openIMIS -----------------------------------------


async def test_everything_enrolled_by_ussd_and_paid_reaches_openimis_once(
    settings: Settings,
    clean: None,
    now: Now,
    db: Session,
    openimis: Served,
) -> None:
    """REGISTER_ADAPTER=openimis: the gateway as it runs, households enrolled by USSD and
    paid at the desk, the background worker's rounds pushing them."""
    register = Settings.from_env(
        {
            "REGISTER_ADAPTER": "openimis",
            "OPENIMIS_BASE_URL": openimis.url,
            "OPENIMIS_USERNAME": "gateway",
            "OPENIMIS_PASSWORD": "s3cret",
            "OPENIMIS_OFFICER_UUID": OFFICER,
            "OPENIMIS_LOCATIONS": json.dumps({"*": VILLAGE}),
            "REGISTER_MAX_ATTEMPTS": "5",
        }
    ).register
    app = create_app(dataclasses.replace(settings, register=register), Clock(TODAY), now=now)
    async with app.router.lifespan_context(app):
        register = part(app, Register)
        assert isinstance(register.adapter, OpenImisRegister)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            heads = [await enrol_by_ussd(http, phone(i), persons=i + 1) for i in range(1, 4)]
        await part(app, Payments).ledger.record_cash(heads[2], PREMIUM * 4 // 3, "Dah Kpadé")
        worker = Worker(gateway_of(app).jobs)
        for _ in range(20):
            if await worker.run_once() == 0:
                break
        assert await register.sync.work() == 0

    assert [(e.kind, e.status) for e in events(db)] == [
        ("household_enrolled", "pushed"),
        ("household_enrolled", "pushed"),
        ("household_enrolled", "pushed"),
        ("payment_recorded", "pushed"),
    ]
    assert_one_of_each(openimis.peer, db)
    assert sorted(len(g["member"]) for g in openimis.peer.resources("Group")) == [2, 3, 4]
    [contract] = openimis.peer.resources("Contract")
    paid = households(db)[heads[2]]
    assert links(db)[paid][f"contract:CP-{period_of(db, paid)}"] == contract["id"]


async def test_dci_hears_of_members_dropped_at_a_renewal(
    enrolment: EnrolmentService,
    sessions: async_sessionmaker[AsyncSession],
    now: Now,
    db: Session,
    dci: Served,
    to_dci: Recording,
) -> None:
    """A member dropped from the household (`left_on`, as a renewal does) reaches the
    registry on the household_updated that follows: Deceased when they died."""
    peer: DciPeer = dci.peer
    head = await enrol_household(enrolment, phone(1))
    await pay(sessions, now, head)
    await sweep(sessions, now, COVERED_FROM)
    sync = sync_of(sessions, to_dci, now)
    await drain(sync)
    household_id = households(db)[head]
    _, died, left = members(db)[household_id]
    gone_on = now().date()
    for number, reason in ((died, "died"), (left, "left")):
        db.execute(
            text("UPDATE members SET left_on = :d, left_reason = :r WHERE member_no = :n"),
            {"d": gone_on, "r": reason, "n": number},
        )
    db.commit()
    async with sessions() as session, session.begin():
        session.add(register_event(EventKind.HOUSEHOLD_UPDATED, household_id, now()))

    await drain(sync)

    updated = peer.seen("/registry/sync/enrollment/updates")[-1]
    assert updated.problems == []
    status = {
        number: peer.beneficiaries[(number, PROGRAMME)]["member"]["programme_identifier"]
        for number in (head, died, left)
    }
    assert [status[n]["enrolment_status"] for n in (head, died, left)] == [
        "Active",
        "Deceased",
        "Suspended",
    ]
    assert status[died]["status_change_date"] == gone_on.isoformat()
