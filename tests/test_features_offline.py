"""The offline engine: one sweep over many decision points equals asking point by point;
cross features say what the shopper did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from features_support import BASE_TS, assert_same_products, assert_same_state, small_catalog

from features.catalog import Catalog
from features.definitions import (
    AFFINITY_WEIGHTS,
    INTEREST_WEIGHT,
    MEMBER_CAP,
    POPULARITY_WEIGHTS,
    RECENT_CAP,
    RECENT_RANK,
)
from features.events.schema import EventType
from features.offline import OfflineFeatureEngine
from features.vector import (
    FEATURE_GROUPS,
    FEATURE_INDEX,
    FEATURE_NAMES,
    NEVER_HOURS,
    feature_matrix,
)

DAY = 86_400.0


@pytest.fixture(scope="module")
def world_engine(small_world: Path) -> OfflineFeatureEngine:
    catalog = Catalog.read(small_world / "catalog.parquet")
    return OfflineFeatureEngine(pd.read_parquet(small_world / "events.parquet"), catalog)


def test_sweep_equals_point_in_time_replay(world_engine: OfflineFeatureEngine) -> None:
    events = world_engine.events_
    rng = np.random.default_rng(3)
    picked = events.iloc[rng.choice(len(events), size=60, replace=False)]
    points = pd.DataFrame({"user_id": picked["user_id"].to_numpy(), "ts": picked["ts"].to_numpy()})
    seen = set()
    for row, state in world_engine.user_states_at(points, strictly_before=True):
        seen.add(row)
        user, at = points.iloc[row]
        expected = world_engine.user_state(user, np.nextafter(at, -np.inf))
        assert_same_state(state, expected)
    assert seen == set(range(len(points)))


def test_strictly_before_leaves_out_the_decision_event(world_engine: OfflineFeatureEngine) -> None:
    purchase = world_engine.events_[world_engine.events_["type"] == "purchase"].iloc[0]
    points = pd.DataFrame({"user_id": [purchase["user_id"]], "ts": [purchase["ts"]]})
    ((_, before),) = world_engine.user_states_at(points, strictly_before=True)
    ((_, including),) = world_engine.user_states_at(points)
    assert purchase["product_id"] in including.purchased
    assert purchase["product_id"] not in before.purchased


def test_product_sweep_equals_point_in_time(world_engine: OfflineFeatureEngine) -> None:
    ts = world_engine.events_["ts"]
    times = np.linspace(ts.min(), ts.max() + DAY, 5)
    for at, swept in zip(times, world_engine.product_features_at(times), strict=True):
        assert_same_products(swept, world_engine.product_features(at))


def test_feature_columns_are_named_grouped_and_cover_the_matrix() -> None:
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    grouped = [name for names in FEATURE_GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(FEATURE_NAMES)
    for group in ("category_affinity", "brand_affinity", "price_fit", "recency", "trending"):
        assert group in FEATURE_GROUPS


def test_cross_features_reflect_what_the_shopper_did() -> None:
    catalog = small_catalog()
    rows = [
        {"event_id": "1", "user_id": "ann", "type": "view", "product_id": "p1", "ts": BASE_TS},
        {"event_id": "2", "user_id": "ann", "type": "purchase", "product_id": "p:2",
         "ts": BASE_TS + 60, "price": 90.0},
        {"event_id": "3", "user_id": "ann", "type": "follow_brand", "brand": "Vent*",
         "ts": BASE_TS},
        {"event_id": "4", "user_id": "bob", "type": "purchase", "product_id": "p*4",
         "ts": BASE_TS},
    ]  # fmt: skip
    engine = OfflineFeatureEngine(pd.DataFrame(rows), catalog)
    at = BASE_TS + 3600
    state = engine.user_state("ann", at)
    positions = catalog.index_of(["p1", "p:2", "p{3}", "p*4", "p 5"])
    matrix = feature_matrix(state, positions, engine.product_features(at), catalog, at)
    column = {name: matrix[:, FEATURE_INDEX[name]] for name in FEATURE_NAMES}
    assert matrix.shape == (5, len(FEATURE_NAMES))
    assert matrix.dtype == np.float32
    assert column["purchased_before"].tolist() == [0, 1, 0, 0, 0]
    assert column["last_interaction_rank"].tolist() == [1, 4, 0, 0, 0]
    assert column["followed_brand"].tolist() == [0, 0, 0, 0, 1]
    assert column["category_affinity_14d"][0] > 0
    assert column["category_affinity_14d"][2] == 0
    assert column["recent_same_category_share"][:2].tolist() == [1.0, 1.0]
    assert column["log_purchases_14d"][3] > 0  # bob's purchase makes p*4 popular
    assert column["price_z_bought"][1] == pytest.approx((95.0 - 90.0) / 9.0, rel=1e-5)
    assert np.isfinite(matrix).all()


def test_first_seen_is_the_first_event_whatever_the_order() -> None:
    """The first-seen slot's soft minimum: within a few seconds of the first event's time
    (several events in its first seconds add at most log2 of their count)."""
    catalog = small_catalog()
    offsets = [5 * DAY, 0.0, 1.0, 1.0, 30.0, 3 * DAY, 400 * DAY]
    rows = [
        {"event_id": str(i), "user_id": f"u{i % 3}", "type": "view", "product_id": "p1",
         "ts": BASE_TS - 400 * DAY + offset}
        for i, offset in enumerate(offsets)
    ]  # fmt: skip
    rows.append({"event_id": "x", "user_id": "u0", "type": "impression", "product_id": "p:2",
                 "ts": BASE_TS - 2 * DAY})  # fmt: skip
    engine = OfflineFeatureEngine(pd.DataFrame(rows), catalog)
    positions = catalog.index_of(["p1", "p:2", "p{3}"])
    at = BASE_TS
    first = engine.product_features(at).first_seen(positions)
    assert first[0] == pytest.approx(BASE_TS - 400 * DAY, abs=3.0)
    assert first[0] <= BASE_TS - 400 * DAY + 1e-3  # never later than the first event
    assert first[1] == pytest.approx(BASE_TS - 2 * DAY, abs=1e-3)
    assert first[2] == np.inf  # no event yet
    # Before the first event of p:2, it is unknown again (point in time).
    assert engine.product_features(BASE_TS - 3 * DAY).first_seen(positions)[1] == np.inf
    state = engine.user_state("u0", at)
    matrix = feature_matrix(state, positions, engine.product_features(at), catalog, at)
    days = matrix[:, FEATURE_INDEX["log_days_in_log"]]
    assert np.expm1(days) == pytest.approx([400.0, 2.0, 0.0], abs=1e-3)


def test_unknown_shopper_gets_an_empty_state(world_engine: OfflineFeatureEngine) -> None:
    state = world_engine.user_state("nobody", BASE_TS)
    assert not state.known
    assert state.recent == ()
    assert state.counts["7d"]["view"] == 0


def test_feature_matrix_equals_its_row_at_a_time_definition(
    world_engine: OfflineFeatureEngine,
) -> None:
    """The vectorised matrix against each feature computed product by product from the
    state and the product features."""
    catalog = world_engine.catalog
    events = world_engine.events_
    at = float(events["ts"].quantile(0.8))
    products = world_engine.product_features(at)
    busy = events[events["ts"] < at]["user_id"].value_counts().index[:8]
    # The whole-log product columns, straight from the events up to ``at``.
    before = events[(events["ts"] <= at) & events["product_id"].notna()]
    weight = before["type"].map({t.value: w for t, w in POPULARITY_WEIGHTS.items()}).fillna(0.0)
    engaged = before.assign(weight=weight).groupby("product_id")["weight"].sum()
    first_event = before.groupby("product_id")["ts"].min()
    category_of = {
        str(p): catalog.categories[int(c)]
        for p, c in zip(catalog.product_ids, catalog.category_code, strict=True)
    }
    for user in busy:
        state = world_engine.user_state(str(user), at)
        # The shopper's whole history, straight from the events.
        mine = events[(events["user_id"] == user) & (events["ts"] <= at)]
        weights = {t.value: w for t, w in AFFINITY_WEIGHTS.items()}
        weights[EventType.LIKE_CATEGORY.value] = INTEREST_WEIGHT
        liked = mine["type"] == EventType.LIKE_CATEGORY.value
        mine = mine.assign(
            weight=mine["type"].map(weights),
            category=mine["product_id"].map(category_of).where(~liked, mine["category"]),
        )
        mine = mine[mine["weight"].notna() & mine["category"].notna()]
        by_category = mine.groupby("category")["weight"].sum()
        recent = catalog.index_of([item.product_id for item in state.recent])
        positions = np.concatenate([np.arange(0, len(catalog), 7), recent[recent >= 0]])
        matrix = feature_matrix(state, positions, products, catalog, at)
        for row, position in enumerate(positions.tolist()):
            product_id = str(catalog.product_ids[position])
            latest = {item.product_id: item for item in state.recent}.get(product_id)
            category = catalog.categories[int(catalog.category_code[position])]
            code = int(catalog.brand_code[position])
            brand = catalog.brands[code] if code >= 0 else None
            one = np.array([position])
            expected = {
                "interacted_before": float(latest is not None),
                "last_interaction_rank": RECENT_RANK[latest.type] if latest else 0.0,
                "log_hours_since_interaction": np.log1p(
                    min(max(at - latest.ts, 0.0) / 3600.0, NEVER_HOURS) if latest else NEVER_HOURS
                ),
                "purchased_before": float(product_id in state.purchased),
                "category_affinity_1d": state.category_affinity.get("1d", {}).get(category, 0.0),
                "brand_affinity_14d": (
                    state.brand_affinity.get("14d", {}).get(brand, 0.0) if brand else 0.0
                ),
                "liked_category": float(category in state.liked_categories),
                "followed_brand": float(brand in state.followed_brands),
                "log_popularity_14d": np.log1p(products.popularity("14d", one)[0]),
                "log_views_14d": np.log1p(products.decayed("view", "14d", one)[0]),
                "log_purchases_14d": np.log1p(products.decayed("purchase", "14d", one)[0]),
                "log_popularity_1d": np.log1p(products.popularity("1d", one)[0]),
                "trending": products.trending(one)[0],
                "conversion_rate": products.conversion(one)[0],
                "log_popularity_all": np.log1p(engaged.get(product_id, 0.0)),
                "log_category_affinity_all": np.log1p(by_category.get(category, 0.0)),
                "category_share_all": by_category.get(category, 0.0) / by_category.sum(),
                "log_days_in_log": np.log1p(
                    (at - first_event[product_id]) / DAY if product_id in first_event else 0.0
                ),
            }
            got = {name: float(matrix[row, FEATURE_INDEX[name]]) for name in expected}
            assert got == pytest.approx(
                {k: float(np.float32(v)) for k, v in expected.items()}, rel=1e-6, abs=1e-9
            ), (user, product_id)


def test_a_years_long_history_keeps_the_newest_recent_items_at_every_point() -> None:
    """600 products over two years, re-engaged and tied in time: the sweep (which forgets
    what can no longer be among the newest recent items and purchases) equals the
    point-in-time fold of everything."""
    n = 600
    catalog = Catalog.from_frame(
        pd.DataFrame(
            {
                "product_id": [f"m{i}" for i in range(n)],
                "title": [f"Movie {i}" for i in range(n)],
                "category": ["Drama"] * n,
            }
        )
    )
    rng = np.random.default_rng(11)
    size = 3_000
    products = rng.integers(n, size=size)
    ts = BASE_TS - 730 * DAY + np.sort(rng.integers(0, 730, size=size)) * DAY  # many ties
    kinds = rng.choice(["view", "click", "add_to_cart", "purchase"], size=size)
    events = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(size)],
            "user_id": "u1",
            "type": kinds,
            "product_id": [f"m{p}" for p in products],
            "ts": ts,
            "quantity": np.where(kinds == "purchase", 1.0, np.nan),
        }
    )
    engine = OfflineFeatureEngine(events, catalog)
    times = np.unique(ts)[10:] + 1.0  # after every day with events
    points = pd.DataFrame({"user_id": "u1", "ts": times})
    # More distinct purchases than the sweep keeps before it forgets the oldest.
    assert len(set(products[kinds == "purchase"])) > 4 * MEMBER_CAP
    full = full_purchased = 0
    for row, state in engine.user_states_at(points):
        expected = engine.user_state("u1", float(times[row]))
        full += len(expected.recent) == RECENT_CAP
        full_purchased += len(expected.purchased) == MEMBER_CAP
        assert [(r.product_id, r.ts, r.type) for r in state.recent] == [
            (r.product_id, r.ts, r.type) for r in expected.recent
        ]
        assert state.purchased == expected.purchased
    assert full > len(times) // 2
    assert full_purchased > len(times) // 2
