"""The Recommender for shoppers we know little about, and its exploration slots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.catalog import Catalog
from features.offline import OfflineFeatureEngine
from features.state import UserState
from models.recommend.exploration import DAY, ExplorationPolicy
from models.recommend.recommender import Recommender
from models.recommend.request import RecommendContext


@pytest.fixture(scope="module")
def world(small_world: Path) -> tuple[Catalog, OfflineFeatureEngine, float]:
    catalog = Catalog.read(small_world / "catalog.parquet")
    events = pd.read_parquet(small_world / "events.parquet")
    engine = OfflineFeatureEngine(events, catalog)
    return catalog, engine, float(events["ts"].max())


def test_a_stranger_sees_labelled_shop_trends(
    world: tuple[Catalog, OfflineFeatureEngine, float],
) -> None:
    catalog, engine, at = world
    recommender = Recommender(catalog)
    stranger = UserState(user_id="nobody", at=at)
    found = recommender.recommend(stranger, engine.product_features(at), {}, RecommendContext(k=8))
    assert len(found.items) == 8
    for item in found.items:
        assert item.sources[0] in ("trending", "popular")
        assert item.reasons[0].code == item.sources[0]
        assert item.reasons[0].facts["category"] == catalog.category_of(item.product_id)
    assert found.items[0].sources == ("trending",)


def test_a_stranger_from_a_known_region_sees_that_regions_trends(
    world: tuple[Catalog, OfflineFeatureEngine, float],
) -> None:
    catalog, engine, at = world
    region_list = tuple((str(p), 10.0 - i) for i, p in enumerate(catalog.product_ids[-5:]))
    context = RecommendContext(k=8, region="West", region_trending=region_list)
    found = Recommender(catalog).recommend(
        UserState(user_id="newcomer", at=at), engine.product_features(at), {}, context
    )
    shown = [item.product_id for item in found.items]
    assert shown[:5] == [p for p, _ in region_list]
    assert found.items[0].reasons[0].code == "region_trending"
    assert found.items[0].reasons[0].facts == {"region": "West"}
    assert all(item.reasons[0].code != "region_trending" for item in found.items[5:])


def test_declared_interests_shape_a_list_without_behaviour(
    world: tuple[Catalog, OfflineFeatureEngine, float],
) -> None:
    catalog, engine, at = world
    brand = catalog.brands[int(np.bincount(catalog.brand_code).argmax())]
    fan = UserState(user_id="fan", at=at, followed_brands={brand: at - 60})
    found = Recommender(catalog).recommend(
        fan, engine.product_features(at), {}, RecommendContext(k=10)
    )
    brands = [catalog.brand_of(item.product_id) for item in found.items]
    assert brands.count(brand) >= 3
    assert all(s not in ("region_trending",) for item in found.items for s in item.sources)


def test_filters_hold_for_strangers_too(
    world: tuple[Catalog, OfflineFeatureEngine, float],
) -> None:
    catalog, engine, at = world
    found = Recommender(catalog).recommend(
        UserState(user_id="nobody", at=at),
        engine.product_features(at),
        {},
        RecommendContext(k=10, max_price=40.0),
    )
    assert found.items
    assert all(catalog.price[catalog.position(i.product_id)] <= 40 for i in found.items)


def test_new_products_get_a_bounded_labelled_share(
    world: tuple[Catalog, OfflineFeatureEngine, float],
) -> None:
    catalog, engine, at = world
    launched = catalog.launch_ts
    new_ids = {
        str(p)
        for p, ts in zip(catalog.product_ids, launched, strict=True)
        if at - 30 * DAY <= ts <= at
    }
    assert new_ids  # the small world launches products during its period
    user = str(engine.events_["user_id"].value_counts().idxmax())
    state = engine.user_state(user, at)
    products = engine.product_features(at)
    recommender = Recommender(catalog)
    policy = ExplorationPolicy(weight=0.5, max_age_days=30, min_signals=1e9)
    explored = recommender.recommend(
        state, products, {}, RecommendContext(k=10, exploration=policy)
    )
    plain = recommender.recommend(state, products, {}, RecommendContext(k=10))
    slots = [i for i in explored.items if i.sources == ("new",)]
    earned_new = [i for i in plain.items if i.product_id in new_ids]
    assert len(earned_new) < 5
    assert len(slots) == 5 - len(earned_new)  # earned places count against the share
    assert len([i for i in explored.items if i.product_id in new_ids]) == 5
    for item in slots:
        assert item.product_id in new_ids
        assert item.reasons[0].code == "new_arrival"
        assert 0 <= int(item.reasons[0].facts["days_since_launch"]) <= 30
    assert explored.items[0].product_id == plain.items[0].product_id  # the top stays earned
    again = recommender.recommend(state, products, {}, RecommendContext(k=10, exploration=policy))
    assert [i.product_id for i in again.items] == [i.product_id for i in explored.items]


def test_a_search_in_words_gets_no_exploration_slots(
    world: tuple[Catalog, OfflineFeatureEngine, float],
) -> None:
    catalog, engine, at = world
    user = str(engine.events_["user_id"].value_counts().idxmax())
    policy = ExplorationPolicy(weight=0.5, max_age_days=30, min_signals=1e9)
    found = Recommender(catalog).recommend(
        engine.user_state(user, at),
        engine.product_features(at),
        {},
        RecommendContext(k=10, exploration=policy, query="waterproof"),
    )
    assert found.items
    assert all(item.sources != ("new",) for item in found.items)
