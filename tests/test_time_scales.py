"""Time scales from the log: derived from its cadence, stored with the model, and the same
for the online store and the offline replay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import redis
import redis.cluster
from features_support import BASE_TS, small_catalog
from hypothesis import HealthCheck, given, settings
from test_features_parity import USERS, histories

from features.catalog import Catalog
from features.definitions import DAY
from features.events.schema import EventType
from features.ingest import interest_events, read_events
from features.offline import OfflineFeatureEngine
from features.state import RecentItem, UserState
from features.store.apply import StoreConfig
from features.store.online import OnlineFeatureStore
from models.evaluation.evaluate import evaluate
from models.ranking.registry import load_version, save_model
from models.ranking.training import EventLog, TrainConfig, prepare, train_ranker
from models.recommend.recommender import Recommender
from models.retrieval.candidates import RetrievalSnapshot, ShopperSignals
from models.retrieval.signals import INTERACTION_WEIGHT, signals_from_state, snapshot_from_products
from models.retrieval.time_scales import TimeScales

HOUR = 3600.0
CATALOG = small_catalog()
# Far from today's constants (1 d recent, 14 d affinity/popularity, 14 d new).
SLOW = TimeScales(
    recent_half_life=3 * HOUR,
    affinity_half_life="1d",
    popularity_half_life="1d",
    new_product_seconds=2 * DAY,
)


def test_scales_follow_the_gaps_between_sessions() -> None:
    rng = np.random.default_rng(0)
    gaps = rng.exponential(2.0 * DAY, size=5_000)
    scales = TimeScales.from_gaps(gaps, sessions=5_001)
    assert scales.recent_half_life == pytest.approx(np.median(gaps))
    assert scales.new_product_seconds == pytest.approx(1.5 * np.quantile(gaps, 0.9))
    assert scales.affinity_half_life == scales.popularity_half_life == "14d"
    assert scales.store_warning() is None
    months = TimeScales.from_gaps(gaps * 100)  # a shop visited every few months
    assert months.recent_half_life == 30 * DAY  # clamped
    assert months.new_product_seconds == 365 * DAY
    assert "median gap" in (months.store_warning() or "")
    minutes = TimeScales.from_gaps(np.full(10, 600.0))
    assert minutes.recent_half_life == HOUR
    assert minutes.affinity_half_life == "1d"
    assert TimeScales.from_gaps(np.zeros(0)) == TimeScales()


def test_a_quiet_month_leaves_the_last_session_at_full_weight() -> None:
    catalog = CATALOG
    last = BASE_TS - 30 * DAY
    recent = (
        RecentItem(str(catalog.product_ids[0]), EventType.PURCHASE, last),
        RecentItem(str(catalog.product_ids[1]), EventType.VIEW, last - 2 * DAY),
    )
    state = UserState(user_id="u", at=BASE_TS, recent=recent, last_event_ts=last)
    scales = TimeScales(recent_half_life=2 * DAY)
    signals = signals_from_state(state, catalog, scales)
    np.testing.assert_allclose(
        signals.recent_weight,
        [INTERACTION_WEIGHT[EventType.PURCHASE], INTERACTION_WEIGHT[EventType.VIEW] * 0.5],
    )


def _same_signals(a: ShopperSignals, b: ShopperSignals) -> None:
    np.testing.assert_array_equal(a.recent, b.recent)
    np.testing.assert_allclose(a.recent_weight, b.recent_weight, rtol=1e-9)
    np.testing.assert_allclose(a.category_affinity, b.category_affinity, rtol=1e-6)
    np.testing.assert_allclose(a.brand_affinity, b.brand_affinity, rtol=1e-6)


def _same_snapshot(a: RetrievalSnapshot, b: RetrievalSnapshot) -> None:
    np.testing.assert_allclose(a.popularity, b.popularity, rtol=1e-6)
    np.testing.assert_array_equal(a.by_popularity, b.by_popularity)
    assert a.new_product_seconds == b.new_product_seconds


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_online_and_offline_agree_at_non_default_scales(
    store_client: redis.Redis | redis.cluster.RedisCluster,
    history: tuple[list[list[dict[str, object]]], float],
) -> None:
    batches, at = history
    store_client.flushall()
    store = OnlineFeatureStore(
        store_client, CATALOG, StoreConfig(dedup_horizon_seconds=60 * 86_400.0)
    )
    for batch in batches:
        store.apply(pd.DataFrame(batch))
    offline = OfflineFeatureEngine(pd.DataFrame([r for b in batches for r in b]), CATALOG)
    for user_id in USERS:
        online_state, offline_state = store.user_state(user_id, at), offline.user_state(user_id, at)
        _same_signals(
            signals_from_state(online_state, CATALOG, SLOW),
            signals_from_state(offline_state, CATALOG, SLOW),
        )
    _same_snapshot(
        snapshot_from_products(store.product_features(at=at), CATALOG, SLOW),
        snapshot_from_products(offline.product_features(at), CATALOG, SLOW),
    )


@pytest.fixture(scope="module")
def world_log(small_world: Path) -> EventLog:
    events = read_events(small_world / "events.parquet")
    declared = interest_events(pd.read_parquet(small_world / "users.parquet"))
    return EventLog(
        events=pd.concat([declared, events], ignore_index=True),
        catalog=Catalog.read(small_world / "catalog.parquet"),
    )


def test_the_model_carries_its_scales_to_the_service_and_to_evaluation(
    world_log: EventLog, tmp_path: Path
) -> None:
    prepared = prepare(world_log)
    derived = prepared.scales
    assert derived.median_gap is not None
    assert derived != TimeScales()
    assert prepared.replay.scales == derived
    trained = train_ranker(prepared, TrainConfig(max_iter=20))
    meta = save_model(tmp_path, trained.estimator, trained.metadata)
    model = load_version(tmp_path, meta.version)
    assert model.scales == derived
    recommender = Recommender(world_log.catalog, model)
    assert recommender.scales == derived
    # Offline and online read the same shopper the same way with the model's scales.
    engine = prepared.engine
    at = prepared.split_ts
    user = str(prepared.test.user_id[0])
    state = engine.user_state(user, at)
    products = engine.product_features(at)
    assert recommender.snapshot(products).new_product_seconds == derived.new_product_seconds
    _same_signals(
        signals_from_state(state, world_log.catalog, model.scales),
        signals_from_state(state, world_log.catalog, derived),
    )
    # Evaluation replays the held-out days with the evaluated model's scales.
    prepared.replay.scales = TimeScales()
    evaluate(prepared, model, max_decisions=30)
    assert prepared.replay.scales == derived
