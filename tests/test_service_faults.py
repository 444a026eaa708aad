"""Degradation with a real Redis that dies (SIGKILL), hangs (SIGSTOP) and comes back.

Recommendations keep answering from the popularity snapshot inside the filters, events
answer 503 with Retry-After, /readyz says not ready; all of it recovers by itself."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from catalogs import shop_catalog, store_catalog
from fastapi.testclient import TestClient

from features.catalog import Catalog
from features.events.schema import parse_events
from features.store.online import OnlineFeatureStore
from service.api.app import create_app
from service.runtime.embedded_redis import EmbeddedRedis, free_port
from service.settings import Settings

pytestmark = pytest.mark.fault

Bearer = Callable[[str], dict[str, str]]


def _seed(url: str) -> None:
    client = redis.Redis.from_url(url)
    catalog = shop_catalog()
    store_catalog(client, catalog)
    now = time.time() - 120
    rows = [
        {"event_id": f"s{i}-{j}", "user_id": f"u{j}", "type": "purchase", "product_id": f"p{i}"}
        | {"ts": now, "price": 10.0 + 5 * i, "quantity": 1}
        for i in range(30)
        for j in range(i % 5)
    ]
    events, rejected = parse_events(rows)
    assert not rejected
    OnlineFeatureStore(client, catalog).apply(events)
    client.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    instance = EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=True)
    instance.start()
    _seed(instance.url)
    yield instance
    if instance.process is not None:
        instance.stop()


def _restart(server: EmbeddedRedis) -> None:
    server.start()


def _wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


@pytest.fixture
def client(
    server: EmbeddedRedis, service_settings: Callable[..., Settings]
) -> Iterator[TestClient]:
    settings = service_settings(REDIS_URL=server.url, redis_socket_timeout=0.2)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


ASK = {
    "user_id": "u1",
    "k": 5,
    "context": {"category": "Outerwear", "max_price": 100},
    "explain": "template",
}
EVENT = {"event_id": "f1", "user_id": "u1", "type": "view", "product_id": "p1"}


def _assert_degraded_answer(answer: dict[str, object], catalog: Catalog) -> None:
    assert answer["degraded"] is True
    assert "unreachable" in str(answer["note"])
    items = answer["items"]
    assert isinstance(items, list)
    assert items
    for item in items:
        assert item["category"] == "Outerwear"
        assert item["price"] <= 100
        assert item["explanation"]["source"] == "template"
        assert item["explanation"]["grounded"] is True


def test_killed_redis_degrades_then_recovers(
    client: TestClient, server: EmbeddedRedis, bearer: Bearer
) -> None:
    healthy = client.post("/v1/recommendations", json=ASK, headers=bearer("reader"))
    assert healthy.status_code == 200
    assert "unreachable" not in str(healthy.json()["note"])

    server.kill()
    answer = client.post("/v1/recommendations", json=ASK, headers=bearer("reader"))
    assert answer.status_code == 200
    _assert_degraded_answer(answer.json(), shop_catalog())
    # The most popular qualifying products first (p28 was bought by 3 shoppers, p25 by 0).
    ids = [item["product_id"] for item in answer.json()["items"]]
    assert ids[0] in {"p13", "p28", "p4", "p19"}

    write = client.post("/v1/events", json=EVENT | {"ts": time.time()}, headers=bearer("writer"))
    assert write.status_code == 503
    assert int(write.headers["retry-after"]) >= 1
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"]["ok"] is False
    # Authenticated reads still pass: the rate limit fails open while Redis is down.
    assert client.get("/v1/products/p1", headers=bearer("reader")).status_code == 200
    text = client.get("/metrics").text
    assert 'shopmode_degraded_responses_total{cause="store_unavailable"}' in text
    assert "shopmode_unhandled_errors_total 0.0" in text

    _restart(server)
    _wait_for(lambda: client.get("/readyz").json()["checks"]["redis"]["ok"])
    write = client.post("/v1/events", json=EVENT | {"ts": time.time()}, headers=bearer("writer"))
    assert write.status_code == 200
    assert write.json()["accepted"] == 1
    recovered = client.post("/v1/recommendations", json=ASK, headers=bearer("reader")).json()
    assert "unreachable" not in str(recovered["note"])


def test_hung_redis_times_out_into_a_degraded_answer(
    client: TestClient, server: EmbeddedRedis, bearer: Bearer
) -> None:
    assert server.process is not None
    pid = server.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        answer = client.post("/v1/recommendations", json=ASK, headers=bearer("reader"))
        assert answer.status_code == 200
        _assert_degraded_answer(answer.json(), shop_catalog())
        write = client.post(
            "/v1/events", json=EVENT | {"ts": time.time()}, headers=bearer("writer")
        )
        assert write.status_code == 503
    finally:
        os.kill(pid, signal.SIGCONT)
    _wait_for(lambda: client.get("/readyz").json()["checks"]["redis"]["ok"])
    write = client.post("/v1/events", json=EVENT | {"ts": time.time()}, headers=bearer("writer"))
    assert write.status_code == 200
