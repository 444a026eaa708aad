"""Cold start, exploration and freshness as a shopper meets them: through the real app."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import redis
from fastapi.testclient import TestClient
from shop_support import DEMO_KEY, ShopWorld, bearer, build_shop, train_shop

from features.store.runner import SyncRunner
from models.recommend.regions import ingest_regions
from service.api.app import create_app

HEADERS = bearer(DEMO_KEY)


@pytest.fixture(scope="module")
def shop(redis_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> ShopWorld:
    return build_shop(redis_server_url, tmp_path_factory.mktemp("cold") / "world")


@pytest.fixture(scope="module")
def home(shop: ShopWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    train_shop(shop, shop.settings(home).models_dir)
    return home


@pytest.fixture(scope="module")
def client(shop: ShopWorld, home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(shop.settings(home))) as test_client:
        yield test_client


def _recommend(client: TestClient, user: str, k: int = 10) -> list[dict[str, Any]]:
    answer = client.post("/v1/recommendations", json={"user_id": user, "k": k}, headers=HEADERS)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def _send(client: TestClient, user: str, events: list[dict[str, Any]]) -> None:
    batch = [{"user_id": user, "ts": time.time() - 1, **event} for event in events]
    answer = client.post("/v1/events", json=batch, headers=HEADERS)
    assert answer.status_code == 200, answer.text
    assert {r["status"] for r in answer.json()["results"]} == {"accepted"}


def test_a_stranger_gets_the_shops_trends_labelled_as_such(client: TestClient) -> None:
    items = _recommend(client, "stranger-0001")
    assert len(items) == 10
    for item in items:
        assert item["sources"][0] in ("trending", "popular", "new")
        assert item["reasons"][0]["code"] in ("trending", "popular", "new_arrival")
    assert items[0]["reasons"][0]["code"] == "trending"
    assert "trending" in items[0]["explanation"]["text"]


def test_a_newcomer_from_a_known_region_gets_that_regions_trends(
    client: TestClient, shop: ShopWorld
) -> None:
    region = str(shop.users["region"].iloc[0])
    users = pd.DataFrame({"user_id": ["newcomer-0001"], "region": [region]})
    store = redis.Redis.from_url(shop.redis_url)
    ingest_regions(SyncRunner(store), users, None)  # a users file: one new shopper, no events
    store.close()
    items = _recommend(client, "newcomer-0001")
    first = items[0]
    assert first["sources"] == ["region_trending"]
    assert first["reasons"][0] == {
        "code": "region_trending",
        "facts": {"region": region},
        "weight": 1.0,
    }
    assert region in first["explanation"]["text"]
    profile = client.get("/v1/users/newcomer-0001/profile", headers=HEADERS).json()
    assert profile["region"] == region
    assert profile["known"] is False


def test_declared_interests_shape_the_list_before_any_behaviour(
    client: TestClient, shop: ShopWorld
) -> None:
    counts = shop.catalog.frame["brand"].value_counts()
    brand = str(counts.index[0])
    _send(client, "fan-0001", [{"type": "follow_brand", "brand": brand}])
    items = _recommend(client, "fan-0001")
    theirs = [item for item in items if item["brand"] == brand]
    assert len(theirs) >= 3
    assert any(r["code"] == "followed_brand" for item in theirs for r in item["reasons"])
    assert all(item["sources"] != ["region_trending"] for item in items)


def test_a_burst_of_views_moves_that_category_up_on_the_very_next_call(
    client: TestClient, shop: ShopWorld
) -> None:
    user = shop.active_shopper()
    before = _recommend(client, user, k=10)
    shown = {item["category"] for item in before}
    categories = shop.catalog.frame["category"]
    sizes = categories.value_counts()
    target = next(str(c) for c in sizes.index if c not in shown and sizes[c] >= 5)
    products = shop.catalog.frame[categories == target]["product_id"].tolist()[:6]
    _send(client, user, [{"type": "view", "product_id": p} for p in products])
    after = _recommend(client, user, k=10)
    assert sum(item["category"] == target for item in after) >= 2
    assert sum(item["category"] == target for item in before) == 0


def test_carting_changes_the_next_list(client: TestClient, shop: ShopWorld) -> None:
    user = str(shop.events["user_id"].value_counts().index[3])
    before = _recommend(client, user)
    # The last item shown: one already near the top may rise in score and keep its place.
    carted = before[-1]["product_id"]
    _send(client, user, [{"type": "add_to_cart", "product_id": carted}])
    after = _recommend(client, user)
    shown = [i["product_id"] for i in after]
    assert shown != [i["product_id"] for i in before]
    assert carted in shown[: len(before) - 1]


def test_new_products_get_a_bounded_share(shop: ShopWorld, home: Path) -> None:
    user = shop.active_shopper()
    shares = {}
    for weight in (0.0, 0.3):
        with TestClient(create_app(shop.settings(home, exploration_weight=weight))) as app:
            items = _recommend(app, user, k=10)
        explored = [i for i in items if i["sources"] == ["new"]]
        for item in explored:
            assert item["reasons"][0]["code"] == "new_arrival"
            assert "new" in item["explanation"]["text"] or "arrived" in item["explanation"]["text"]
        shares[weight] = len(explored)
    assert shares[0.0] == 0
    assert 1 <= shares[0.3] <= 3
