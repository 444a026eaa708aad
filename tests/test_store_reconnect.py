"""A Redis restart leaves the service's pooled connections dead; the next request must get a
fresh one instead of answering degraded (the compose stack met this after a restart of its
Redis container), while a Redis that stays down still fails at once."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
import redis.exceptions

from features.store.calls import Flow, command
from features.store.connect import close_async, open_async
from features.store.runner import AsyncRunner
from service.runtime.embedded_redis import EmbeddedRedis, free_port
from shopmode.errors import StoreUnavailable


def _set_and_read(key: str, value: str) -> Flow[list[bytes | None]]:
    yield [command("SET", key, value)]
    replies = yield [command("GET", key), command("GET", "absent")]
    return list(replies)


async def _busy_pool(runner: AsyncRunner, n: int) -> None:
    """Open n connections at once, so the pool holds several when Redis goes away."""
    await asyncio.gather(*(runner.run(_set_and_read(f"k{i}", "v")) for i in range(n)))


def test_pooled_connections_survive_a_redis_restart(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=True)
    server.start()

    async def scenario() -> list[list[bytes | None]]:
        client = open_async(server.url, timeout=0.5)
        runner = AsyncRunner(client)
        try:
            await _busy_pool(runner, 6)
            server.stop()
            server.start()  # same port, same directory
            # Every pooled connection is now dead; each of these would meet one.
            return list(
                await asyncio.gather(*(runner.run(_set_and_read(f"a{i}", "w")) for i in range(6)))
            )
        finally:
            await close_async(client)

    try:
        answers = asyncio.run(scenario())
    finally:
        server.stop()
    assert answers == [[b"w", None]] * 6


def test_a_redis_that_stays_down_fails_fast(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=False)
    server.start()

    async def scenario() -> None:
        client = open_async(server.url, timeout=0.5)
        runner = AsyncRunner(client)
        try:
            await _busy_pool(runner, 3)
            server.stop()
            with pytest.raises(StoreUnavailable):
                await runner.run(_set_and_read("k", "v"))
        finally:
            await close_async(client)

    asyncio.run(scenario())


def test_the_client_retries_a_broken_connection_once_and_never_a_timeout() -> None:
    """One reconnect for a connection that broke (a restart, an idle link cut); a slow
    Redis is not retried: it must turn into a degraded answer within one timeout."""
    client = open_async("redis://127.0.0.1:1/0", timeout=0.25)
    retry = client.connection_pool.connection_kwargs["retry"]
    assert retry.get_retries() == 1
    errors = set(retry._supported_errors)
    assert redis.exceptions.ConnectionError in errors
    assert not errors & {redis.exceptions.TimeoutError, TimeoutError, socket.timeout}
