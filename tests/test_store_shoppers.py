"""The shoppers the store holds, found by walking the keyspace: on a standalone Redis and
on every primary of a Cluster, sync and async alike."""

from __future__ import annotations

import asyncio
import struct

import pytest
import redis
import redis.cluster
from cluster import async_twin

from features.store import keys
from features.store.calls import command, scan
from features.store.runner import AsyncRunner, SyncRunner
from features.store.shoppers import shoppers_with_state

Store = redis.Redis | redis.cluster.RedisCluster
# Ids that escape (a separator, a hash tag, a glob star) must come back as they went in.
RECENT = {"u1": 3, "u2": 0, "a:b{c}": 1, "star*": 2, "u9": 5}


def _fill(store: Store) -> None:
    for user_id, n in RECENT.items():
        store.hset(keys.user_state(user_id), "t", struct.pack("<d", 1.0))
        for i in range(n):  # a recent item: r:<product> -> rank digit + float64 time
            store.hset(keys.user_state(user_id), f"r:p{i}", b"1" + struct.pack("<d", i))
    store.set(keys.user_seen("no-state"), b"")  # a shopper's other key alone: not listed
    store.set(keys.model_current(), "v1")


def test_every_shopper_with_a_state_is_found_with_their_recent_count(store_client: Store) -> None:
    _fill(store_client)
    found = SyncRunner(store_client).run(shoppers_with_state(100))

    async def read() -> list[tuple[str, int]]:
        client = async_twin(store_client)
        try:
            return await AsyncRunner(client).run(shoppers_with_state(100))
        finally:
            await client.aclose()

    assert found == sorted(RECENT.items())
    assert asyncio.run(read()) == found
    if isinstance(store_client, redis.cluster.RedisCluster):
        nodes = {store_client.get_node_from_key(keys.user_state(u)).name for u in RECENT}
        assert len(nodes) > 1  # the walk crossed primaries


def test_the_walk_stops_at_its_limit(redis_client: redis.Redis) -> None:
    _fill(redis_client)
    found = SyncRunner(redis_client).run(shoppers_with_state(2))

    async def read() -> list[tuple[str, int]]:
        client = async_twin(redis_client)
        try:
            return await AsyncRunner(client).run(shoppers_with_state(2))
        finally:
            await client.aclose()

    assert len(found) == 2
    assert {u for u, _ in found} <= set(RECENT)
    assert len(asyncio.run(read())) == 2
    assert SyncRunner(redis_client).run(shoppers_with_state(10)) == sorted(RECENT.items())


def test_an_empty_store_has_no_shoppers(redis_client: redis.Redis) -> None:
    assert SyncRunner(redis_client).run(shoppers_with_state(10)) == []


def test_a_scan_is_never_batched(redis_client: redis.Redis) -> None:
    def flow():  # type: ignore[no-untyped-def]
        yield [scan(keys.every_user_state(), 10), command("PING")]

    with pytest.raises(ValueError, match="alone"):
        SyncRunner(redis_client).run(flow())
