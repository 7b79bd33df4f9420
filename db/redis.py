"""The Redis connection pool shared by every request of a process.

`REDIS_URL` names one of three kinds of Redis (docs/deploy.md#redis):

- one server: `redis://[:password@]host:port/db` (also `rediss://`, `unix://`);
- a Redis Cluster: `redis+cluster://[:password@]host:port,host:port/` (`rediss+cluster://`
  for TLS). Any reachable nodes will do: the client learns the rest from them. A cluster
  has only database 0;
- a primary watched by Sentinel: `redis+sentinel://[:password@]host:port,host:port/service/db`
  (`rediss+sentinel://`). The password is the primary's; the sentinels are asked without
  one unless `?sentinel_password=...` is given.

On a cluster every multi-key command and script must touch one hash slot: the keys that
go together share a `{tag}` (see `db/sessions.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}  # scheme: TLS
SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}
DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379


class _BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel's pool (it asks the sentinels where the primary is) with the blocking
    pool's wait for a free connection, as for one server."""


@dataclass(frozen=True)
class RedisAddress:
    """A `REDIS_URL` taken apart: which kind, which hosts, and what to log in with."""

    kind: str  # "server", "cluster" or "sentinel"
    hosts: tuple[tuple[str, int], ...]
    password: str | None = None
    username: str | None = None
    tls: bool = False
    service: str = ""  # sentinel: the primary's name
    db: int = 0
    sentinel_password: str | None = None


def parse(url: str) -> RedisAddress:
    """Raises ValueError, saying what is wrong, on a cluster or Sentinel URL it cannot use."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in CLUSTER_SCHEMES and scheme not in SENTINEL_SCHEMES:
        return RedisAddress("server", ())
    credentials, _, netloc = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":") if credentials else ("", "", "")
    sentinel = scheme in SENTINEL_SCHEMES
    default_port = DEFAULT_SENTINEL_PORT if sentinel else DEFAULT_PORT
    hosts = tuple(_host_port(item, default_port) for item in netloc.split(",") if item)
    if not hosts:
        raise ValueError(f"{scheme}:// needs at least one host:port")
    path = [unquote(p) for p in parts.path.split("/") if p]
    query = parse_qs(parts.query)
    common = {
        "hosts": hosts,
        "password": unquote(password) or None,
        "username": unquote(username) or None,
    }
    if not sentinel:
        if path not in ([], ["0"]):
            raise ValueError("a Redis Cluster has only database 0: end the URL with / or /0")
        return RedisAddress("cluster", tls=CLUSTER_SCHEMES[scheme], **common)  # type: ignore[arg-type]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError("a Sentinel URL ends with /service_name or /service_name/db")
    return RedisAddress(
        "sentinel",
        tls=SENTINEL_SCHEMES[scheme],
        service=path[0],
        db=int(path[1]) if len(path) == 2 else 0,
        sentinel_password=next(iter(query.get("sentinel_password", [])), None),
        **common,  # type: ignore[arg-type]
    )


def _host_port(item: str, default_port: int) -> tuple[str, int]:
    host, colon, port = item.rpartition(":") if not item.endswith("]") else (item, "", "")
    if not colon:
        host, port = item, str(default_port)
    if not port.isdigit():
        raise ValueError(f"not a host:port: {item!r}")
    return host.strip("[]"), int(port)


def connect(url: str, max_connections: int, timeout: float) -> Redis:
    """A blocking pool: under a burst, requests wait up to `timeout` for a connection
    instead of failing with "Too many connections" (the default pool's behaviour).

    A cluster client is returned as a `Redis`: it answers the same commands the product
    uses (single keys, MGET and scripts within one slot), and `close` closes either."""
    address = parse(url)
    if address.kind == "cluster":
        cluster = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in address.hosts],
            username=address.username,
            password=address.password,
            ssl=address.tls,
            # Per node: a cluster client keeps a pool to each primary.
            max_connections=max_connections,
            socket_timeout=None,  # as below: the hop has one deadline for all it does
            socket_connect_timeout=timeout,
        )
        return cast(Redis, cluster)
    if address.kind == "sentinel":
        sentinel_kwargs: dict[str, Any] = {"socket_connect_timeout": timeout}
        if address.sentinel_password:
            sentinel_kwargs["password"] = address.sentinel_password
        sentinel = Sentinel(
            list(address.hosts),
            sentinel_kwargs=sentinel_kwargs,
            username=address.username,
            password=address.password,
            ssl=address.tls,
            db=address.db,
            socket_connect_timeout=timeout,
        )
        return sentinel.master_for(
            address.service,
            connection_pool_class=_BlockingSentinelPool,
            max_connections=max_connections,
            timeout=timeout,
        )
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout,
        # No per-command timeout: it costs a timer per command on the hot path. A USSD hop
        # has one deadline for all it does (gateway.ussd.service.HOP_BUDGET).
        socket_connect_timeout=timeout,
    )
    return Redis(connection_pool=pool)


async def close(redis: Redis) -> None:
    """Close the client and every connection it holds, whatever kind `connect` made."""
    await redis.aclose()
    pool = getattr(redis, "connection_pool", None)  # a cluster client has one per node
    if pool is not None:
        await pool.disconnect()
