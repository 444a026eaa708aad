"""No training feature looks past its decision: events planted in the future change nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.catalog import Catalog
from features.events.schema import EVENT_FIELDS
from features.ingest import interest_events
from features.offline import OfflineFeatureEngine
from models.ranking.decisions import DecisionPoints, decision_points, split_decisions
from models.ranking.features import RANKING_FEATURES, RankingFeatures
from models.ranking.replay import Checkpoint, CheckpointedSources, Replay
from models.ranking.splits import choose_holdout
from models.ranking.training_set import TrainingSet, build_training_set
from models.retrieval.cooccurrence import CooccurrenceLog
from models.retrieval.learned_timeline import LearnedTimeline
from models.retrieval.text_match import QueryIndex
from shopmode.errors import DataTooSmall


def _load(world: Path) -> tuple[pd.DataFrame, Catalog]:
    return pd.read_parquet(world / "events.parquet"), Catalog.read(world / "catalog.parquet")


def _with_interests(world: Path) -> tuple[pd.DataFrame, Catalog]:
    """The log as ``shopmode train`` reads it: interests declared at sign-up (up to years
    before the first product event) included."""
    events, catalog = _load(world)
    declared = interest_events(pd.read_parquet(world / "users.parquet"))
    return pd.concat([declared, events], ignore_index=True), catalog


DAY = 86_400.0


def _replay(
    events: pd.DataFrame,
    catalog: Catalog,
    learned: LearnedTimeline | None = None,
    **cadence: int,
) -> Replay:
    engine = OfflineFeatureEngine(events, catalog)
    return Replay(
        engine,
        catalog,
        CooccurrenceLog.from_events(engine.events_, catalog),
        QueryIndex(catalog),
        learned=learned,
        **cadence,
    )


def _learned(events: pd.DataFrame, catalog: Catalog, last: float) -> LearnedTimeline:
    """Item-kNN and window popularity fitted a day apart, the last one at ``last``."""
    first = last - 3 * 86_400.0
    return LearnedTimeline.build(
        events, catalog, first, first + 4 * 86_400.0, last, window_days=7.0, fits=4
    )


class _DailyRebuild(CheckpointedSources):
    """What replay did before the timeline: every product's neighbours rebuilt from all
    pairs known before the decision's day, for every day."""

    def __init__(self, log: CooccurrenceLog) -> None:
        self.log = log
        self._current: Checkpoint | None = None

    def as_of(self, ts: float) -> Checkpoint:
        day = float(np.floor(ts / DAY) * DAY)
        if self._current is None or self._current.at != day:
            self._current = Checkpoint(at=day, neighbours=self.log.as_of(day))
        return self._current


class _DailyReplay(Replay):
    def sources(self) -> CheckpointedSources:
        return _DailyRebuild(self.cooccurrence)


def _planted(
    events: pd.DataFrame, catalog: Catalog, users: list[str], ts: list[float]
) -> pd.DataFrame:
    """For each (user, ts): a burst of strong signals on other products right after ts."""
    rng = np.random.default_rng(3)
    rows = []
    for n, (user, at) in enumerate(zip(users, ts, strict=True)):
        for k, kind in enumerate(("view", "add_to_cart", "purchase", "view", "purchase")):
            product = str(catalog.product_ids[rng.integers(len(catalog))])
            rows.append(
                {
                    "event_id": f"planted-{n}-{k}",
                    "user_id": user,
                    "type": kind,
                    "product_id": product,
                    "ts": at + 0.0005 + k * 1e-5,
                    "session_id": f"planted-{n}",
                    "price": float(catalog.price[0]),
                    "quantity": 1 if kind == "purchase" else None,
                }
            )
        rows.append(
            {
                "event_id": f"planted-{n}-like",
                "user_id": user,
                "type": "like_category",
                "ts": at + 0.0009,
                "category": catalog.categories[n % len(catalog.categories)],
            }
        )
    planted = pd.DataFrame(rows).reindex(columns=list(EVENT_FIELDS))
    return pd.concat([events, planted], ignore_index=True)


def _first_decisions(events: pd.DataFrame, catalog: Catalog, n: int) -> DecisionPoints:
    points = decision_points(events, catalog)
    train, _ = split_decisions(points, choose_holdout(events, 7).start_ts)
    return train.subset(np.arange(len(train) - n, len(train)))  # late ones: rich histories


def _same(a: TrainingSet, b: TrainingSet) -> None:
    assert a.X.shape == b.X.shape
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)


def test_events_after_every_decision_change_no_row(small_world: Path) -> None:
    events, catalog = _load(small_world)
    points = _first_decisions(events, catalog, 80)
    rows = RankingFeatures(catalog)
    clean = build_training_set(_replay(events, catalog), points, rows)
    later = float(points.ts.max())
    users = sorted(set(points.user_id.astype(str).tolist()))
    dirty_events = _planted(events, catalog, users, [later] * len(users))
    dirty = build_training_set(_replay(dirty_events, catalog), points, rows)
    assert (clean.y > 0).any()
    _same(clean, dirty)


def test_a_short_log_replays_exactly_as_a_daily_rebuild_with_hourly_snapshots(
    small_world: Path,
) -> None:
    events, catalog = _with_interests(small_world)
    assert events["ts"].max() - events["ts"].min() > 128 * DAY
    points = decision_points(events, catalog)
    points = points.subset(np.linspace(0, len(points) - 1, 150).astype(np.int64))
    replay = _replay(events, catalog)
    assert replay.snapshot_seconds == 3600.0
    checkpoints = replay.sources().neighbours.checkpoints
    np.testing.assert_array_equal(np.diff(checkpoints), DAY)
    engine = replay.engine
    daily = _DailyReplay(engine, catalog, replay.cooccurrence, QueryIndex(catalog))
    rows = RankingFeatures(catalog)
    timeline = build_training_set(replay, points, rows)
    reference = build_training_set(daily, points, rows)
    assert (timeline.X[:, list(timeline.feature_names).index("cooc_score")] > 0).any()
    _same(timeline, reference)
    np.testing.assert_array_equal(timeline.decision, reference.decision)


def test_coarse_cadences_never_look_past_a_decision(small_world: Path) -> None:
    events, catalog = _load(small_world)
    points = _first_decisions(events, catalog, 80)
    rows = RankingFeatures(catalog)
    coarse = {"max_checkpoints": 3, "max_snapshots": 4}
    replay = _replay(events, catalog, **coarse)
    assert replay.snapshot_seconds >= 3 * DAY
    assert len(replay.sources().neighbours.checkpoints) <= 4
    clean = build_training_set(replay, points, rows)
    users = sorted(set(points.user_id.astype(str).tolist()))
    # Planted right after the last decision: inside its snapshot and checkpoint interval.
    later = float(points.ts.max())
    dirty_events = _planted(events, catalog, users, [later] * len(users))
    dirty = build_training_set(_replay(dirty_events, catalog, **coarse), points, rows)
    _same(clean, dirty)
    # ...and the coarse cadence is visible: neighbours or popularity older than daily.
    daily = build_training_set(_replay(events, catalog), points, rows)
    assert not np.array_equal(clean.X, daily.X)


def test_learned_sources_use_the_last_fit_before_each_decision(small_world: Path) -> None:
    events, catalog = _load(small_world)
    points = _first_decisions(events, catalog, 80)
    rows = RankingFeatures(catalog)
    # Fits a day apart, the last one a second after the latest decision: a fit that leaked
    # into a decision's future would read the burst planted right after that decision.
    later = float(points.ts.max())
    users = sorted(set(points.user_id.astype(str).tolist()))
    dirty_events = _planted(events, catalog, users, [later] * len(users))
    clean_timeline = _learned(events, catalog, later + 1.0)
    dirty_timeline = _learned(dirty_events, catalog, later + 1.0)
    clean = build_training_set(_replay(events, catalog, clean_timeline), points, rows)
    dirty = build_training_set(_replay(dirty_events, catalog, dirty_timeline), points, rows)
    knn = list(RANKING_FEATURES).index("knn_score")
    window = list(RANKING_FEATURES).index("log_popularity_window")
    assert (clean.X[:, knn] > 0).any()
    assert (clean.X[:, window] > 0).any()
    _same(clean, dirty)
    # ...while the fit after the burst does see it (the test can fail).
    seen, unseen = dirty_timeline.fit_for(later + 1.0), clean_timeline.fit_for(later + 1.0)
    assert seen is not None
    assert unseen is not None
    assert seen.at == later + 1.0
    assert not np.array_equal(seen.popular[1], unseen.popular[1])


def test_the_decisions_own_session_never_reaches_its_user_state(small_world: Path) -> None:
    events, catalog = _load(small_world)
    points = _first_decisions(events, catalog, 60)
    # One decision per shopper: a burst planted after one decision is history for the next.
    _, first = np.unique(points.user_id.astype(str), return_index=True)
    points = points.subset(np.sort(first))
    users = points.user_id.astype(str).tolist()
    dirty_events = _planted(events, catalog, users, points.ts.tolist())
    clean = _replay(events, catalog).states(points)
    dirty = _replay(dirty_events, catalog).states(points)
    for before, after in zip(clean, dirty, strict=True):
        assert before.to_json() == after.to_json()
    # ...while the planted events are visible a moment later (the test can fail).
    engine = OfflineFeatureEngine(dirty_events, catalog)
    late = engine.user_state(users[0], float(points.ts[0]) + 1.0)
    assert late.to_json() != clean[0].to_json()


def test_a_log_too_short_to_split_is_a_clear_error(small_world: Path) -> None:
    events, _ = _load(small_world)
    short = events[events["ts"] < events["ts"].min() + 5 * 86_400]
    with pytest.raises(DataTooSmall, match="spans") as caught:
        choose_holdout(short, test_days=7)
    assert caught.value.field == "test_days"
    assert "drop --test-days" in caught.value.message
