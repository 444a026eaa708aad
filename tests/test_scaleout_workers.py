"""``shopmode serve --workers 2`` as a real process on one Redis.

Keep-alive connections are pinned to one worker each; which worker holds a connection is
read from the kernel (``/proc/net/tcp`` and each worker's open sockets), so the test
knows it reached both. A new current model version reaches every worker, and the rate
limit is one count across workers.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from live_server import (
    auth,
    live_service,
    room_in_this_minute,
    save_tiny_model,
    seed_shop,
    service_env,
    wait_for,
)

from models.ranking.registry import CURRENT_KEY

pytestmark = [pytest.mark.slow]

WORKERS = 2


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            children = (task / "children").read_text().split()
            found += [int(c) for c in children]
            todo += [int(c) for c in children]
    return found


def _socket_owner(pids: list[int]) -> dict[str, int]:
    """socket inode -> pid, for every socket the given processes hold."""
    owners = {}
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    owners[target[8:-1]] = pid
        except OSError:
            continue
    return owners


def _server_side_inode(server_port: int, client_port: int) -> str | None:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.split(":")[1], 16) == server_port and (
                int(remote.split(":")[1], 16) == client_port
            ):
                return inode
    return None


class Connection:
    """One keep-alive HTTP connection, and the worker process that accepted it."""

    def __init__(self, port: int, server_pid: int) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.request("GET", "/healthz")  # connect, and let a worker accept
        client_port = self.http.sock.getsockname()[1]
        inode = _server_side_inode(port, client_port)
        owners = _socket_owner(_descendants(server_pid))
        assert inode is not None
        self.worker = owners[inode]

    def request(
        self, method: str, path: str, body: object = None, who: str = "reader"
    ) -> tuple[int, dict[str, object]]:
        payload = None if body is None else json.dumps(body)
        headers = auth(who) | {"Content-Type": "application/json"}
        self.http.request(method, path, body=payload, headers=headers)
        answer = self.http.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="module")
def pinned(
    redis_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[Connection], Path, str]]:
    redis_url = redis_server_url
    tmp_path = tmp_path_factory.mktemp("workers")
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    seed_shop(client)
    home = tmp_path / "home"
    save_tiny_model(home / "models", "w1")
    client.set(CURRENT_KEY, "w1")
    client.close()
    env = service_env(redis_url, home, rate_limit_per_minute="12")
    with live_service(env, tmp_path / "server.log", workers=WORKERS) as service:
        port = int(service.url.rsplit(":", 1)[1])
        connections: list[Connection] = []
        try:
            # The kernel hands each accept to a worker waiting in accept(); a worker still
            # importing the ML stack takes none yet. Open connections until every worker
            # holds two, dropping surplus ones, for as long as startup may take.
            deadline = time.monotonic() + 90.0
            while (
                len({c.worker for c in connections}) < WORKERS
                or min(Counter(c.worker for c in connections).values()) < 2
            ):
                assert time.monotonic() < deadline, "the connections never reached every worker"
                connection = Connection(port, service.process.pid)
                if sum(c.worker == connection.worker for c in connections) >= 2:
                    connection.close()
                    time.sleep(0.1)
                else:
                    connections.append(connection)
            yield connections, home, redis_url
        finally:
            for connection in connections:
                connection.close()


def test_a_new_model_version_reaches_every_worker(
    pinned: tuple[list[Connection], Path, str],
) -> None:
    connections, home, redis_url = pinned
    for connection in connections:
        wait_for(
            lambda c=connection: c.request("GET", "/readyz")[1]["model_version"] == "w1",
            30,
            f"worker {connection.worker} serving w1",
        )
    save_tiny_model(home / "models", "w2")
    client = redis.Redis.from_url(redis_url)
    client.set(CURRENT_KEY, "w2")
    client.close()
    for connection in connections:
        wait_for(
            lambda c=connection: c.request("GET", "/readyz")[1]["model_version"] == "w2",
            30,
            f"worker {connection.worker} serving w2",
        )
    assert len({c.worker for c in connections}) == WORKERS


def test_the_rate_limit_is_one_count_across_workers(
    pinned: tuple[list[Connection], Path, str],
) -> None:
    connections, _, _ = pinned
    groups = [[c for c in connections if c.worker == w] for w in {c.worker for c in connections}]
    alternating = [c for round_ in zip(*groups, strict=False) for c in round_]
    by_worker: dict[int, Counter[int]] = {}

    def touch() -> None:  # /healthz is not rate limited; it keeps the pinned connections open
        for connection in connections:
            connection.request("GET", "/healthz")

    room_in_this_minute(seconds=15.0, keep_alive=touch)
    for i in range(30):  # alternate workers: 30 requests against a limit of 12 per minute
        connection = alternating[i % len(alternating)]
        status, _ = connection.request("GET", "/v1/products/p1")
        by_worker.setdefault(connection.worker, Counter())[status] += 1
    total = sum(by_worker.values(), Counter())
    assert total == Counter({200: 12, 429: 18})
    assert len(by_worker) == WORKERS
    assert all(counts[429] > 0 for counts in by_worker.values())
