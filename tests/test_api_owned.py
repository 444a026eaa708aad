"""Nothing a shopper already has comes back, unless asked: purchases over the whole history
(not only the user state's last 100) and, with ``exclude_seen``, what they viewed, clicked
or carted; the ingest path and ``POST /v1/events`` keep the store's history set alike."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest
import redis
from catalogs import store_catalog
from fastapi.testclient import TestClient

from features.catalog import Catalog
from features.ingest import ingest_frame
from features.store import keys
from features.store.online import OnlineFeatureStore
from features.store.owned import product_code
from features.store.state_fields import HISTORY_FIELDS, chunked
from service.api.app import create_app
from service.settings import Settings

Bearer = Callable[[str], dict[str, str]]
N = 1_100
BOUGHT = 1_000
RARE = [f"p{i:04d}" for i in range(N - 8, N)]  # the "Rare Finds" category, 8 products


def _catalog() -> Catalog:
    ids = [f"p{i:04d}" for i in range(N)]
    return Catalog.from_frame(
        pd.DataFrame(
            {
                "product_id": ids,
                "title": [f"Item {i}" for i in range(N)],
                "category": [
                    "Rare Finds" if p in RARE else f"Aisle {i % 5}" for i, p in enumerate(ids)
                ],
                "brand": [f"Brand {i % 7}" for i in range(N)],
                "price": [5.0 + i % 50 for i in range(N)],
            }
        )
    )


@pytest.fixture
def client(
    service_settings: Callable[..., Settings], redis_client: redis.Redis
) -> Iterator[TestClient]:
    catalog = _catalog()
    store_catalog(redis_client, catalog)
    now = time.time() - 3_600
    rows: list[dict[str, Any]] = []
    # Every product is popular, the heavy buyer's most of all: they would come back first.
    for i in range(N):
        for j in range(3 if i < BOUGHT else 1):
            rows.append({"user_id": f"fan{j}", "type": "purchase", "product_id": f"p{i:04d}"})
    rows += [
        {"user_id": "heavy", "type": "purchase", "product_id": f"p{i:04d}"} for i in range(BOUGHT)
    ]
    frame = pd.DataFrame(rows)
    frame["ts"] = [now + k * 0.01 for k in range(len(frame))]
    report = ingest_frame(OnlineFeatureStore(redis_client, catalog), frame)
    assert report.rejected == 0
    assert report.accepted == len(rows)
    with TestClient(create_app(service_settings())) as test_client:
        yield test_client


def _ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [item["product_id"] for item in answer.json()["items"]]


def recommend(client: TestClient, bearer: Bearer, user: str, **context: Any) -> list[str]:
    body = {"user_id": user, "k": 100, "explain": "none", "context": context}
    return _ids(client.post("/v1/recommendations", json=body, headers=bearer("reader")))


def test_a_shopper_with_1000_purchases_never_gets_one_back(
    client: TestClient, bearer: Bearer, redis_client: redis.Redis
) -> None:
    bought = {f"p{i:04d}" for i in range(BOUGHT)}
    # The ingest path filled the whole history, past its inline chunks a set of its own,
    # with the shopper's TTL.
    members = redis_client.smembers(keys.user_history("heavy"))
    assert {int(m) for m in members} == {2 * product_code(p) + 1 for p in bought}
    assert 0 < redis_client.ttl(keys.user_history("heavy")) <= 90 * 86_400
    served = recommend(client, bearer, "heavy")
    assert served
    assert not bought & set(served)
    got = client.get(
        "/v1/users/heavy/recommendations",
        params={"k": 100, "explain": "none"},
        headers=bearer("reader"),
    )
    assert not bought & set(_ids(got))
    # ...while asked not to exclude them, the bought (and most popular) ones come first.
    kept = recommend(client, bearer, "heavy", exclude_purchased=False)
    assert len(bought & set(kept[:10])) == 10


def test_exclude_seen_leaves_out_what_was_viewed_or_carted_through_the_api(
    client: TestClient, bearer: Bearer, redis_client: redis.Redis
) -> None:
    now = time.time()
    looked = [
        {"user_id": "looker", "type": kind, "product_id": product, "ts": now + k}
        for k, (kind, product) in enumerate(
            [("view", RARE[0]), ("click", RARE[1]), ("add_to_cart", RARE[2]), ("purchase", RARE[3])]
        )
    ]
    sent = client.post("/v1/events", json=looked, headers=bearer("writer"))
    assert sent.status_code == 200, sent.text
    # The live path keeps the history too: odd members for purchases, even for the rest,
    # inline in the state hash while they fit.
    packed = chunked(redis_client.hgetall(keys.user_state("looker")), HISTORY_FIELDS)
    history = set(struct.unpack(f"<{len(packed) // 4}I", packed))
    assert history == {2 * product_code(p) for p in RARE[:3]} | {2 * product_code(RARE[3]) + 1}
    assert not redis_client.exists(keys.user_history("looker"))
    assert redis_client.ttl(keys.user_state("looker")) > 0
    every = recommend(client, bearer, "looker", category="Rare Finds", exclude_purchased=False)
    assert set(every) == set(RARE)
    default = recommend(client, bearer, "looker", category="Rare Finds")
    assert set(default) == set(RARE) - {RARE[3]}  # exclude_seen is off by default
    unseen = recommend(client, bearer, "looker", category="Rare Finds", exclude_seen=True)
    assert set(unseen) == set(RARE[4:])
    got = client.get(
        "/v1/users/looker/recommendations",
        params={"k": 100, "category": "Rare Finds", "exclude_seen": "true", "explain": "none"},
        headers=bearer("reader"),
    )
    assert set(_ids(got)) == set(RARE[4:])
    asked = client.post(
        "/v1/ask",
        json={"user_id": "looker", "message": "rare finds", "k": 100, "exclude_seen": True},
        headers=bearer("reader"),
    )
    assert not set(_ids(asked)) & set(RARE[:4])


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/v1/recommendations",
            {"user_id": "u", "context": {"exclude_seen": "yes"}},
            "exclude_seen",
        ),
        ("/v1/ask", {"user_id": "u", "message": "hi", "exclude_seen": 1}, "exclude_seen"),
    ],
)
def test_a_bad_exclude_seen_is_a_422_naming_it(
    client: TestClient, bearer: Bearer, path: str, body: dict[str, Any], field: str
) -> None:
    answer = client.post(path, json=body, headers=bearer("reader"))
    assert answer.status_code == 422
    assert field in answer.text
