"""POST /v1/events: one event or a batch, each answered; applied before the answer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis
from catalogs import store_catalog, three_products
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings

Bearer = Callable[[str], dict[str, str]]


@pytest.fixture
def client(
    service_settings: Callable[..., Settings], redis_client: redis.Redis
) -> Iterator[TestClient]:
    store_catalog(redis_client, three_products())
    with TestClient(create_app(service_settings(max_events_per_batch=50))) as test_client:
        yield test_client


def event(event_id: str, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": event_id,
        "user_id": "u1",
        "type": "view",
        "product_id": "p1",
        "ts": time.time() - 60,
    }
    return base | fields


def test_one_event_is_accepted_then_duplicate(client: TestClient, bearer: Bearer) -> None:
    first = client.post("/v1/events", json=event("e1"), headers=bearer("writer"))
    assert first.status_code == 200
    assert first.json()["results"] == [
        {"index": 0, "status": "accepted", "event_id": "e1", "field": None, "reason": None}
    ]
    again = client.post("/v1/events", json=event("e1"), headers=bearer("writer"))
    assert again.json()["duplicate"] == 1
    assert again.json()["results"][0]["status"] == "duplicate"


def test_batch_answers_each_event(client: TestClient, bearer: Bearer) -> None:
    batch = [
        event("a1"),
        event("a2", ts="not a time"),
        event("a3", type="purchase", product_id="p2", price=120.0, quantity=1),
        event("a1"),
        {"user_id": "u1"},
        42,
    ]
    answer = client.post("/v1/events", json=batch, headers=bearer("writer"))
    assert answer.status_code == 200
    body = answer.json()
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["accepted", "rejected", "accepted", "duplicate", "rejected", "rejected"]
    assert body["results"][1]["field"] == "ts"
    assert body["results"][4]["field"] == "type"
    assert body["results"][5]["field"] == "(row)"
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (2, 1, 3)


def test_accepted_events_are_in_the_features_before_the_answer(
    client: TestClient, bearer: Bearer
) -> None:
    batch = [event(f"v{i}", product_id="p1") for i in range(3)]
    batch.append(event("b1", type="purchase", product_id="p3", price=12.5, quantity=1))
    assert client.post("/v1/events", json=batch, headers=bearer("writer")).json()["accepted"] == 4
    features = client.get("/v1/users/u1/features", headers=bearer("admin"))
    assert features.status_code == 200
    body = features.json()
    assert body["known"] is True
    assert "p3" in body["features"]["purchased"]
    recent = {r["product_id"] for r in body["features"]["recent"]}
    assert {"p1", "p3"} <= recent


def test_all_invalid_is_422_naming_fields(client: TestClient, bearer: Bearer) -> None:
    one = client.post("/v1/events", json=event("x", type="teleport"), headers=bearer("writer"))
    assert one.status_code == 422
    assert one.json()["errors"][0]["field"] == "type"
    many = client.post(
        "/v1/events",
        json=[event("y", ts=float("1e12")), event("z", product_id=None)],
        headers=bearer("writer"),
    )
    assert many.status_code == 422
    fields = [e["field"] for e in many.json()["errors"]]
    assert fields == ["[0].ts", "[1].product_id"]


def test_batch_over_the_limit_is_413_and_nothing_stored(
    client: TestClient, bearer: Bearer, redis_client: redis.Redis
) -> None:
    batch = [event(f"big{i}") for i in range(51)]
    answer = client.post("/v1/events", json=batch, headers=bearer("writer"))
    assert answer.status_code == 413
    assert "50" in answer.json()["detail"]
    features = client.get("/v1/users/u1/features", headers=bearer("admin")).json()
    assert features["known"] is False


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"event_id": "n", "user_id": "u1", "type": "view", "product_id": "p1", "ts": NaN}',
        b'[{"ts": Infinity}]',
        b'{"ts": 1' + b"0" * 400 + b"}",
        b"[" * 5000 + b"]" * 5000,
        b"",
        b'"just a string"',
        b"[]",
    ],
)
def test_bad_bodies_are_4xx_problems(client: TestClient, bearer: Bearer, body: bytes) -> None:
    answer = client.post(
        "/v1/events",
        content=body,
        headers=bearer("writer") | {"Content-Type": "application/json"},
    )
    assert 400 <= answer.status_code < 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["field"] == "body"


def test_events_need_the_write_scope(client: TestClient, bearer: Bearer) -> None:
    assert client.post("/v1/events", json=event("s"), headers=bearer("reader")).status_code == 403
    assert client.post("/v1/events", json=event("s")).status_code == 401
    assert client.get("/v1/users/u1/features", headers=bearer("writer")).status_code == 403


def test_without_a_catalog_events_are_refused_with_the_reason(
    service_settings: Callable[..., Settings], bearer: Bearer
) -> None:
    with TestClient(create_app(service_settings())) as client:
        answer = client.post("/v1/events", json=event("c1"), headers=bearer("writer"))
        assert answer.status_code == 503
        assert "shopmode ingest" in answer.json()["detail"]
        assert int(answer.headers["retry-after"]) >= 1
