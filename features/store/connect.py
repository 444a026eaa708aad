"""Connections: a sync or async client on any Redis URL, standalone or Cluster, and the
one-call flows about the server itself (``ping``, ``flush``).

The service's client has short timeouts on purpose: a slow Redis must turn into a
degraded answer quickly, not a hung request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from contextlib import contextmanager

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
import redis.exceptions
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from features.store.calls import Flow, command
from features.store.runner import AsyncClient, SyncClient, SyncRunner


def open_sync(url: str, *, cluster: bool = False) -> SyncClient:
    if cluster:
        return redis.cluster.RedisCluster.from_url(url)
    return redis.Redis.from_url(url)


def close_sync(client: SyncClient) -> None:
    if isinstance(client, redis.cluster.RedisCluster):
        # from_url gives each node a pool its client does not own; close them too.
        client.disconnect_connection_pools()  # type: ignore[no-untyped-call]
    client.close()


@contextmanager
def sync_store(url: str, *, cluster: bool = False) -> Iterator[SyncRunner]:
    """A runner on a fresh sync client, closed on exit (the CLI's one connection)."""
    client = open_sync(url, cluster=cluster)
    try:
        yield SyncRunner(client)
    finally:
        close_sync(client)


def open_async(url: str, *, cluster: bool = False, timeout: float | None = None) -> AsyncClient:
    """An async client; ``timeout`` bounds connecting and every reply (seconds)."""
    if cluster:
        return redis.asyncio.cluster.RedisCluster.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
    return redis.asyncio.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=0,
        # A pooled connection broken by a Redis restart gets one fresh try, so the first
        # request after the restart is not answered degraded; a timeout is never retried (a
        # slow Redis degrades within one timeout). Stated here, not left to redis-py's
        # defaults, which differ between its versions.
        retry=AsyncRetry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
        retry_on_error=[redis.exceptions.ConnectionError],
    )


async def close_async(client: AsyncClient, timeout: float = 5.0) -> None:
    """Close the client; a Redis already gone cannot be closed politely, and need not be."""
    with contextlib.suppress(RedisError, OSError, TimeoutError):
        await asyncio.wait_for(client.aclose(), timeout=timeout)


def ping() -> Flow[bool]:
    (reply,) = yield [command("PING")]
    return bool(reply)


def flush() -> Flow[None]:
    """Empty the database (the embedded demo Redis holds nothing else)."""
    yield [command("FLUSHDB")]
