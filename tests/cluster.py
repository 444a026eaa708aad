"""A real Redis Cluster for tests: three ``redis-server`` masters on free loopback ports,
slots assigned and nodes joined from Python (no redis-cli), started once per session."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster

from service.runtime.embedded_redis import EmbeddedRedis

SLOTS = 16_384
MASTERS = 3


def _cluster_port() -> int:
    """A free port p with p + 10000 free too (the cluster bus), below 55536."""
    for _ in range(200):
        port = random.randint(20_000, 45_000)
        try:
            for candidate in (port, port + 10_000):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def _wait_until_ok(clients: list[redis.Redis], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        infos = [client.cluster("INFO") for client in clients]
        states = [info.get("cluster_state") if isinstance(info, dict) else info for info in infos]
        known = [
            int(info.get("cluster_known_nodes", 0)) for info in infos if isinstance(info, dict)
        ]
        if all(state == "ok" for state in states) and known == [MASTERS] * MASTERS:
            return
        time.sleep(0.1)
    raise RuntimeError(f"the test cluster did not converge: {infos}")


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of one node of a fresh 3-master Redis Cluster (use ``RedisCluster``)."""
    servers = [
        EmbeddedRedis(
            tmp_path_factory.mktemp(f"cluster{i}"),
            port=_cluster_port(),
            persist=False,
            extra_args=("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
        )
        for i in range(MASTERS)
    ]
    clients: list[redis.Redis] = []
    try:
        for server in servers:
            server.start()
            clients.append(redis.Redis.from_url(server.url, decode_responses=True))
        bounds = [SLOTS * i // MASTERS for i in range(MASTERS + 1)]
        for client, low, high in zip(clients, bounds, bounds[1:], strict=False):
            client.execute_command("CLUSTER ADDSLOTS", *range(low, high))
        for server in servers[1:]:
            clients[0].execute_command("CLUSTER MEET", "127.0.0.1", server.port)
        _wait_until_ok(clients)
        yield servers[0].url
    finally:
        for client in clients:
            client.close()
        for server in servers:
            server.stop()


@pytest.fixture(params=["standalone", pytest.param("cluster", marks=pytest.mark.cluster)])
def store_client(
    request: pytest.FixtureRequest,
) -> Iterator[redis.Redis | redis.cluster.RedisCluster]:
    """An empty store: the throwaway standalone Redis, then the 3-master cluster."""
    client: redis.Redis | redis.cluster.RedisCluster
    if request.param == "standalone":
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    else:
        client = redis.cluster.RedisCluster.from_url(request.getfixturevalue("redis_cluster_url"))
        client.flushall()
    yield client
    if isinstance(client, redis.cluster.RedisCluster):
        client.disconnect_connection_pools()  # from_url node pools are not closed by close()
    client.close()


def async_twin(
    client: redis.Redis | redis.cluster.RedisCluster,
) -> redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster:
    """An asyncio client for the same standalone server or cluster as ``client``."""
    if isinstance(client, redis.cluster.RedisCluster):
        node = client.get_default_node()
        return redis.asyncio.cluster.RedisCluster(host=node.host, port=node.port)
    kwargs = client.connection_pool.connection_kwargs
    return redis.asyncio.Redis(host=kwargs["host"], port=kwargs["port"], db=kwargs.get("db", 0))
