"""The gateway on a real three-node Redis Cluster: a USSD enrolment, a payment callback
and the rate limits go through it as through one server. On a cluster a multi-key
command or a script must stay in one hash slot; these stories are what proves it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
import yaml
from redis import Redis as SyncRedis
from sqlalchemy.orm import Session

from db.redis import close, connect, parse
from gateway.limits.rates import RateLimiter
from gateway.settings import Rate
from gateway.ussd.caller_cache import ALL_CALLERS, CallerCache
from tests.conftest import JOURNEYS
from tests.limits import test_rates
from tests.menus.test_journeys import tell
from tests.payments import test_momo_flow as momo_flow
from tests.peers.momo import MomoPeer
from tests.support.clock import Now
from tests.support.http_server import serve
from tests.support.paying import paying_gateway
from tests.topologies.conftest import Topology

# Stories as data, told to the gateway on the cluster: an enrolment; a session resumed
# (the session and the phone's resume snapshot, written by one script); an agent's PIN
# locked out after wrong tries.
STORIES = ("enrol_family_fr", "resume", "agent_lockout")


@pytest.mark.parametrize("name", STORIES)
async def test_a_story_on_the_cluster(name: str, on_cluster: Topology, db: Session) -> None:
    path = JOURNEYS / f"{name}.yaml"
    story = yaml.safe_load(path.read_text("utf-8"))
    await tell(story, path, on_cluster.client, on_cluster.clock, db, on_cluster.app)


@pytest.fixture
def peer() -> Iterator[tuple[MomoPeer, str]]:
    momo = MomoPeer()
    with serve(momo.app) as base_url:
        yield momo, base_url


async def test_enrol_pay_and_the_callback_on_the_cluster(
    on_cluster: Topology, peer: tuple[MomoPeer, str], db: Session
) -> None:
    environ = momo_flow.momo_environ(peer)
    async with paying_gateway(on_cluster.settings, "momo", environ) as gateway:
        await momo_flow.test_the_whole_loop_enrol_pay_callback_cover(gateway, peer, db)


async def test_concurrent_copies_of_a_callback_credit_once_on_the_cluster(
    on_cluster: Topology, peer: tuple[MomoPeer, str], db: Session
) -> None:
    environ = momo_flow.momo_environ(peer)
    async with paying_gateway(on_cluster.settings, "momo", environ) as gateway:
        await momo_flow.test_ten_concurrent_copies_of_a_callback_credit_once(gateway, peer, db)


async def test_a_facility_key_is_refused_past_its_limit_on_the_cluster(
    on_cluster: Topology,
) -> None:
    await test_rates.test_a_facility_key_is_refused_past_its_limit_on_every_instance(
        on_cluster.settings, None
    )


async def test_two_processes_never_both_take_the_last_use_on_the_cluster(
    on_cluster: Topology,
) -> None:
    await test_rates.test_two_processes_never_both_take_the_last_use(on_cluster.settings, None)


async def test_lifting_a_limit_for_everyone_reaches_every_node(on_cluster: Topology) -> None:
    """`forget_all` (staff unlocking an account) scans every primary and deletes keys
    that live in many slots: the client splits the DEL by slot."""
    assert on_cluster.settings.redis_url is not None
    redis = connect(on_cluster.settings.redis_url, 8, 2.0)
    try:
        limiter = RateLimiter(redis, Now())
        rate = Rate(1, 600)
        subjects = [f"10.0.0.{n}" for n in range(40)]
        for subject in subjects:
            assert (await limiter.check("login", rate, subject, 1)).allowed
        assert (await limiter.check("login", rate, subjects[0], 1)).refused
        # The windows really are spread over the three primaries.
        url = on_cluster.settings.redis_url
        assert all(held > 0 for held in keys_per_node(url, "limit:login:*"))
        await limiter.forget_all("login")
        assert keys_per_node(url, "limit:login:*") == [0, 0, 0]
        for subject in subjects:
            assert (await limiter.check("login", rate, subject, 1)).allowed
    finally:
        await close(redis)


def test_cluster_and_sentinel_urls_are_read_as_documented() -> None:
    cluster = parse("redis+cluster://:s3cret@10.0.0.1:7000,10.0.0.2,[::1]:7002/")
    assert cluster.kind == "cluster"
    assert cluster.hosts == (("10.0.0.1", 7000), ("10.0.0.2", 6379), ("::1", 7002))
    assert cluster.password == "s3cret" and not cluster.tls
    assert parse("rediss+cluster://h:1/0").tls
    sentinel = parse("redis+sentinel://a:26379,b/alafia/2?sentinel_password=x")
    assert dataclasses.astuple(sentinel) == (
        "sentinel",
        (("a", 26379), ("b", 26379)),
        None,
        None,
        False,
        "alafia",
        2,
        "x",
    )
    assert parse("redis://127.0.0.1:6379/3").kind == "server"
    for wrong, why in (
        ("redis+cluster://h:1/2", "only database 0"),
        ("redis+cluster:///", "at least one host"),
        ("redis+sentinel://h:1/", "service_name"),
        ("redis+sentinel://h:1/alafia/x", "service_name"),
        ("redis+cluster://h:port/", "host:port"),
    ):
        with pytest.raises(ValueError, match=why):
            parse(wrong)


async def test_the_callers_cache_is_forgotten_on_every_node(on_cluster: Topology) -> None:
    """A phone's entry and token share its hash slot (the store script reads both); a
    renewal notice moved forgets every phone's entry, on whichever primary it lives."""
    assert on_cluster.settings.redis_url is not None
    redis = connect(on_cluster.settings.redis_url, 8, 2.0)
    try:
        cache = CallerCache(redis)
        phones = [f"+22901970009{n:02d}" for n in range(30)]
        for phone in phones:
            seen = await cache.read(phone)
            assert await cache.keep(phone, seen.token, {"phone": phone}, 1)
        assert all(held > 0 for held in keys_per_node(on_cluster.settings.redis_url, "phone:*"))
        await cache.forget({phones[0]})
        assert (await cache.read(phones[0])).known is None
        assert (await cache.read(phones[1])).known == {"phone": phones[1]}
        await cache.forget({ALL_CALLERS})
        assert keys_per_node(on_cluster.settings.redis_url, "phone:*:caller") == [0, 0, 0]
    finally:
        await close(redis)


def keys_per_node(url: str, pattern: str) -> list[int]:
    counts = []
    for host, port in parse(url).hosts:
        node = SyncRedis(host=host, port=port)
        counts.append(len(node.keys(pattern)))
        node.close()
    return counts
