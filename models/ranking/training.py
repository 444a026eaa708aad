"""Training end to end: a log in, a registered model out.

    log ─► decision points ─► time split (``models.ranking.splits``: chosen from the log,
        or the last ``test_days`` held out)
        ─► time scales from the log's cadence (stored with the model)
        ─► replay (point-in-time states, product snapshots, co-occurrence checkpoints)
        ─► candidates ─► features + graded labels ─► ShopRanker ─► registry

The model learns only from decisions before the split, so ``shopmode evaluate`` can
judge it on the held-out days. Serving uses the same candidate and feature code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.catalog import Catalog
from features.offline import OfflineFeatureEngine
from models.ranking.decisions import DecisionPoints, decision_points, split_decisions
from models.ranking.features import RANKING_FEATURES, REASON_GROUPS, RankingFeatures
from models.ranking.fingerprint import code_version, fingerprint
from models.ranking.parallel_build import build_in_processes
from models.ranking.ranker import ShopRanker, one_thread
from models.ranking.replay import Replay
from models.ranking.source_tuning import fit_learned_sources
from models.ranking.splits import Split, choose_holdout
from models.ranking.training_set import TrainingSet
from models.retrieval.cooccurrence import CooccurrenceLog
from models.retrieval.learned_timeline import LearnedTimeline
from models.retrieval.text_match import QueryIndex
from models.retrieval.time_scales import TimeScales
from shopmode.errors import DataTooSmall

FloatArray = npt.NDArray[np.float64]
Stage = Callable[[str, int], Callable[[int], None]]
# LambdaMART: NDCG@10 .495 against pointwise .470 on the default world (same rows, same
# held-out sessions: `shopmode evaluate --compare-objectives`).
DEFAULT_OBJECTIVE = "lambdarank"


@dataclass(frozen=True)
class TrainConfig:
    """How to train; ``objective`` is ``pointwise`` or ``lambdarank`` (see ``ShopRanker``)."""

    objective: str = DEFAULT_OBJECTIVE
    test_days: int | None = None  # None: the holdout is chosen from the log
    max_train_decisions: int = 8_000
    negatives: int = 15
    seed: int = 0
    learning_rate: float = 0.15
    max_iter: int = 100
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 40
    jobs: int = 1  # processes building the training set (``parallel_build``); 1: this one

    def ranker(self) -> ShopRanker:
        return ShopRanker(
            objective=self.objective,
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            random_state=self.seed,
        )


@dataclass(frozen=True)
class EventLog:
    """A log to learn from and where it came from (for ``evaluate`` and the oracle)."""

    events: pd.DataFrame
    catalog: Catalog
    data_dir: Path | None = None
    events_source: str | None = None
    catalog_source: str | None = None


@dataclass
class Prepared:
    """The log, replayable: shared by training and evaluation."""

    log: EventLog
    engine: OfflineFeatureEngine
    split: Split
    train: DecisionPoints
    test: DecisionPoints
    replay: Replay
    features: RankingFeatures
    cooccurrence: CooccurrenceLog
    scales: TimeScales = field(default_factory=TimeScales)
    seconds: dict[str, float] = field(default_factory=dict)
    tuned: dict[str, Any] = field(default_factory=dict)

    @property
    def split_ts(self) -> float:
        """The first held-out instant."""
        return self.split.start_ts


def prepare(log: EventLog, test_days: int | None = None) -> Prepared:
    """Replay machinery over ``log`` and its time split (the last ``test_days`` whole days,
    or, with None, a holdout chosen from the log); ``DataTooSmall`` when too small."""
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    engine = OfflineFeatureEngine(log.events, log.catalog)
    # From the engine's validated events: a raw file's times may be text, columns missing.
    split = choose_holdout(engine.events_, test_days)
    seconds["feature_engine"] = time.perf_counter() - start
    start = time.perf_counter()
    points = decision_points(engine.events_, log.catalog)
    train, test = split_decisions(points, split.start_ts)
    cooccurrence = CooccurrenceLog.from_events(engine.events_, log.catalog)
    seconds["decisions_and_cooccurrence"] = time.perf_counter() - start
    start = time.perf_counter()
    # From the training part only: the held-out days must not shape what is learned.
    scales = TimeScales.from_events(engine.events_[engine.events_["ts"] < split.start_ts])
    seconds["time_scales"] = time.perf_counter() - start
    start = time.perf_counter()
    replay = Replay(engine, log.catalog, cooccurrence, QueryIndex(log.catalog), scales=scales)
    tuned = fit_learned_sources(replay, points, train, split)
    seconds["learned_sources"] = time.perf_counter() - start
    return Prepared(
        log=log,
        engine=engine,
        split=split,
        train=train,
        test=test,
        replay=replay,
        features=RankingFeatures(log.catalog),
        cooccurrence=cooccurrence,
        scales=scales,
        seconds=seconds,
        tuned=tuned,
    )


def sample(points: DecisionPoints, limit: int, seed: int) -> DecisionPoints:
    """At most ``limit`` decisions, drawn uniformly, kept in time order."""
    if len(points) <= limit:
        return points
    rng = np.random.default_rng(seed)
    return points.subset(np.sort(rng.choice(len(points), size=limit, replace=False)))


def population_baseline(training: TrainingSet) -> FloatArray:
    """Mean of each feature over the candidate population (sampling weights undone)."""
    weights = training.weight / training.weight.sum()
    return np.asarray(weights @ training.X.astype(np.float64), dtype=np.float64)


@dataclass(frozen=True)
class TrainedModel:
    estimator: ShopRanker
    metadata: dict[str, Any]
    training: TrainingSet


def training_rows(
    prepared: Prepared, config: TrainConfig, progress: Stage | None = None
) -> TrainingSet:
    """The point-in-time rows of (a sample of) the decisions before the split."""
    decisions = sample(prepared.train, config.max_train_decisions, config.seed)
    advance = progress("building training set", len(decisions)) if progress else None
    training = build_in_processes(
        prepared.replay,
        decisions,
        prepared.features,
        negatives=config.negatives,
        seed=config.seed,
        jobs=config.jobs,
        progress=advance,
    )
    check_rows(training)
    return training


def check_rows(training: TrainingSet) -> None:
    """``DataTooSmall`` when too few candidates were engaged with to learn a ranking."""
    if int((training.y > 0).sum()) < 20:
        raise DataTooSmall(
            f"only {int((training.y > 0).sum())} engaged candidates in the training days; "
            "the log is too small to learn a ranking",
            field="events",
        )


def fit_ranker(training: TrainingSet, config: TrainConfig) -> ShopRanker:
    """A ranker with ``config``'s objective fitted on ``training``."""
    # The sampling weights undo negative subsampling for a pointwise fit (an unbiased
    # expected gain); LambdaMART learns the order within each decision, which the
    # subsample keeps, and LightGBM would read row weights as per-decision weights.
    weight = training.weight if config.objective == "pointwise" else None
    # One thread: OpenMP's barriers turn into spin-waits when the cores are shared (a
    # 2-core box running other work fits ~3x faster single-threaded, measured in
    # bench_train); on an idle machine it costs at most the second core.
    with one_thread():
        return config.ranker().fit(
            training.X, training.y, sample_weight=weight, groups=training.decision
        )


def train_ranker(
    prepared: Prepared,
    config: TrainConfig,
    progress: Stage | None = None,
    alongside: Callable[[], object] | None = None,
) -> TrainedModel:
    """Fit the ranker on the decisions before the split; metadata ready for the registry.

    ``alongside`` runs in a thread while the ranker fits (its one thread leaves a core
    idle), once the rows are built; what it raises is raised after the fit."""
    start = time.perf_counter()
    training = training_rows(prepared, config, progress)
    build_seconds = time.perf_counter() - start
    with ThreadPoolExecutor(max_workers=1) as side:
        pending = side.submit(alongside) if alongside is not None else None
        trained = model_from_rows(
            training,
            config,
            log=prepared.log,
            split=prepared.split,
            seconds={**prepared.seconds, "build": build_seconds},
            data_fingerprint=fingerprint(prepared.log.events),
            scales=prepared.replay.scales,
            learned=prepared.replay.learned,
            tuned=prepared.tuned,
            progress=progress,
        )
        if pending is not None:
            pending.result()
    trained.metadata["metrics"]["build_jobs"] = float(config.jobs)
    return trained


def model_from_rows(
    training: TrainingSet,
    config: TrainConfig,
    *,
    log: EventLog,
    split: Split,
    seconds: dict[str, float],
    data_fingerprint: str,
    scales: TimeScales,
    learned: LearnedTimeline | None = None,
    tuned: dict[str, Any] | None = None,
    progress: Stage | None = None,
) -> TrainedModel:
    """Fit on built rows; metadata (sources, timings as ``<stage>_seconds``) for the registry.

    ``log`` names the sources; its ``events`` are not read (``data_fingerprint`` is given);
    ``learned`` and ``tuned``: the learned sources replayed and what their tuning chose.
    """
    fit_step = progress("fitting ranker", 1) if progress else None
    start = time.perf_counter()
    estimator = fit_ranker(training, config)
    fit_seconds = time.perf_counter() - start
    if fit_step:
        fit_step(1)
    recall = training.recall.summary()
    metrics: dict[str, float] = {
        "train_decisions": float(training.recall.decisions),
        "train_rows": float(len(training)),
        "train_positive_rows": float((training.y > 0).sum()),
        "fit_seconds": fit_seconds,
        **{f"train_{k}": v for k, v in recall.items()},
        **{f"{k}_seconds": v for k, v in seconds.items()},
    }
    metadata: dict[str, Any] = {
        "created_at": time.time(),
        "feature_names": list(RANKING_FEATURES),
        "feature_groups": {k: list(v) for k, v in REASON_GROUPS.items()},
        "baseline": population_baseline(training).tolist(),
        "data_fingerprint": data_fingerprint,
        "data_dir": str(log.data_dir) if log.data_dir is not None else None,
        "events_source": log.events_source,
        "catalog_source": log.catalog_source,
        "split_ts": split.start_ts,
        "test_days": split.days,
        "split_chosen": split.chosen,
        "metrics": metrics,
        "params": {
            **estimator.get_params(),
            "negatives": config.negatives,
            "popularity_window_days": learned.window_days if learned else None,
            "knn_k": learned.k if learned else None,
            **(tuned or {}),
        },
        "time_scales": scales.as_metadata(),
        "code_version": code_version(),
    }
    return TrainedModel(estimator=estimator, metadata=metadata, training=training)
