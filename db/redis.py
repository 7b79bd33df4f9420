"""The Redis connection pool shared by every request of a process."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis


def connect(url: str, max_connections: int, timeout: float) -> Redis:
    """A blocking pool: under a burst, requests wait up to `timeout` for a connection
    instead of failing with "Too many connections" (the default pool's behaviour)."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout,
        # No per-command timeout: it costs a timer per command on the hot path. A USSD hop
        # has one deadline for all it does (gateway.ussd.service.HOP_BUDGET).
        socket_connect_timeout=timeout,
    )
    return Redis(connection_pool=pool)
