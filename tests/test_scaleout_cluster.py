"""The service on a Redis Cluster of three real masters: the key API flows end to end.

Events in, features and recommendations out, duplicates recognised, the rate limit
counted, a new model version followed, all with ``SHOPMODE_REDIS_CLUSTER=true`` against
the 3-master cluster of ``tests/cluster.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis.cluster
from fastapi.testclient import TestClient
from live_server import auth, live_settings, room_in_this_minute, save_tiny_model, seed_shop
from redis.cluster import key_slot

from features.store import keys
from models.ranking.registry import CURRENT_KEY
from service.api.app import create_app

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


@pytest.fixture
def cluster(redis_cluster_url: str) -> Iterator[redis.cluster.RedisCluster]:
    client = redis.cluster.RedisCluster.from_url(redis_cluster_url)
    client.flushall()
    seed_shop(client)
    yield client
    client.close()


@pytest.fixture
def serve(
    redis_cluster_url: str, cluster: redis.cluster.RedisCluster, tmp_path: Path
) -> Iterator[Callable[..., TestClient]]:
    opened: list[TestClient] = []

    def start(**overrides: object) -> TestClient:
        settings = live_settings(
            redis_cluster_url, tmp_path / "home", redis_cluster=True, **overrides
        )
        client = TestClient(create_app(settings))
        client.__enter__()
        opened.append(client)
        return client

    yield start
    for client in opened:
        client.__exit__(None, None, None)


def _views(user: str, n: int, prefix: str) -> list[dict[str, object]]:
    now = time.time()
    return [
        {"event_id": f"{prefix}-{i}", "user_id": user, "type": "view"}
        | {"product_id": f"p{1 + 3 * (i % 9)}", "ts": now - i}  # Outerwear: p1, p4, ...
        for i in range(n)
    ]


def test_events_features_and_recommendations_on_the_cluster(
    serve: Callable[..., TestClient], cluster: redis.cluster.RedisCluster
) -> None:
    client = serve()
    ready = client.get("/readyz").json()
    assert ready["checks"]["redis"]["ok"] is True
    assert ready["checks"]["catalog"]["detail"] == "30 products"

    users = [f"shopper-{i}" for i in range(12)]
    for user in users:
        batch = _views(user, 6, user)
        answer = client.post("/v1/events", json=batch, headers=auth("writer"))
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == 6
    resent = client.post("/v1/events", json=_views(users[0], 6, users[0]), headers=auth("writer"))
    assert resent.json()["duplicate"] == 6

    for user in users:
        features = client.get(f"/v1/users/{user}/features", headers=auth("admin")).json()
        assert features["known"] is True
        assert features["features"]["counts"]["24h"]["view"] == 6
        # One shopper's keys share one slot: the Lua fold is atomic on one node.
        assert len({key_slot(k.encode()) for k in keys.user_keys(user)}) == 1
    # ...and the shoppers themselves spread over the masters.
    slots = {key_slot(keys.user_state(u).encode()) for u in users}
    nodes = {cluster.get_node_from_key(keys.user_state(u)).name for u in users}
    assert len(slots) == len(users)
    assert len(nodes) >= 2

    answer = client.post(
        "/v1/recommendations",
        json={"user_id": users[0], "k": 5, "explain": "template"},
        headers=auth("reader"),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["items"]) == 5
    assert "unreachable" not in str(body["note"])
    assert all(item["explanation"]["grounded"] for item in body["items"])
    # The served record lands in the cluster, where attribution finds it.
    assert cluster.exists(keys.served_recommendation(body["recommendation_id"]))
    follow = {
        "event_id": "follow-1",
        "user_id": users[0],
        "type": "click",
        "product_id": body["items"][0]["product_id"],
        "ts": time.time(),
        "recommendation_id": body["recommendation_id"],
    }
    clicked = client.post("/v1/events", json=follow, headers=auth("writer")).json()
    assert clicked["accepted"] == 1
    assert clicked["attributed"] == 1
    assert "shopmode_unhandled_errors_total 0.0" in client.get("/metrics").text


def test_rate_limit_counts_on_the_cluster(serve: Callable[..., TestClient]) -> None:
    client = serve(rate_limit_per_minute=3)
    room_in_this_minute(seconds=10.0)
    codes = [client.get("/v1/products/p1", headers=auth("reader")).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert client.get("/v1/products/p1", headers=auth("writer")).status_code == 200


def test_model_reload_follows_the_current_version_on_the_cluster(
    serve: Callable[..., TestClient], cluster: redis.cluster.RedisCluster, tmp_path: Path
) -> None:
    client = serve()
    models = tmp_path / "home" / "models"
    save_tiny_model(models, "c1")
    cluster.set(CURRENT_KEY, "c1")
    deadline = time.monotonic() + 10
    while client.get("/readyz").json()["model_version"] != "c1":
        assert time.monotonic() < deadline, "c1 never loaded from the cluster's current key"
        time.sleep(0.05)
    save_tiny_model(models, "c2")
    cluster.set(CURRENT_KEY, "c2")
    forced = client.post("/v1/admin/models/reload", headers=auth("admin"))
    assert forced.status_code == 200
    assert forced.json()["serving"] == "c2"
    assert client.get("/readyz").json()["model_version"] == "c2"
