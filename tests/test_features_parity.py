"""Training/serving skew is zero by test: what the online store holds in Redis after any
sequence of batches (late events, resent events, odd ids) equals the offline replay."""

from __future__ import annotations

import pandas as pd
import pytest
import redis
import redis.cluster
from features_support import BASE_TS, assert_same_products, assert_same_state, small_catalog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.definitions import RANKING_HALF_LIFE, SLOT_INDEX
from features.events.schema import EventType
from features.offline import OfflineFeatureEngine
from features.store import keys
from features.store.apply import StoreConfig
from features.store.online import OnlineFeatureStore

CATALOG = small_catalog()
USERS = ["ann", "u:{b}*", "Zoë 3"]
PRODUCTS = [*CATALOG.product_ids.tolist(), "not-in-catalog"]
# Offsets that sit on and next to bucket edges as well as anywhere in ten days.
OFFSETS = st.one_of(
    st.integers(0, 10 * 86_400),
    st.sampled_from([0, 599, 600, 3599, 3600, 86_399, 86_400, 7 * 86_400]),
    st.floats(0, 10 * 86_400, allow_nan=False),
)


@st.composite
def event_rows(draw: st.DrawFn) -> dict[str, object]:
    kind = draw(st.sampled_from(list(EventType)))
    row: dict[str, object] = {
        "user_id": draw(st.sampled_from(USERS)),
        "type": kind.value,
        "ts": BASE_TS + draw(OFFSETS),
    }
    if kind in (EventType.IMPRESSION, EventType.VIEW, EventType.CLICK):
        row["product_id"] = draw(st.sampled_from(PRODUCTS))
    elif kind in (EventType.ADD_TO_CART, EventType.PURCHASE):
        row["product_id"] = draw(st.sampled_from(PRODUCTS))
        row["price"] = draw(st.one_of(st.none(), st.floats(0, 500, allow_nan=False)))
    elif kind == EventType.FOLLOW_BRAND:
        row["brand"] = draw(st.sampled_from(["Nord", "Sol", "new:brand{x}"]))
    elif kind == EventType.LIKE_CATEGORY:
        row["category"] = draw(st.sampled_from(["Caps", "Bags:Totes", "Garden"]))
    else:
        row["query"] = draw(st.text(max_size=20))
    return row


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[list[dict[str, object]]], float]:
    rows = draw(st.lists(event_rows(), min_size=1, max_size=40))
    for i, row in enumerate(rows):
        row["event_id"] = f"e{i}"
    resent = draw(st.lists(st.sampled_from(rows), max_size=10))
    sequence = draw(st.permutations(rows + [dict(r) for r in resent]))
    cuts = sorted(draw(st.lists(st.integers(1, len(sequence)), max_size=4, unique=True)))
    batches = [sequence[a:b] for a, b in zip([0, *cuts], [*cuts, len(sequence)], strict=True)]
    newest = max(float(row["ts"]) for row in rows)  # type: ignore[arg-type]
    at = newest + draw(st.sampled_from([0.0, 1.0, 600.0, 3600.0, 86_400.0, 20 * 86_400.0]))
    return [b for b in batches if b], at


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_online_store_equals_offline_replay(
    store_client: redis.Redis | redis.cluster.RedisCluster,
    history: tuple[list[list[dict[str, object]]], float],
) -> None:
    batches, at = history
    store_client.flushall()  # one fixture instance serves every example
    config = StoreConfig(dedup_horizon_seconds=60 * 86_400.0)
    store = OnlineFeatureStore(store_client, CATALOG, config)
    accepted = 0
    for batch in batches:
        accepted += store.apply(pd.DataFrame(batch)).accepted
    log = pd.DataFrame([row for batch in batches for row in batch])
    offline = OfflineFeatureEngine(log, CATALOG)
    assert accepted == log["event_id"].nunique()

    for user_id in USERS:
        assert_same_state(store.user_state(user_id, at), offline.user_state(user_id, at))
    assert_same_products(store.product_features(at=at), offline.product_features(at))

    popular = offline.product_features(at)
    slot = SLOT_INDEX[("popularity", RANKING_HALF_LIFE)]
    for position, product_id in enumerate(CATALOG.product_ids):
        score = store_client.zscore(keys.all_popular(), product_id)
        expected = popular.log_sums[position, slot]
        if score is None:
            assert expected == float("-inf")
        else:
            assert score == pytest.approx(expected, abs=1e-9)
