"""The feature store's settings reach ``POST /v1/events``, as they reach ``shopmode ingest``:
one test per setting, through the real app, read back from the throwaway Redis."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis
from catalogs import store_catalog, three_products
from fastapi.testclient import TestClient

from features.store import keys
from service.api.app import create_app
from service.settings import Settings

DAY = 86_400

Bearer = Callable[[str], dict[str, str]]
MakeSettings = Callable[..., Settings]


@contextmanager
def _api(
    make: MakeSettings, redis_client: redis.Redis, **overrides: object
) -> Iterator[TestClient]:
    store_catalog(redis_client, three_products())
    with TestClient(create_app(make(**overrides))) as client:
        yield client


def _send(client: TestClient, bearer: Bearer, *events: dict[str, object]) -> dict[str, int]:
    answer = client.post("/v1/events", json=list(events), headers=bearer("writer"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return {"accepted": body["accepted"], "duplicate": body["duplicate"]}


def _view(event_id: str, ts: float, product_id: str = "p1") -> dict[str, object]:
    return {"event_id": event_id, "user_id": "u1", "type": "view", "product_id": product_id} | {
        "ts": ts
    }


def test_user_ttl_days_sets_a_shoppers_expiry(
    service_settings: MakeSettings, redis_client: redis.Redis, bearer: Bearer
) -> None:
    with _api(service_settings, redis_client, user_ttl_days=2) as client:
        bought = _view("e2", time.time() - 30) | {"type": "purchase"}
        _send(client, bearer, _view("e1", time.time() - 60), bought)
    present = [key for key in keys.user_keys("u1") if redis_client.exists(key)]
    assert present  # the state hash; seen and history only past their inline size
    for key in present:
        assert DAY < redis_client.ttl(key) <= 2 * DAY, key


def test_product_ttl_days_sets_a_products_expiry(
    service_settings: MakeSettings, redis_client: redis.Redis, bearer: Bearer
) -> None:
    with _api(service_settings, redis_client, product_ttl_days=3) as client:
        _send(client, bearer, _view("e1", time.time() - 60))
    assert 2 * DAY < redis_client.ttl(keys.product_stats("p1")) <= 3 * DAY


def test_dedup_horizon_days_bounds_what_a_resent_id_is_matched_against(
    service_settings: MakeSettings, redis_client: redis.Redis, bearer: Bearer
) -> None:
    now = time.time() - 60
    # A 15-minute horizon: an hour-old id is forgotten once a newer event arrives.
    with _api(service_settings, redis_client, dedup_horizon_days=15 / 1440) as client:
        assert _send(client, bearer, _view("old", now - 3600))["accepted"] == 1
        assert _send(client, bearer, _view("new", now, "p2"))["accepted"] == 1
        assert _send(client, bearer, _view("new", now, "p2"))["duplicate"] == 1
        assert _send(client, bearer, _view("old", now - 3600))["accepted"] == 1
    redis_client.flushall()
    # The default horizon (30 days) still knows it.
    with _api(service_settings, redis_client) as client:
        _send(client, bearer, _view("old", now - 3600))
        _send(client, bearer, _view("new", now, "p2"))
        assert _send(client, bearer, _view("old", now - 3600))["duplicate"] == 1


def test_event_stream_maxlen_caps_the_live_log(
    service_settings: MakeSettings, redis_client: redis.Redis, bearer: Bearer
) -> None:
    now = time.time() - 60
    batches = [[_view(f"e{b}-{i}", now + i) for i in range(100)] for b in range(4)]
    with _api(service_settings, redis_client, event_stream_maxlen=10) as client:
        for batch in batches:
            assert _send(client, bearer, *batch)["accepted"] == 100
    # Trimming is approximate (whole stream nodes of 100 entries go at once), never below.
    capped = redis_client.xlen(keys.event_stream())
    assert 10 <= capped <= 200
    redis_client.flushall()
    with _api(service_settings, redis_client) as client:
        for batch in batches:
            _send(client, bearer, *batch)
    assert redis_client.xlen(keys.event_stream()) == 400
