"""The learned sources (item-kNN, content, fitted-window popularity): a returning shopper's
history still counts, content finds what nobody touched, and the service's Redis path
gives the same scores as replay's in-process fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import redis

from features.catalog import Catalog
from features.events.rules import EventType
from features.state import RecentItem, UserState
from features.store import keys
from features.store.neighbours import (
    NEIGHBOURS_TTL_SECONDS,
    learned_inputs,
    save_neighbours,
    save_popular_window,
)
from features.store.runner import SyncRunner
from models.recommend.fitted import FittedSources
from models.retrieval.candidates import (
    SOURCES,
    CandidateQuota,
    RetrievalSnapshot,
    ShopperSignals,
    candidates_for,
)
from models.retrieval.interactions import InteractionLog, InteractionMatrix
from models.retrieval.learned import (
    KNN_WIDTH,
    POPULAR_DEPTH,
    ShopperHistory,
    fit_learned,
    popular_vector,
    window_popularity,
)
from models.retrieval.learned_timeline import (
    KNN_GRID,
    LearnedTimeline,
    median_session_gap_days,
    popular_checkpoints,
    tune_k,
)
from models.retrieval.quota_tuning import SliceDecision, repeat_share, trial, tune_quota

DAY = 86_400.0
NOW = 1_790_000_000.0
GENRES = ("Space Opera", "Kitchen Drama", "Mountain Thriller", "Garden Comedy")


def _catalog() -> Catalog:
    rows = [
        {
            "product_id": f"m{i:02d}",
            "title": f"{GENRES[i % 4]} part {i}",
            "category": GENRES[i % 4],
            "price": 10.0,
            "attributes": f'{{"genres": "{GENRES[i % 4]}", "year": {1990 + i}}}',
        }
        for i in range(24)
    ]
    return Catalog.from_frame(pd.DataFrame(rows))


def _events(catalog: Catalog) -> pd.DataFrame:
    """Shoppers who each watch a few movies of one genre, spread over two years; m20-m23
    are never touched."""
    rows = []
    rng = np.random.default_rng(5)
    for user in range(60):
        genre = user % 4
        start = NOW - 700 * DAY + float(rng.integers(0, 600)) * DAY
        for k, movie in enumerate(rng.choice(np.arange(genre, 20, 4), size=4, replace=False)):
            ts = start + k * 60.0
            for kind in ("view", "purchase"):
                rows.append(
                    {
                        "event_id": f"e{user}-{k}-{kind}",
                        "user_id": f"u{user}",
                        "type": kind,
                        "product_id": f"m{movie:02d}",
                        "ts": ts + (1.0 if kind == "purchase" else 0.0),
                    }
                )
    return pd.DataFrame(rows).sort_values("ts", kind="stable").reset_index(drop=True)


def _state(at: float, items: list[tuple[str, float]]) -> UserState:
    recent = tuple(RecentItem(p, EventType.VIEW, ts) for p, ts in items)
    return UserState(user_id="me", at=at, recent=recent, last_event_ts=max(t for _, t in items))


def test_a_shopper_back_after_48_idle_days_keeps_their_last_visit_at_full_weight() -> None:
    catalog = _catalog()
    last = NOW - 48 * DAY
    history = ShopperHistory.of(
        _state(NOW, [("m01", last), ("m05", last - 60.0), ("m09", last - 30 * DAY)]), catalog
    )
    assert history.items.tolist() == [1, 5, 9]
    assert history.weight[0] == 1.0  # measured from their own last event, not from now
    assert history.weight[1] > 0.99
    assert history.weight[2] < 0.1  # a month before that visit
    assert round(history.idle_days) == 48
    assert history.category_count[catalog.category_code[1]] == 3


def test_content_finds_products_nobody_has_engaged_with() -> None:
    catalog = _catalog()
    events = _events(catalog)
    assert not events["product_id"].isin(["m20", "m21", "m22", "m23"]).any()
    timeline = LearnedTimeline.build(
        events, catalog, NOW - 400 * DAY, NOW, NOW, window_days=365.0, fits=2
    )
    state = _state(NOW, [("m00", NOW - DAY), ("m04", NOW - DAY)])
    signals = timeline.signals(
        ShopperSignals.cold(len(catalog.categories), len(catalog.brands)), state, catalog
    )
    assert signals.learned is not None
    snapshot = RetrievalSnapshot.build(
        NOW,
        np.ones(len(catalog)),
        np.zeros(len(catalog)),
        catalog.launch_ts,
        catalog.category_code,
        catalog.brand_code,
    )
    found = candidates_for(signals, snapshot, {})
    by_source = {
        name: set(found.products[found.sources[:, j]].tolist()) for j, name in enumerate(SOURCES)
    }
    assert 20 in by_source["content"]  # "Space Opera part 20": never engaged, same genre
    assert 20 not in by_source["item_knn"]
    assert by_source["item_knn"] <= set(range(0, 20, 4))  # neighbours within the genre
    assert by_source["popular_window"]


def test_window_popularity_counts_only_the_window_before_the_fit() -> None:
    catalog = _catalog()
    events = _events(catalog)
    at = NOW - 100 * DAY
    log = InteractionLog.from_events(events, catalog)
    index, score = window_popularity(log, at, 30.0)
    ts = events["ts"].to_numpy()
    window = events[(ts < at) & (ts >= at - 30 * DAY)]
    assert set(catalog.product_ids[index].tolist()) == set(window["product_id"])
    assert (
        score.sum()
        == (window["type"] == "view").sum() * 1.0 + (window["type"] == "purchase").sum() * 3.0
    )
    assert median_session_gap_days(events) > 0
    # On the whole log (what serving stores): the window ending at the last event.
    whole, _ = window_popularity(log, np.inf, 30.0)
    recent = events[ts >= ts.max() - 30 * DAY + 1.0]
    assert set(catalog.product_ids[whole].tolist()) == set(recent["product_id"])


def test_the_interaction_log_slices_as_the_matrix_reads_the_frame() -> None:
    catalog = _catalog()
    events = _events(catalog)
    log = InteractionLog.from_events(events, catalog)
    for at in (NOW - 500 * DAY, NOW - 200 * DAY, np.inf):
        expected = InteractionMatrix.from_events(events, catalog, before=at).matrix
        got = log.matrix_before(at)
        assert got.shape == expected.shape
        assert (got != expected).nnz == 0
    assert log.matrix_before(NOW - 800 * DAY).shape == (0, len(catalog))


def test_the_store_path_scores_as_replay_does(redis_client: redis.Redis) -> None:
    catalog = _catalog()
    events = _events(catalog)
    log = InteractionLog.from_events(events, catalog)
    fit = fit_learned(log, NOW, window_days=365.0)
    store = SyncRunner(redis_client)
    written = store.run(save_neighbours(fit.lists(catalog), family="knn"))
    assert written == 20  # every engaged movie has neighbours, the untouched four none
    store.run(save_popular_window(fit.popular_ids(catalog)))
    assert 0 < redis_client.ttl(keys.product_knn("m00")) <= NEIGHBOURS_TTL_SECONDS
    assert 0 < redis_client.ttl(keys.popular_window()) <= NEIGHBOURS_TTL_SECONDS

    state = _state(NOW + DAY, [("m00", NOW - DAY), ("m04", NOW - 2 * DAY), ("m21", NOW)])
    fitted = FittedSources(catalog)
    history = fitted.history_products(state)
    read = store.run(learned_inputs([], history, 30, KNN_WIDTH, POPULAR_DEPTH))
    cold = ShopperSignals.cold(len(catalog.categories), len(catalog.brands))
    online = fitted.signals(cold, state, read).learned
    timeline = LearnedTimeline(
        fits=(fit,), log=log, content=fitted.content, window_days=365.0, k=100
    )
    offline = timeline.signals(cold, state, catalog).learned
    assert online is not None
    assert offline is not None
    assert online.knn.max() > 0
    np.testing.assert_allclose(online.knn, offline.knn, rtol=1e-6)
    np.testing.assert_allclose(online.content, offline.content, rtol=1e-6)
    np.testing.assert_allclose(online.popular_window, offline.popular_window, rtol=1e-6)


def test_quotas_tuned_on_a_slice_favour_the_source_that_finds_its_purchases() -> None:
    catalog = _catalog()
    events = _events(catalog)
    timeline = LearnedTimeline.build(
        events, catalog, NOW - 400 * DAY, NOW, NOW, window_days=365.0, fits=2
    )
    snapshot = RetrievalSnapshot.build(
        NOW,
        np.ones(len(catalog)),
        np.zeros(len(catalog)),
        catalog.launch_ts,
        catalog.category_code,
        catalog.brand_code,
    )
    cold = ShopperSignals.cold(len(catalog.categories), len(catalog.brands))
    decisions = []
    for genre in range(4):
        # Each shopper goes on to buy the one movie of their genre nobody had touched.
        state = _state(NOW, [(f"m{genre:02d}", NOW - DAY), (f"m{genre + 4:02d}", NOW - DAY)])
        decisions.append(
            SliceDecision(
                signals=timeline.signals(cold, state, catalog),
                snapshot=snapshot,
                neighbours={},
                query_scores=None,
                items=np.array([20 + genre]),
                gains=np.array([3.0]),
            )
        )
    start = CandidateQuota(item_knn=25, content=0, popular_window=0, popular=0, new=0)
    assert trial(decisions, start).purchase_recall == 0.0
    best, tried = tune_quota(
        decisions,
        start=start,
        budget=30,
        tuned=("item_knn", "content", "popular_window"),
        floor={},
    )
    assert best.quota.content > 0
    assert best.purchase_recall == 1.0
    assert best.mean_candidates <= 30
    assert len(tried) > 1


def test_knn_size_is_chosen_on_the_slice_and_refits_every_checkpoint() -> None:
    catalog = _catalog()
    events = _events(catalog)
    history = ShopperHistory.of(_state(NOW, [("m00", NOW - DAY), ("m04", NOW - DAY)]), catalog)
    log = InteractionLog.from_events(events, catalog)
    k, found = tune_k(log, NOW, [(history, np.array([8, 12]))])
    assert set(found) == set(KNN_GRID)
    assert k in KNN_GRID
    assert found[k] == max(found.values()) > 0  # same-genre movies the shopper had not seen
    timeline = LearnedTimeline.build(events, catalog, NOW - 400 * DAY, NOW, NOW, fits=2)
    refitted = timeline.with_k(50)
    assert refitted.k == 50
    assert [f.at for f in refitted.fits] == [f.at for f in timeline.fits]
    assert refitted.content is timeline.content


def test_the_interaction_log_knows_each_shoppers_products_before_a_time() -> None:
    catalog = _catalog()
    events = _events(catalog)
    log = InteractionLog.from_events(events, catalog)
    mine = events[events["user_id"] == "u3"]
    middle = float(mine["ts"].iloc[4])  # after two of u3's four movies (view + purchase each)
    before = catalog.index_of(mine.loc[mine["ts"] < middle, "product_id"].unique())
    assert len(before) == 2
    assert log.products_before("u3", middle).tolist() == sorted(before.tolist())
    assert len(log.products_before("u3", np.inf)) == 4
    assert len(log.products_before("nobody", np.inf)) == 0


def test_quotas_are_tuned_without_seen_products_on_a_log_that_never_repeats() -> None:
    catalog = _catalog()
    # Popularity ranks m00..m23 in order; every shopper has seen the five most popular and
    # goes on to buy the sixth: only a quota tuned with seen products left out finds it.
    popularity = np.arange(len(catalog), 0, -1).astype(np.float64)
    snapshot = RetrievalSnapshot.build(
        NOW,
        popularity,
        np.zeros(len(catalog)),
        catalog.launch_ts,
        catalog.category_code,
        catalog.brand_code,
    )
    cold = ShopperSignals.cold(len(catalog.categories), len(catalog.brands))
    decision = SliceDecision(
        signals=cold,
        snapshot=snapshot,
        neighbours={},
        query_scores=None,
        items=np.array([5]),
        gains=np.array([3.0]),
        seen=np.arange(5),
    )
    start = CandidateQuota(trending=0, new=0, popular=0)
    kept, _ = tune_quota([decision], start=start, budget=5, step=5, tuned=("popular",), floor={})
    assert repeat_share([decision]) == 0.0
    assert kept.seen_excluded
    assert kept.purchase_recall == 1.0
    assert kept.mean_candidates == 5
    blind, _ = tune_quota(
        [decision], start=start, budget=5, step=5, tuned=("popular",), floor={}, exclude_seen=False
    )
    assert blind.purchase_recall == 0.0
    # A log whose shoppers come back to what they saw keeps seen products in the tuning.
    again = SliceDecision(**{**vars(decision), "items": np.array([0])})
    assert repeat_share([again]) == 1.0
    back, _ = tune_quota([again], start=start, budget=5, step=5, tuned=("popular",), floor={})
    assert not back.seen_excluded
    assert back.purchase_recall == 1.0


def test_window_popularity_is_refreshed_at_checkpoints_and_never_looks_ahead() -> None:
    catalog = _catalog()
    events = _events(catalog)
    log = InteractionLog.from_events(events, catalog)
    short = popular_checkpoints(NOW - 10 * DAY, NOW)
    assert len(short) in (10, 11)  # daily on a short log, the last at or after its end
    assert np.all(np.diff(short) == DAY)
    assert short[-1] >= NOW > short[-2]
    long = popular_checkpoints(NOW - 7_000 * DAY, NOW)
    assert len(long) <= 129
    assert np.all(np.diff(long) >= DAY)
    assert long[-1] >= NOW - np.diff(long)[0]  # reaches the end of the log
    fitted = LearnedTimeline.at_times(log, catalog, [NOW - 600 * DAY], window_days=90.0)
    timeline = fitted.with_popular_checkpoints([NOW - 300 * DAY, NOW - 100 * DAY])
    cold = ShopperSignals.cold(len(catalog.categories), len(catalog.brands))

    def popular_at(at: float) -> np.ndarray:
        learned = timeline.signals(cold, _state(at, [("m00", at - DAY)]), catalog).learned
        assert learned is not None
        return learned.popular_window

    for at, fit_at in ((NOW, NOW - 100 * DAY), (NOW - 200 * DAY, NOW - 300 * DAY)):
        index, score = window_popularity(log, fit_at, 90.0)
        expected = np.zeros(len(catalog))
        expected[index] = score
        np.testing.assert_allclose(popular_at(at), expected)
    # Before the first checkpoint, the fit's own list.
    np.testing.assert_allclose(
        popular_at(NOW - 400 * DAY),
        popular_vector(*fitted.fits[0].popular, len(catalog)),
    )
